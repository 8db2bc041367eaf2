/*
 * test_meta.c - the data sequence space of a meta connection: reordering,
 * windows, DATA_FIN, acknowledgements and reinjection, driven directly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "engine_int.h"
#include "meta.h"

static struct mps_meta meta;
static uint8_t pattern[8 << 20];	/* stream bytes, by offset */

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

/* ---- buffer autotuning: rings follow the data, up to sndbuf/rcvbuf ---- */

#define TUNE_MAX	(1u << 20)

static void setup_tune(void)
{
	memset(&meta, 0, sizeof(meta));
	cr_assert_eq(mps_meta_seq_init(&meta, TUNE_MAX, TUNE_MAX), 0);
	meta.idsn_local = UINT64_MAX - 5000;	/* both spaces wrap */
	meta.idsn_peer = UINT64_MAX - 3000;
	mps_meta_seq_start(&meta);
	/* the handshake told the peer our starting window */
	mps_meta_rcv_hello_sent(&meta);
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 8));
}

TestSuite(meta_tune, .init = setup_tune, .fini = teardown);

/* The peer sends everything up to the right edge it was told in frames
 * of 16 KiB, in a shuffled order; returns the stream offset it reached. */
static size_t fill_window(size_t off)
{
	uint64_t base = meta.idsn_peer;
	uint64_t right = meta.rcv.wnd_end_sent;
	size_t end = (size_t)(right - base), n = 0;
	size_t starts[128];

	for (size_t o = off; o < end && n < 128; o += 16384)
		starts[n++] = o;
	/* odd frames first, then even: out of order within the window */
	for (int pass = 1; pass >= 0; pass--)
		for (size_t i = (size_t)pass; i < n; i += 2) {
			size_t len = end - starts[i] < 16384 ? end - starts[i] : 16384;

			cr_assert_eq(mps_meta_rcv_data(&meta, base + starts[i],
						       pattern + starts[i], len, false),
				     (long)len);
		}
	return end;
}

Test(meta_tune, no_ring_memory_until_data)
{
	cr_assert_eq(meta.snd.q.cap, 0);
	cr_assert_eq(meta.rcv.q.cap, 0);
	cr_assert_null(meta.snd.q.data);
	cr_assert_null(meta.rcv.q.data);
	/* the peer may send the initial window at once */
	cr_assert_eq(mps_meta_rcv_window(&meta), MPS_RCV_WINDOW_START);
	cr_assert_eq(mps_meta_rcv_data(&meta, meta.idsn_peer, pattern, 100, false), 100);
	cr_assert_eq(meta.rcv.q.cap, MPS_RING_MIN, "a small first frame takes a small ring");
	cr_assert_eq(drain(0), 100);
}

Test(meta_tune, fast_reader_opens_the_window_up_to_rcvbuf)
{
	size_t off = 0, got = 0, wnd = meta.rcv.wnd;
	uint64_t prev_right = meta.rcv.q.base + meta.rcv.wnd;

	for (int round = 0; round < 8; round++) {
		off = fill_window(off);
		cr_assert_leq(meta.rcv.q.cap, TUNE_MAX);
		cr_assert_geq(meta.rcv.q.cap, (size_t)(meta.rcv.nxt - meta.rcv.q.base));
		/* the peer at the edge: one byte more is refused */
		cr_assert_eq(mps_meta_rcv_data(&meta, meta.idsn_peer + off, pattern + off,
					       1, false), -EPROTO);
		got = drain(got);
		cr_assert_eq(got, off);
		if (meta.rcv.wnd != wnd)
			cr_assert(mps_meta_rcv_ack_due(&meta),
				  "a window that opened is told at once");
		mps_meta_rcv_ack_sent(&meta);	/* the DATA_ACK tells the peer */
		/* the right edge never moves left, the window never past rcvbuf */
		cr_assert_geq(meta.rcv.q.base + meta.rcv.wnd, prev_right);
		prev_right = meta.rcv.q.base + meta.rcv.wnd;
		cr_assert_leq(meta.rcv.wnd, TUNE_MAX);
		cr_assert_leq(mps_meta_rcv_window(&meta), TUNE_MAX);
		cr_assert(meta.rcv.wnd == TUNE_MAX || meta.rcv.wnd == 2 * wnd,
			  "round %d: window %zu after %zu", round, meta.rcv.wnd, wnd);
		wnd = meta.rcv.wnd;
	}
	cr_assert_eq(meta.rcv.wnd, TUNE_MAX);
}

