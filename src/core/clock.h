/*
 * clock.h - the one monotonic clock of the engine.
 *
 * Tests may inject a clock so timer-driven logic is deterministic.
 */
#ifndef MPS_CLOCK_H
#define MPS_CLOCK_H
#include <stdint.h>

typedef uint64_t (*mps_clock_fn)(void);
/* Nanoseconds on CLOCK_MONOTONIC, or the injected clock's value. */
uint64_t mps_clock_ns(void);
static inline uint64_t mps_clock_ms(void) { return mps_clock_ns() / 1000000u; }
/* NULL restores the real clock. */
void mps_clock_inject(mps_clock_fn fn);
#endif
