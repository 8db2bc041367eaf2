/* buf.c - sequence-indexed rings and range sets (see buf.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "buf.h"

/*
 * Large ring buffers are mapped, not taken from the heap: unmapping gives
 * the pages back to the kernel at once, while a freed heap block of
 * megabytes stays resident (and glibc, having freed one mapped block,
 * raises its own threshold and serves the next ones from the heap).
 */
#define RING_MMAP_MIN	(128 * 1024)

static uint8_t *ring_mem_alloc(size_t len)
{
	void *p;

	if (len < RING_MMAP_MIN)
		return malloc(len);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void mps_ring_mem_free(struct mps_ring_mem *m)
{
	if (!m->data)
		return;
	if (m->len < RING_MMAP_MIN)
		free(m->data);
	else
		munmap(m->data, m->len);
	m->data = NULL;
	m->len = 0;
}

int mps_ring_init(struct mps_ring *r, size_t cap, uint64_t base)
{
	r->data = NULL;
	r->cap = 0;
	r->base = base;
	r->off = 0;
	return mps_ring_resize(r, cap, 0, NULL);
}

void mps_ring_free(struct mps_ring *r)
{
	struct mps_ring_mem m = { r->data, r->cap };

	mps_ring_mem_free(&m);
	r->data = NULL;
	r->cap = 0;
	r->off = 0;
}

static size_t ring_index(const struct mps_ring *r, uint64_t seq)
{
	return (r->off + (size_t)(seq - r->base)) % r->cap;
}

int mps_ring_resize(struct mps_ring *r, size_t ncap, size_t keep,
		    struct mps_ring_mem *old)
{
	struct mps_ring_mem prev = { r->data, r->cap };
	uint8_t *nd = NULL;

	if (keep > ncap || keep > r->cap)
		return -EINVAL;
	if (ncap) {
		nd = ring_mem_alloc(ncap);
		if (!nd)
			return -ENOMEM;
		if (keep)
			mps_ring_read(r, r->base, nd, keep);
	}
	r->data = nd;
	r->cap = ncap;
	r->off = 0;
	if (old)
		*old = prev;
	else
		mps_ring_mem_free(&prev);
	return 0;
}

void mps_ring_write(struct mps_ring *r, uint64_t seq, const void *buf, size_t len)
{
	size_t idx, first;

	if (!len)	/* a bare DATA_FIN: no byte, maybe no memory either */
		return;
	idx = ring_index(r, seq);
	first = r->cap - idx < len ? r->cap - idx : len;

	memcpy(r->data + idx, buf, first);
	if (len > first)
		memcpy(r->data, (const uint8_t *)buf + first, len - first);
}

void mps_ring_read(const struct mps_ring *r, uint64_t seq, void *buf, size_t len)
{
	size_t idx, first;

	if (!len)
		return;
	idx = ring_index(r, seq);
	first = r->cap - idx < len ? r->cap - idx : len;

	memcpy(buf, r->data + idx, first);
	if (len > first)
		memcpy((uint8_t *)buf + first, r->data, len - first);
}

size_t mps_ring_span(const struct mps_ring *r, uint64_t seq, size_t maxlen,
		     uint8_t **ptr)
{
	size_t idx, n;

	if (!r->cap) {
		*ptr = NULL;
		return 0;
	}
	idx = ring_index(r, seq);
	n = r->cap - idx;
	*ptr = r->data + idx;
	return n < maxlen ? n : maxlen;
}

void mps_ring_release(struct mps_ring *r, uint64_t seq)
{
	if (!mps_seq_after(seq, r->base))
		return;
	/* an empty ring without memory only moves its base */
	r->off = r->cap ? ring_index(r, seq) : 0;
	r->base = seq;
}

void mps_rangeset_init(struct mps_rangeset *s, unsigned max)
{
	s->r = NULL;
	s->n = 0;
	s->cap = 0;
	s->max = max;
}

void mps_rangeset_free(struct mps_rangeset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = s->cap = 0;
}

int mps_rangeset_add(struct mps_rangeset *s, uint64_t start, uint64_t end)
{
	unsigned i, j;

	if (!mps_seq_before(start, end))
		return 0;
	/* first range that ends at or after start: it may merge */
	for (i = 0; i < s->n && mps_seq_before(s->r[i].end, start); i++)
		;
	/* ranges i..j-1 overlap or touch [start, end) */
	for (j = i; j < s->n && !mps_seq_after(s->r[j].start, end); j++) {
		if (mps_seq_before(s->r[j].start, start))
			start = s->r[j].start;
		if (mps_seq_after(s->r[j].end, end))
			end = s->r[j].end;
	}
	if (j > i) {
		s->r[i].start = start;
		s->r[i].end = end;
		memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
		s->n -= j - i - 1;
		return 0;
	}
	if (s->n >= s->max)
		return -ENOSPC;
	if (s->n == s->cap) {
		unsigned ncap = s->cap ? s->cap * 2 : 8;
		struct mps_range *nr = realloc(s->r, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		s->r = nr;
		s->cap = ncap;
	}
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
	s->r[i].start = start;
	s->r[i].end = end;
	s->n++;
	return 0;
}

uint64_t mps_rangeset_advance(struct mps_rangeset *s, uint64_t seq)
{
	unsigned drop = 0;

	while (drop < s->n && !mps_seq_after(s->r[drop].end, seq))
		drop++;
	if (drop < s->n && !mps_seq_after(s->r[drop].start, seq)) {
		seq = s->r[drop].end;
		drop++;
	}
	if (drop) {
		memmove(&s->r[0], &s->r[drop], (s->n - drop) * sizeof(*s->r));
		s->n -= drop;
	}
	return seq;
}

uint64_t mps_rangeset_bytes(const struct mps_rangeset *s)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < s->n; i++)
		total += s->r[i].end - s->r[i].start;
	return total;
}

void mps_rangeset_trim(struct mps_rangeset *s, uint64_t seq)
{
	unsigned drop = 0;

	while (drop < s->n && !mps_seq_after(s->r[drop].end, seq))
		drop++;
	if (drop) {
		memmove(&s->r[0], &s->r[drop], (s->n - drop) * sizeof(*s->r));
		s->n -= drop;
	}
	if (s->n && mps_seq_before(s->r[0].start, seq))
		s->r[0].start = seq;
}