/* The steady state of a bulk transfer: the whole window is in flight and
 * the app reads each frame as it comes, so the receiver's own right edge
 * is always a window ahead; the peer is still held by the edge it was
 * told, and the window must grow. */
Test(meta_tune, window_grows_while_the_app_reads_every_frame)
{
	uint64_t base = meta.idsn_peer;
	size_t off = 0;

	for (int rtt = 0; rtt < 3; rtt++) {
		size_t wnd = meta.rcv.wnd;
		uint64_t told = meta.rcv.wnd_end_sent;

		while (mps_seq_before(base + off, told)) {
			size_t len = told - (base + off) < 16384 ? told - (base + off) : 16384;

			cr_assert_eq(mps_meta_rcv_data(&meta, base + off, pattern + off, len,
						       false), (long)len);
			off += len;
			cr_assert_eq(drain(off - len), off);
		}
		cr_assert_eq(meta.rcv.wnd, 2 * wnd, "round trip %d: the window stayed", rtt);
		mps_meta_rcv_ack_sent(&meta);
	}
}

Test(meta_tune, slow_reader_keeps_the_window)
{
	size_t off = fill_window(0);
	uint8_t *p;
	size_t n = mps_meta_rcv_ready(&meta, &p);

	/* the app takes a quarter: the ring stays more than half full */
	cr_assert_geq(n, off / 4);
	mps_meta_rcv_consume(&meta, off / 4);
	cr_assert_eq(meta.rcv.wnd, MPS_RCV_WINDOW_START);
	cr_assert_eq(mps_meta_rcv_window(&meta), off / 4);
}

Test(meta_tune, growth_under_a_pending_send_keeps_its_bytes)
{
	uint8_t *p;
	size_t n, off;

	cr_assert_eq(mps_meta_rcv_data(&meta, meta.idsn_peer, pattern, 3000, false), 3000);
	n = mps_meta_rcv_ready(&meta, &p);
	cr_assert_eq(n, 3000);
	meta.ewr.pending = true;	/* a SEND to the app reads p */
	off = fill_window(3000);
	cr_assert_gt(meta.rcv.q.cap, MPS_RING_MIN, "the ring grew");
	cr_assert_eq(meta.rcv.q_busy.data, p, "the sender's buffer was kept");
	cr_assert_arr_eq(p, pattern, 3000);
	/* the SEND completes */
	meta.ewr.pending = false;
	mps_meta_rcv_consume(&meta, n);
	cr_assert_null(meta.rcv.q_busy.data);
	cr_assert_eq(drain(3000), off);
}

Test(meta_tune, receive_ring_is_freed_when_idle_and_empty)
{
	uint64_t base = meta.idsn_peer;
	size_t got;

	/* bytes beyond a hole: nothing may go */
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 5000, pattern + 5000, 1000, false),
		     1000);
	cr_assert_eq(mps_meta_rcv_trim(&meta), 0);
	cr_assert_eq(mps_meta_rcv_data(&meta, base, pattern, 5000, false), 5000);
	cr_assert_eq(mps_meta_rcv_trim(&meta), 0, "undelivered bytes stay");
	got = drain(0);
	cr_assert_eq(got, 6000);
	meta.ewr.pending = true;
	cr_assert_eq(mps_meta_rcv_trim(&meta), 0, "a SEND may still read it");
	meta.ewr.pending = false;
	cr_assert_gt(mps_meta_rcv_trim(&meta), 0);
	cr_assert_null(meta.rcv.q.data);
	/* the window stays promised: the next bytes get memory again */
	cr_assert_eq(mps_meta_rcv_window(&meta), MPS_RCV_WINDOW_START);
	cr_assert_eq(mps_meta_rcv_data(&meta, base + 6000, pattern + 6000, 60000, false),
		     60000);
	cr_assert_eq(drain(6000), 66000);
}

