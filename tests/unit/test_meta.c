/*
 * test_meta.c - the data sequence space of a meta connection: reordering,
 * windows, DATA_FIN, acknowledgements and reinjection, driven directly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "meta.h"

static struct mps_meta meta;
static uint8_t pattern[1 << 20];

static void setup(void)
{
	memset(&meta, 0, sizeof(meta));
	cr_assert_eq(mps_meta_seq_init(&meta, 64 * 1024, 64 * 1024), 0);
	meta.idsn_local = 1000;
	meta.idsn_peer = UINT64_MAX - 100;	/* exercise the wrap */
	mps_meta_seq_start(&meta);
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 8));
}

static void teardown(void)
{
	mps_meta_seq_free(&meta);
}

/* Drain what the app may read and compare it against the pattern. */
static size_t drain(size_t off)
{
	uint8_t *p;
	size_t n;

	while ((n = mps_meta_rcv_ready(&meta, &p)) > 0) {
		cr_assert_arr_eq(p, pattern + off, n, "byte mismatch at %zu", off);
		mps_meta_rcv_consume(&meta, n);
		off += n;
	}
	return off;
}

TestSuite(meta_rcv, .init = setup, .fini = teardown);

Test(meta_rcv, out_of_order_segments_reassemble)
{
	uint64_t base = meta.idsn_peer;
	/* 8 segments of 1000 bytes, delivered in a shuffled order */
	int order[] = { 3, 1, 0, 7, 5, 2, 6, 4 };
	size_t got = 0;

	for (int i = 0; i < 8; i++) {
		int k = order[i];

		cr_assert_geq(mps_meta_rcv_data(&meta, base + (uint64_t)k * 1000,
						 pattern + k * 1000, 1000, false), 0);
		got = drain(got);
	}
	cr_assert_eq(got, 8000);
	cr_assert_eq(mps_meta_rcv_ack(&meta), base + 8000);
}

Test(meta_rcv, duplicates_and_overlaps_are_harmless)
{
	uint64_t base = meta.idsn_peer;
	size_t got;

	cr_assert_eq(mps_meta_rcv_data(&meta, base, pattern, 500, false), 500);
	cr_assert_eq(mps_meta_rcv_data(&meta, base, pattern, 500, false), 0);
	/* overlaps the old part, adds 300 new bytes */
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 300, pattern + 300, 500, false), 300);
	got = drain(0);
	cr_assert_eq(got, 800);
	cr_assert_eq(meta.rcv.dup_bytes, 500 + 200);
}

Test(meta_rcv, window_is_enforced_and_advertised)
{
	uint64_t base = meta.idsn_peer;

	cr_assert_eq(mps_meta_rcv_window(&meta), 64 * 1024);
	/* a frame past the right edge is a protocol violation */
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 64 * 1024 - 10, pattern, 20, false),
		     -EPROTO);
	/* fill the window without reading: it shrinks to zero */
	for (size_t off = 0; off < 64 * 1024; off += 4096)
		cr_assert_eq(mps_meta_rcv_data(&meta, base + off, pattern + off, 4096,
					       false), 4096);
	cr_assert_eq(mps_meta_rcv_window(&meta), 0);
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 64 * 1024, pattern, 1, false),
		     -EPROTO);
	/* the app reads 10000 bytes: the window opens by as much */
	mps_meta_rcv_consume(&meta, 10000);
	cr_assert_eq(mps_meta_rcv_window(&meta), 10000);
}

Test(meta_rcv, data_fin_is_acked_after_all_bytes)
{
	uint64_t base = meta.idsn_peer;

	/* FIN arrives first, riding the last segment */
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 100, pattern + 100, 100, true), 100);
	cr_assert(!mps_meta_rcv_done(&meta));
	cr_assert_eq(mps_meta_rcv_ack(&meta), base, "hole before: no ack");
	cr_assert_eq(mps_meta_rcv_data(&meta, base, pattern, 100, false), 100);
	cr_assert_eq(mps_meta_rcv_ack(&meta), base + 201, "FIN takes one DSN");
	cr_assert(!mps_meta_rcv_done(&meta), "not yet delivered to the app");
	cr_assert_eq(drain(0), 200);
	cr_assert(mps_meta_rcv_done(&meta));
	/* a contradicting FIN and data beyond the FIN are refused */
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 150, pattern, 10, true), -EPROTO);
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 195, pattern, 10, false), -EPROTO);
}

