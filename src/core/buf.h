/*
 * buf.h - sequence-indexed byte rings and range sets.
 *
 * Owns: the memory of a meta connection's send queue and receive (reorder)
 * queue.  Both are rings addressed by 64-bit data sequence numbers, so a
 * byte's place is (dsn - base) and nothing is allocated per segment.  A
 * ring's capacity changes only by mps_ring_resize(), which moves the bytes
 * kept to a new buffer (capacity 0: no memory at all, for idle
 * connections).  A range set records which out-of-order pieces of the
 * receive ring are filled.
 */
#ifndef MPS_BUF_H
#define MPS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mps_ring {
	uint8_t *data;
	size_t cap;		/* bytes at data; 0: nothing allocated */
	uint64_t base;		/* sequence number of the oldest byte kept */
	size_t off;		/* index of base in data */
};

/* A ring's buffer detached from it (see mps_ring_resize). */
struct mps_ring_mem {
	uint8_t *data;
	size_t len;
};

int mps_ring_init(struct mps_ring *r, size_t cap, uint64_t base);
void mps_ring_free(struct mps_ring *r);
/*
 * Give the ring a buffer of ncap bytes (0: none), keeping the `keep` bytes
 * from base (keep <= ncap and keep <= cap), which then start at index 0.
 * With old != NULL the previous buffer is not freed but handed over, for a
 * pending operation that still reads it; free it with mps_ring_mem_free.
 * Returns 0 or -ENOMEM (the ring is then unchanged).
 */
int mps_ring_resize(struct mps_ring *r, size_t ncap, size_t keep,
		    struct mps_ring_mem *old);
void mps_ring_mem_free(struct mps_ring_mem *m);
/* Copy len bytes at sequence seq; seq..seq+len must lie in [base, base+cap). */
void mps_ring_write(struct mps_ring *r, uint64_t seq, const void *buf, size_t len);
/* Contiguous span starting at seq, at most maxlen bytes (wrap cuts it). */
size_t mps_ring_span(const struct mps_ring *r, uint64_t seq, size_t maxlen,
		     uint8_t **ptr);
/* Forget everything below seq (seq <= base + cap). */
void mps_ring_release(struct mps_ring *r, uint64_t seq);
/* Copy out len bytes at seq into buf (may cross the wrap). */
void mps_ring_read(const struct mps_ring *r, uint64_t seq, void *buf, size_t len);

/* Sorted, merged set of half-open [start, end) sequence ranges. */
struct mps_range {
	uint64_t start, end;
};

struct mps_rangeset {
	struct mps_range *r;
	unsigned n, cap, max;	/* max: hard bound on ranges (peer-controlled) */
};

void mps_rangeset_init(struct mps_rangeset *s, unsigned max);
void mps_rangeset_free(struct mps_rangeset *s);
/* Insert and merge.  -ENOSPC when it would need more than max ranges,
 * -ENOMEM on allocation failure. */
int mps_rangeset_add(struct mps_rangeset *s, uint64_t start, uint64_t end);
/* If a range starts at or before seq and ends after it, remove every range
 * below its end and return that end; else return seq.  Drops ranges that lie
 * wholly below seq. */
uint64_t mps_rangeset_advance(struct mps_rangeset *s, uint64_t seq);
uint64_t mps_rangeset_bytes(const struct mps_rangeset *s);
/* Forget everything below seq: drop ranges that end at or before it, cut
 * the one that straddles it.  (Not advance: a range starting at seq stays.) */
void mps_rangeset_trim(struct mps_rangeset *s, uint64_t seq);

/* Wrap-safe sequence comparisons. */
static inline bool mps_seq_before(uint64_t a, uint64_t b) { return (int64_t)(a - b) < 0; }
static inline bool mps_seq_after(uint64_t a, uint64_t b) { return (int64_t)(a - b) > 0; }

#endif