/* The app writes len bytes of the pattern at the send queue's tail. */
static size_t tune_app_writes(size_t off, size_t len)
{
	while (len) {
		uint8_t *p;
		size_t n = mps_meta_snd_tail(&meta, &p);

		if (!n)
			break;
		if (n > len)
			n = len;
		memcpy(p, pattern + off, n);
		mps_meta_snd_commit(&meta, n);
		off += n;
		len -= n;
	}
	return off;
}

Test(meta_tune, send_ring_follows_the_peer_window)
{
	uint8_t out[16384];
	uint64_t dsn;
	size_t len, off;
	bool fin, re;

	/* the peer's window is the initial 64 KiB: the ring stops at twice it */
	off = tune_app_writes(0, 512 * 1024);
	cr_assert_eq(meta.snd.q.cap, 2 * MPS_INITIAL_WINDOW);
	cr_assert_eq(off, 2 * MPS_INITIAL_WINDOW, "the app waits: queue full");
	/* sent, read back from the ring as a subflow would: the stream */
	for (size_t sent = 0; mps_meta_snd_next(&meta, sizeof(out), &dsn, &len, &fin, &re);
	     sent += len) {
		cr_assert_eq(dsn, meta.idsn_local + sent);
		mps_ring_read(&meta.snd.q, dsn, out, len);
		cr_assert_arr_eq(out, pattern + sent, len);
	}
	/* the peer acks 40000 and opens a wide window: the ring may grow */
	cr_assert_eq(mps_meta_snd_ack(&meta, meta.idsn_local + 40000, TUNE_MAX), 40000);
	off = tune_app_writes(off, 2 * TUNE_MAX);
	cr_assert_eq(meta.snd.q.cap, TUNE_MAX, "grown to sndbuf, not beyond");
	cr_assert_eq(off - 40000, TUNE_MAX);
	/* every byte still in order across the moves and the wrap */
	for (size_t o = 40000; o < off; o += len) {
		len = off - o < sizeof(out) ? off - o : sizeof(out);
		mps_ring_read(&meta.snd.q, meta.idsn_local + o, out, len);
		cr_assert_arr_eq(out, pattern + o, len, "byte mismatch at %zu", o);
	}
}

/* A first answer waiting whole at the app end: the empty ring takes it
 * in one read (mps_meta_snd_reserve), within the peer's window and sndbuf,
 * and never resizes a ring that holds bytes. */
Test(meta_tune, reserve_sizes_an_empty_ring_to_what_waits)
{
	uint8_t *p;

	/* 100 KiB waiting, the peer's window is the initial 64 KiB: the
	 * ring is sized to the window, not to what waits */
	mps_meta_snd_reserve(&meta, 100 * 1024);
	cr_assert_eq(meta.snd.q.cap, MPS_INITIAL_WINDOW);
	cr_assert_eq(mps_meta_snd_tail(&meta, &p), MPS_INITIAL_WINDOW,
		     "one read takes the window");
	mps_meta_snd_commit(&meta, 10);
	/* bytes in it: reserve leaves it alone */
	mps_meta_snd_reserve(&meta, 1024 * 1024);
	cr_assert_eq(meta.snd.q.cap, MPS_INITIAL_WINDOW);
}

Test(meta_tune, reserve_rounds_up_from_the_minimum_and_stops_at_sndbuf)
{
	/* a few bytes: the minimum ring */
	mps_meta_snd_reserve(&meta, 10);
	cr_assert_eq(meta.snd.q.cap, MPS_RING_MIN);
	mps_ring_free(&meta.snd.q);
	/* a wide window: 5000 bytes round up to 8 KiB, more to sndbuf */
	cr_assert_eq(mps_meta_snd_ack(&meta, meta.idsn_local, TUNE_MAX), 0);
	mps_meta_snd_reserve(&meta, 5000);
	cr_assert_eq(meta.snd.q.cap, 8192);
	mps_ring_free(&meta.snd.q);
	mps_meta_snd_reserve(&meta, 16 * TUNE_MAX);
	cr_assert_eq(meta.snd.q.cap, TUNE_MAX);
}