Test(meta_rcv, ack_due_thresholds)
{
	uint64_t base = meta.idsn_peer;

	mps_meta_rcv_ack_sent(&meta);
	cr_assert(!mps_meta_rcv_ack_due(&meta));
	cr_assert_eq(mps_meta_rcv_data(&meta, base, pattern, 1000, false), 1000);
	cr_assert(!mps_meta_rcv_ack_due(&meta), "small advance waits for the timer");
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 1000, pattern + 1000, 8192, false),
		     8192);
	cr_assert(mps_meta_rcv_ack_due(&meta), "an eighth of the buffer is due");
	mps_meta_rcv_ack_sent(&meta);
	cr_assert(!mps_meta_rcv_ack_due(&meta));
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 9192, pattern, 0, true), 0);
	cr_assert(mps_meta_rcv_ack_due(&meta), "a FIN is acked at once");
}

Test(meta_rcv, hole_bound_cuts_off_fragmenting_peer)
{
	uint64_t base = meta.idsn_peer;
	long rc = 0;

	/* 1-byte segments with gaps: 4096 holes would be needed */
	for (uint64_t i = 1; i < 20000 && rc >= 0; i += 2)
		rc = mps_meta_rcv_data(&meta, base + i, pattern, 1, false);
	cr_assert_eq(rc, -ENOSPC);
}

TestSuite(meta_snd, .init = setup, .fini = teardown);

static void app_writes(size_t len)
{
	size_t off = (size_t)(meta.snd.end - meta.idsn_local);

	while (len) {
		uint8_t *p;
		size_t n = mps_meta_snd_tail(&meta, &p);

		cr_assert_gt(n, 0);
		if (n > len)
			n = len;
		memcpy(p, pattern + off, n);
		mps_meta_snd_commit(&meta, n);
		off += n;
		len -= n;
	}
}

Test(meta_snd, respects_peer_window_then_ack_opens_it)
{
	uint64_t dsn;
	size_t len, total = 0;
	bool fin, re;

	app_writes(60000);
	/* initial window is 65536, the queue holds 60000: all may go */
	while (mps_meta_snd_next(&meta, 16384, &dsn, &len, &fin, &re))
		total += len;
	cr_assert_eq(total, 60000);
	/* ack 10000 and shrink the window to 1000 beyond it */
	cr_assert_eq(mps_meta_snd_ack(&meta, meta.idsn_local + 10000, 1000), 10000);
	cr_assert_eq(meta.snd.una, meta.idsn_local + 10000);
	cr_assert_eq(mps_meta_snd_space(&meta), 64 * 1024 - 50000);
	app_writes(6000);
	/* the right edge never moves back: still idsn + 65536 */
	cr_assert(mps_meta_snd_next(&meta, 16384, &dsn, &len, &fin, &re));
	cr_assert_eq(dsn, meta.idsn_local + 60000);
	cr_assert_eq(len, 5536, "cut at the window's right edge");
	cr_assert(!mps_meta_snd_next(&meta, 16384, &dsn, &len, &fin, &re));
	cr_assert_eq(mps_meta_snd_ack(&meta, meta.idsn_local + 65000, 5000), 55000);
	cr_assert(mps_meta_snd_next(&meta, 16384, &dsn, &len, &fin, &re));
	cr_assert_eq(dsn, meta.idsn_local + 65536);
	cr_assert_eq(len, 464);
}

Test(meta_snd, ack_beyond_sent_is_refused)
{
	app_writes(100);
	cr_assert_eq(mps_meta_snd_ack(&meta, meta.idsn_local + 50, 1000), -EPROTO);
	cr_assert_eq(meta.snd.una, meta.idsn_local);
}

