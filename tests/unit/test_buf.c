/* test_buf.c - sequence rings and range sets. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "buf.h"

Test(ring, write_read_across_wrap)
{
	struct mps_ring r;
	uint8_t in[100], out[100];
	uint64_t base = UINT64_MAX - 30;	/* the sequence space wraps too */

	cr_assert_eq(mps_ring_init(&r, 64, base), 0);
	for (int i = 0; i < 100; i++)
		in[i] = (uint8_t)i;
	mps_ring_write(&r, base, in, 50);
	mps_ring_read(&r, base + 10, out, 40);
	cr_assert_arr_eq(out, in + 10, 40);
	mps_ring_release(&r, base + 40);
	/* now [base+40, base+104) fits; bytes 50..99 land across the wrap */
	mps_ring_write(&r, base + 50, in + 50, 50);
	mps_ring_read(&r, base + 40, out, 60);
	cr_assert_arr_eq(out, in + 40, 60);
	mps_ring_free(&r);
}

Test(ring, span_stops_at_wrap)
{
	struct mps_ring r;
	uint8_t *p;

	cr_assert_eq(mps_ring_init(&r, 16, 1000), 0);
	mps_ring_release(&r, 1010);
	cr_assert_eq(mps_ring_span(&r, 1010, 100, &p), 6);
	cr_assert_eq(p, r.data + 10);
	cr_assert_eq(mps_ring_span(&r, 1016, 100, &p), 16);
	cr_assert_eq(p, r.data);
	cr_assert_eq(mps_ring_span(&r, 1010, 3, &p), 3);
	mps_ring_free(&r);
}

Test(ring, release_never_moves_back)
{
	struct mps_ring r;

	cr_assert_eq(mps_ring_init(&r, 16, 500), 0);
	mps_ring_release(&r, 510);
	mps_ring_release(&r, 505);
	cr_assert_eq(r.base, 510);
	mps_ring_free(&r);
}

Test(rangeset, merge_and_advance)
{
	struct mps_rangeset s;

	mps_rangeset_init(&s, 16);
	cr_assert_eq(mps_rangeset_add(&s, 30, 40), 0);
	cr_assert_eq(mps_rangeset_add(&s, 10, 20), 0);
	cr_assert_eq(mps_rangeset_add(&s, 50, 60), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(mps_rangeset_add(&s, 20, 30), 0);	/* touches both */
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.r[0].start, 10);
	cr_assert_eq(s.r[0].end, 40);
	cr_assert_eq(mps_rangeset_add(&s, 35, 55), 0);	/* overlaps both */
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.r[0].end, 60);
	cr_assert_eq(mps_rangeset_bytes(&s), 50);
	cr_assert_eq(mps_rangeset_advance(&s, 5), 5, "a hole before: no advance");
	cr_assert_eq(mps_rangeset_advance(&s, 10), 60);
	cr_assert_eq(s.n, 0);
	mps_rangeset_free(&s);
}

Test(rangeset, bound_refuses_fragmentation)
{
	struct mps_rangeset s;

	mps_rangeset_init(&s, 4);
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(mps_rangeset_add(&s, i * 10, i * 10 + 1), 0);
	cr_assert_eq(mps_rangeset_add(&s, 100, 101), -ENOSPC);
	/* merging into an existing range needs no slot */
	cr_assert_eq(mps_rangeset_add(&s, 1, 5), 0);
	mps_rangeset_free(&s);
}

Test(rangeset, empty_and_reversed_ranges_ignored)
{
	struct mps_rangeset s;

	mps_rangeset_init(&s, 4);
	cr_assert_eq(mps_rangeset_add(&s, 10, 10), 0);
	cr_assert_eq(mps_rangeset_add(&s, 10, 5), 0);
	cr_assert_eq(s.n, 0);
	mps_rangeset_free(&s);
}

Test(rangeset, trim_keeps_a_range_starting_at_seq)
{
	struct mps_rangeset s;

	mps_rangeset_init(&s, 8);
	cr_assert_eq(mps_rangeset_add(&s, 100, 200), 0);
	cr_assert_eq(mps_rangeset_add(&s, 300, 400), 0);
	mps_rangeset_trim(&s, 100);
	cr_assert_eq(s.n, 2, "nothing below 100: nothing goes");
	mps_rangeset_trim(&s, 150);
	cr_assert_eq(s.r[0].start, 150);
	mps_rangeset_trim(&s, 250);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.r[0].start, 300);
	mps_rangeset_free(&s);
}

/* Bytes [from, from + n) of a sequence-keyed pattern, as a stream would. */
static void pat(uint8_t *out, uint64_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)((from + i) * 13 + ((from + i) >> 9));
}

static void ring_expect(const struct mps_ring *r, uint64_t seq, size_t n)
{
	static uint8_t got[1 << 20], want[1 << 20];

	mps_ring_read(r, seq, got, n);
	pat(want, seq, n);
	cr_assert_arr_eq(got, want, n, "ring bytes differ from the stream");
}