Test(meta_tune, send_ring_is_freed_once_everything_is_acked)
{
	uint64_t dsn;
	size_t len, off;
	bool fin, re;

	off = tune_app_writes(0, 10000);
	while (mps_meta_snd_next(&meta, 16384, &dsn, &len, &fin, &re))
		;
	cr_assert_eq(mps_meta_snd_ack(&meta, meta.idsn_local + 9000, 65536), 9000);
	cr_assert_eq(mps_meta_snd_trim(&meta), 0, "1000 bytes are not acked yet");
	cr_assert_eq(mps_meta_snd_ack(&meta, meta.idsn_local + 10000, 65536), 1000);
	cr_assert_gt(mps_meta_snd_trim(&meta), 0);
	cr_assert_null(meta.snd.q.data);
	/* the next write gets a ring again and the stream goes on */
	off = tune_app_writes(off, 5000);
	cr_assert_eq(off, 15000);
	cr_assert(mps_meta_snd_next(&meta, 16384, &dsn, &len, &fin, &re));
	cr_assert_eq(dsn, meta.idsn_local + 10000);
	cr_assert_eq(len, 5000);
}

/* ---- early data (0-RTT): the server's acceptance window ---------------- */

/* A server meta right after a HELLO without TARGET: both halves started,
 * rcvbuf larger than the early window so that the window check, not the
 * receive window, is what refuses. */
static void early_setup(void)
{
	memset(&meta, 0, sizeof(meta));
	cr_assert_eq(mps_meta_seq_init(&meta, 1 << 20, 1 << 20), 0);
	meta.idsn_local = 77;
	meta.idsn_peer = UINT64_MAX - 1000;	/* the early window wraps */
	mps_meta_seq_start(&meta);
	meta.early.on = true;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 8));
}

TestSuite(meta_early, .init = early_setup, .fini = teardown);

Test(meta_early, data_within_the_early_window_is_taken)
{
	uint64_t base = meta.idsn_peer;

	/* out of order, up to the last byte of the window, a FIN on it */
	cr_assert_eq(mps_meta_rcv_early(&meta, base + 60000, pattern + 60000,
					MPS_EARLY_WINDOW - 60000, true),
		     MPS_EARLY_WINDOW - 60000);
	cr_assert_eq(mps_meta_rcv_early(&meta, base, pattern, 60000, false), 60000);
	cr_assert_eq(mps_meta_rcv_ack(&meta), base + MPS_EARLY_WINDOW + 1,
		     "every early byte and the FIN");
	cr_assert_eq(drain(0), MPS_EARLY_WINDOW);
	cr_assert(mps_meta_rcv_done(&meta));
}

Test(meta_early, data_beyond_the_early_window_is_refused)
{
	uint64_t base = meta.idsn_peer;

	/* one byte past it, even though the receive window (1 MiB) is open */
	cr_assert_eq(mps_meta_rcv_early(&meta, base + MPS_EARLY_WINDOW - 10, pattern, 11,
					false), -EPROTO);
	cr_assert_eq(mps_meta_rcv_early(&meta, base + MPS_EARLY_WINDOW, pattern, 0, true),
		     0, "a bare DATA_FIN at the edge ends the stream there");
	cr_assert_eq(mps_meta_rcv_early(&meta, base - 1, pattern, 10, false), -EPROTO,
		     "below idsn_c");
	cr_assert_eq(meta.rcv.nxt, base, "nothing stored");
	cr_assert_eq(mps_meta_rcv_early(&meta, base, pattern, 100, false), 100,
		     "the window itself still takes data");
}

Test(meta_early, refused_in_forward_mode_or_without_an_early_hello)
{
	uint64_t base = meta.idsn_peer;

	meta.fwd.on = true;
	cr_assert_eq(mps_meta_rcv_early(&meta, base, pattern, 100, false), -EPROTO,
		     "forward mode: nothing before AUTH");
	meta.fwd.on = false;
	meta.early.on = false;
	cr_assert_eq(mps_meta_rcv_early(&meta, base, pattern, 100, false), -EPROTO,
		     "no early data agreed");
	cr_assert_eq(meta.rcv.nxt, base);
	meta.early.on = true;
	cr_assert_eq(mps_meta_rcv_early(&meta, base, pattern, 100, false), 100);
}

