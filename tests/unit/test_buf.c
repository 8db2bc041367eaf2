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
