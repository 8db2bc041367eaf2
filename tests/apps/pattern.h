/*
 * pattern.h - the byte streams of the suite's own test programs
 * (mps-epoll-et, mps-prefork): a xorshift64 sequence per (seed, stream),
 * so a receiver can check every byte without a copy of what was sent.
 */
#ifndef MPS_APPS_PATTERN_H
#define MPS_APPS_PATTERN_H

#include <stddef.h>
#include <stdint.h>

struct pattern {
	uint64_t x;
	uint8_t word[8];
	unsigned used;		/* bytes of word already handed out */
};

static inline void pattern_init(struct pattern *p, unsigned long seed, unsigned stream)
{
	p->x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ (stream + 1) * 0xbf58476d1ce4e5b9ull;
	if (!p->x)
		p->x = 1;
	p->used = 8;
}

static inline uint8_t pattern_byte(struct pattern *p)
{
	if (p->used == 8) {
		p->x ^= p->x << 13;
		p->x ^= p->x >> 7;
		p->x ^= p->x << 17;
		for (unsigned i = 0; i < 8; i++)
			p->word[i] = (uint8_t)(p->x >> (8 * i));
		p->used = 0;
	}
	return p->word[p->used++];
}

static inline void pattern_fill(struct pattern *p, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern_byte(p);
}

/* Compare n received bytes with the stream; the offset of the first
 * difference, or n when they all match. */
static inline size_t pattern_check(struct pattern *p, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern_byte(p))
			return i;
	return n;
}

#endif