/* HELLO_ACK counts its window from idsn_c; early bytes are acked after it. */
Test(meta_early, hello_ack_window_counts_from_idsn_c)
{
	uint64_t base = meta.idsn_peer;

	cr_assert_eq(mps_meta_rcv_early(&meta, base, pattern, 5000, false), 5000);
	cr_assert_eq(mps_meta_rcv_window(&meta), MPS_RCV_WINDOW_START - 5000);
	cr_assert_eq(mps_meta_rcv_hello_window(&meta), MPS_RCV_WINDOW_START);
	mps_meta_rcv_hello_sent(&meta);
	cr_assert_eq(meta.rcv.ack_sent, base, "HELLO_ACK acks nothing");
	cr_assert_eq(meta.rcv.wnd_end_sent, base + MPS_RCV_WINDOW_START);
	cr_assert_neq(mps_meta_rcv_ack(&meta), meta.rcv.ack_sent,
		      "a DATA_ACK for the early bytes is still owed");
}

/* The client's side: the sending half alone, the ring bounded by the early
 * window until HELLO_ACK, then the receiving half. */
Test(meta_early, client_sends_within_the_early_window)
{
	uint8_t *p;
	size_t n, total = 0, len;
	uint64_t dsn;
	bool fin, re;

	mps_meta_seq_free(&meta);
	memset(&meta, 0, sizeof(meta));
	cr_assert_eq(mps_meta_seq_init(&meta, 1 << 20, 1 << 20), 0);
	meta.idsn_local = UINT64_MAX - 10;
	mps_meta_snd_start(&meta);
	cr_assert_eq(mps_meta_snd_early_room(&meta), MPS_EARLY_WINDOW);
	while (mps_meta_snd_early_room(&meta)) {
		n = mps_meta_snd_tail(&meta, &p);
		cr_assert_gt(n, 0);
		if (n > mps_meta_snd_early_room(&meta))
			n = mps_meta_snd_early_room(&meta);
		memcpy(p, pattern + total, n);
		mps_meta_snd_commit(&meta, n);
		total += n;
	}
	cr_assert_eq(total, MPS_EARLY_WINDOW);
	for (size_t sent = 0; mps_meta_snd_next(&meta, 16384, &dsn, &len, &fin, &re);
	     sent += len)
		cr_assert_eq(dsn, meta.idsn_local + sent);
	cr_assert_eq(meta.snd.nxt, meta.idsn_local + MPS_EARLY_WINDOW);
	/* HELLO_ACK: the peer's keys, then the receiving half */
	meta.idsn_peer = 5;
	mps_meta_rcv_start(&meta);
	cr_assert_eq(meta.rcv.nxt, 5);
	cr_assert_eq(meta.snd.nxt, meta.idsn_local + MPS_EARLY_WINDOW, "kept");
}

/* ---- TCP Fast Open: what may ride in a SYN (early.c) ---- */

Test(meta_early, only_a_tls_client_hello_rides_a_syn_under_auto)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00 };
	static const uint8_t get[] = "GET / HTTP/1.1\r\n";
	static const uint8_t appdata[] = { 0x17, 0x03, 0x03, 0x00, 0x10, 0x01 };

	cr_assert(mps_early_syn_ok("auto", hello, sizeof(hello)));
	cr_assert_not(mps_early_syn_ok("auto", get, sizeof(get) - 1));
	cr_assert_not(mps_early_syn_ok("auto", appdata, sizeof(appdata)),
		      "a TLS record that is not a handshake");
	cr_assert_not(mps_early_syn_ok("auto", hello, 5), "too short to tell");
	cr_assert(mps_early_syn_ok("yes", get, sizeof(get) - 1));
	cr_assert_not(mps_early_syn_ok("no", hello, sizeof(hello)));
}

Test(meta_early, auto_asks_for_fast_open_on_tls_ports_only)
{
	struct mps_config cfg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(443) };

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.fastopen, "auto");
	cr_assert(mps_early_fastopen_wanted(&cfg, (struct sockaddr *)&sa));
	sa.sin_port = htons(80);
	cr_assert_not(mps_early_fastopen_wanted(&cfg, (struct sockaddr *)&sa));
	strcpy(cfg.fastopen, "yes");
	cr_assert(mps_early_fastopen_wanted(&cfg, (struct sockaddr *)&sa));
	strcpy(cfg.fastopen, "no");
	sa.sin_port = htons(443);
	cr_assert_not(mps_early_fastopen_wanted(&cfg, (struct sockaddr *)&sa));
}
