/* clock.c - monotonic time with an injection point for tests. */
#include <time.h>
#include "clock.h"

static mps_clock_fn injected;

uint64_t mps_clock_ns(void)
{
	struct timespec ts;

	if (injected)
		return injected();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mps_clock_inject(mps_clock_fn fn)
{
	injected = fn;
}