Test(ring, grow_across_wrap_keeps_bytes_in_order)
{
	struct mps_ring r;
	uint8_t buf[256];
	uint64_t base = UINT64_MAX - 40;	/* the sequence space wraps too */

	cr_assert_eq(mps_ring_init(&r, 64, base), 0);
	pat(buf, base, 64);
	mps_ring_write(&r, base, buf, 64);
	mps_ring_release(&r, base + 50);
	/* 14 bytes kept, 50 more written across the ring's end */
	pat(buf, base + 64, 50);
	mps_ring_write(&r, base + 64, buf, 50);
	cr_assert_neq(r.off, 0);
	cr_assert_eq(mps_ring_resize(&r, 256, 64, NULL), 0);
	cr_assert_eq(r.cap, 256);
	cr_assert_eq(r.off, 0, "kept bytes start the new buffer");
	cr_assert_eq(r.base, base + 50, "the sequence base does not move");
	ring_expect(&r, base + 50, 64);
	/* and the grown ring takes what the old one could not */
	pat(buf, base + 114, 192);
	mps_ring_write(&r, base + 114, buf, 192);
	ring_expect(&r, base + 50, 256);
	mps_ring_free(&r);
}

Test(ring, shrink_and_free_keep_the_base)
{
	struct mps_ring r;
	uint8_t buf[128];
	uint8_t *p;

	cr_assert_eq(mps_ring_init(&r, 128, 7000), 0);
	pat(buf, 7000, 128);
	mps_ring_write(&r, 7000, buf, 128);
	mps_ring_release(&r, 7100);
	cr_assert_eq(mps_ring_resize(&r, 16, 29, NULL), -EINVAL, "28 bytes kept: too many");
	cr_assert_eq(mps_ring_resize(&r, 32, 28, NULL), 0);
	ring_expect(&r, 7100, 28);
	mps_ring_release(&r, 7128);
	cr_assert_eq(mps_ring_resize(&r, 0, 0, NULL), 0);
	cr_assert_null(r.data);
	cr_assert_eq(r.cap, 0);
	/* an empty ring without memory still follows the sequence */
	mps_ring_release(&r, 9000);
	cr_assert_eq(r.base, 9000);
	cr_assert_eq(mps_ring_resize(&r, 64, 0, NULL), 0);
	cr_assert_eq(mps_ring_span(&r, 9000, 100, &p), 64);
	pat(buf, 9000, 64);
	mps_ring_write(&r, 9000, buf, 64);
	ring_expect(&r, 9000, 64);
	mps_ring_free(&r);
}

Test(ring, outgrown_buffer_is_handed_over_intact)
{
	struct mps_ring r;
	struct mps_ring_mem old;
	uint8_t buf[100], *reader;

	cr_assert_eq(mps_ring_init(&r, 100, 0), 0);
	pat(buf, 0, 100);
	mps_ring_write(&r, 0, buf, 100);
	/* a pending send reads [0, 100) where it was */
	cr_assert_eq(mps_ring_span(&r, 0, 100, &reader), 100);
	cr_assert_eq(mps_ring_resize(&r, 200, 100, &old), 0);
	cr_assert_eq(old.data, reader);
	cr_assert_eq(old.len, 100);
	cr_assert_arr_eq(reader, buf, 100, "the reader's bytes were not kept");
	ring_expect(&r, 0, 100);
	mps_ring_mem_free(&old);
	cr_assert_null(old.data);
	mps_ring_free(&r);
}

Test(ring, large_rings_grow_and_shrink)
{
	struct mps_ring r;
	static uint8_t buf[1 << 20];
	uint64_t seq = 5;

	/* past the size that is mapped rather than taken from the heap */
	cr_assert_eq(mps_ring_init(&r, 256 * 1024, seq), 0);
	pat(buf, seq, 200 * 1024);
	mps_ring_write(&r, seq, buf, 200 * 1024);
	mps_ring_release(&r, seq + 150 * 1024);
	pat(buf, seq + 200 * 1024, 150 * 1024);
	mps_ring_write(&r, seq + 200 * 1024, buf, 150 * 1024);	/* wraps */
	cr_assert_eq(mps_ring_resize(&r, 1 << 20, 200 * 1024, NULL), 0);
	ring_expect(&r, seq + 150 * 1024, 200 * 1024);
	mps_ring_release(&r, seq + 340 * 1024);
	cr_assert_eq(mps_ring_resize(&r, 4096, 10 * 1024, NULL), -EINVAL);
	cr_assert_eq(mps_ring_resize(&r, 16 * 1024, 10 * 1024, NULL), 0);
	ring_expect(&r, seq + 340 * 1024, 10 * 1024);
	mps_ring_free(&r);
}