Test(meta_snd, reinjection_resends_unacked_first)
{
	uint64_t dsn, first;
	size_t len;
	bool fin, re;

	app_writes(30000);
	cr_assert(mps_meta_snd_next(&meta, 10000, &first, &len, &fin, &re));
	cr_assert(mps_meta_snd_next(&meta, 10000, &dsn, &len, &fin, &re));
	/* the peer acked 5000; the subflow that carried [first, first+20000) died */
	cr_assert_eq(mps_meta_snd_ack(&meta, first + 5000, 65536), 5000);
	mps_meta_snd_reinject(&meta, first, first + 20000, false);
	cr_assert(mps_meta_snd_next(&meta, 10000, &dsn, &len, &fin, &re));
	cr_assert(re);
	cr_assert_eq(dsn, first + 5000, "acked part is not resent");
	cr_assert_eq(len, 10000);
	cr_assert(mps_meta_snd_next(&meta, 10000, &dsn, &len, &fin, &re));
	cr_assert(re);
	cr_assert_eq(len, 5000);
	cr_assert(mps_meta_snd_next(&meta, 10000, &dsn, &len, &fin, &re));
	cr_assert(!re, "then new data");
	cr_assert_eq(dsn, first + 20000);
	cr_assert_eq(meta.snd.reinjected_bytes, 15000);
}

Test(meta_snd, fin_rides_last_piece_and_survives_subflow_death)
{
	uint64_t dsn;
	size_t len;
	bool fin, re;

	app_writes(100);
	meta.snd.fin_queued = true;
	cr_assert(mps_meta_snd_next(&meta, 1000, &dsn, &len, &fin, &re));
	cr_assert(fin);
	cr_assert_eq(len, 100);
	cr_assert(!mps_meta_snd_next(&meta, 1000, &dsn, &len, &fin, &re));
	/* its subflow dies: data and FIN go again */
	mps_meta_snd_reinject(&meta, dsn, dsn + 100, true);
	cr_assert(mps_meta_snd_next(&meta, 1000, &dsn, &len, &fin, &re));
	cr_assert(re);
	cr_assert(mps_meta_snd_next(&meta, 1000, &dsn, &len, &fin, &re));
	cr_assert(fin);
	cr_assert_eq(len, 0, "a bare DATA_FIN");
	/* an ack of the FIN that raced the death still counts */
	cr_assert_geq(mps_meta_snd_ack(&meta, meta.idsn_local + 101, 1000), 0);
	cr_assert(mps_meta_snd_done(&meta));
}

Test(meta_snd, fin_ack_after_death_before_resend)
{
	uint64_t dsn;
	size_t len;
	bool fin, re;

	meta.snd.fin_queued = true;
	cr_assert(mps_meta_snd_next(&meta, 1000, &dsn, &len, &fin, &re));
	cr_assert(fin);
	mps_meta_snd_reinject(&meta, dsn, dsn, true);
	cr_assert(!meta.snd.fin_sent);
	/* the ack arrives on another subflow before the FIN is resent */
	cr_assert_eq(mps_meta_snd_ack(&meta, meta.idsn_local + 1, 1000), 0);
	cr_assert(mps_meta_snd_done(&meta));
	cr_assert(!mps_meta_snd_next(&meta, 1000, &dsn, &len, &fin, &re),
		  "nothing left to send once the FIN is acked");
}

Test(meta_snd, ack_into_a_reinjection_keeps_its_rest)
{
	uint64_t dsn, first;
	size_t len;
	bool fin, re;

	app_writes(30000);
	cr_assert(mps_meta_snd_next(&meta, 30000, &first, &len, &fin, &re));
	cr_assert_eq(mps_meta_snd_ack(&meta, first + 10000, 65536), 10000);
	/* the subflow with [first, first + 30000) dies: 20000 bytes owed */
	mps_meta_snd_reinject(&meta, first, first + 30000, false);
	/* before the resend, an ack covers 5000 more of it (they arrived
	 * on the dead subflow after all): the other 15000 are still owed */
	cr_assert_eq(mps_meta_snd_ack(&meta, first + 15000, 65536), 5000);
	cr_assert(mps_meta_snd_next(&meta, 30000, &dsn, &len, &fin, &re));
	cr_assert(re, "the reinjection was lost");
	cr_assert_eq(dsn, first + 15000);
	cr_assert_eq(len, 15000);
}

Test(meta_rcv, data_fin_inside_out_of_order_data_is_refused)
{
	uint64_t base = meta.idsn_peer;

	/* found by tests/fuzz/fuzz_meta: bytes [10, 20) arrive, then a FIN
	 * claiming the stream ends at 15 */
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 10, pattern + 10, 10, false), 10);
	cr_assert_eq(mps_meta_rcv_data(&meta, base, pattern, 15, true), -EPROTO);
	cr_assert(!meta.rcv.fin);
}
