/*
 * fuzz_meta.c - libFuzzer harness for the data sequence space of a meta
 * connection (src/core/meta.c): the stream state machine both ends run
 * once the handshake has fixed the IDSNs, early data included (a server
 * taking DATA before HELLO_ACK, a client writing before it).
 *
 * The input is a program.  Header (missing bytes read as 0):
 *   byte 0      receive buffer size, index into buf_sizes[]
 *   byte 1      send buffer size, index into buf_sizes[]
 *   bytes 2-9   idsn_local (big-endian)
 *   bytes 10-17 idsn_peer (big-endian)
 * then operations, one opcode byte (low 3 bits: operation, high 5 bits:
 * its flags) and its argument bytes:
 *   0 RCV_DATA  delta:i16 len:u16   peer DATA at anchor + delta, where the
 *               anchor is rcv.nxt, the window's left edge, its right edge
 *               or the peer's FIN (flags bits 4-5); bit 3 sets DATA_FIN;
 *               bit 6: as early data (mps_meta_rcv_early), and bit 7 with
 *               it: in forward mode
 *   1 RCV_READ  max:u16             the app reads up to max bytes
 *   2 RCV_ACK                        ask whether an ack is due; send it if
 *                                    so, or always with bit 3; bit 4: send
 *                                    HELLO_ACK instead (before any DATA_ACK)
 *   3 SND_WRITE len:u16             the app writes len bytes (bit 3: and
 *                                    then closes its side; bit 4: before
 *                                    HELLO_ACK, within the early window)
 *   4 SND_NEXT  max:u16             map the next piece onto a subflow
 *   5 SND_ACK   arg:u16 win:u16     DATA_ACK: bit 3 set: acks the end of
 *               logged piece arg (+1 for a FIN), else una + (i16)arg;
 *               bit 4 shifts the window left 16 bits
 *   6 SND_LOST  idx:u8              a subflow died with logged piece idx;
 *               bit 3: instead [una, una + idx * 16) (deadline reinjection)
 *   7 SND_CLOSE                     the app closes its side
 *
 * Every byte the peer sends at DSN d is pat(d), and every byte the app
 * writes at DSN d is pat(d + SND_SALT), so content is checked wherever it
 * comes out.  Invariants, checked after every operation:
 *   receive: the cumulative ack, rcv.nxt and the left edge never go back;
 *     the window never exceeds rcvbuf and its right edge never moves left;
 *     rcv.nxt is exactly the first DSN not yet received (a shadow map of
 *     received bytes is kept); nothing past the peer's DATA_FIN is
 *     accepted or delivered; delivered bytes are pat(dsn); rcv_done iff
 *     the FIN was seen and every byte before it delivered.
 *   send: una <= nxt <= end, end - una <= sndbuf; una and the peer's right
 *     edge never go back; new data is mapped only inside the peer's window
 *     and reinjections only inside [una, nxt); mapped bytes are the app's;
 *     a FIN is mapped only after close, at end; an ack of more than was
 *     sent is refused; snd_done only when everything is acked.
 *   early data: taken only within [idsn_peer, idsn_peer + MPS_EARLY_WINDOW)
 *     and never in forward mode; HELLO_ACK's window reaches the right edge
 *     from idsn_peer and acks nothing; an early write never takes the send
 *     queue past idsn_local + MPS_EARLY_WINDOW.
 * Deterministic: no clock, no randomness, no I/O.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BUF		65536u
#define SND_SALT	0x5a5a5a5a5a5a5a5aull
#define LOG_N		64

static const size_t buf_sizes[] = {
	1, 2, 3, 7, 16, 64, 100, 1000, 1024, 4096, 10000, 65536,
};

struct piece {
	uint64_t dsn;
	size_t len;
	bool fin;
};

/* Harness state for one input; static so nothing is allocated per run
 * except the meta's own rings. */
static struct {
	struct mps_meta meta;
	size_t rcvbuf, sndbuf;
	/* receive shadow */
	uint8_t rcvd[MAX_BUF];		/* byte d received: rcvd[off(d) % cap] */
	uint64_t model_nxt;
	uint64_t prev_ack, prev_base, prev_right;
	uint64_t delivered;		/* bytes the app has read */
	bool fin_seen;
	uint64_t fin_dsn;
	/* send shadow */
	uint64_t prev_una, prev_wnd_end, prev_end;
	bool closed;
	bool acked;			/* a DATA_ACK went out: no HELLO_ACK now */
	struct piece log[LOG_N];
	unsigned log_n;
	/* input cursor */
	const uint8_t *p, *e;
	unsigned step;
} st;

static uint8_t scratch[MAX_BUF];

/* The harness's own byte loops are kept out of the coverage feedback:
 * traced compares there would cost most of the time and guide nothing. */
#if defined(__clang__) && __clang_major__ >= 13
#define NOCOV __attribute__((no_sanitize("coverage"), noinline))
#else
#define NOCOV
#endif

static uint8_t pat(uint64_t d)
{
	d *= 0x9e3779b97f4a7c15ull;
	return (uint8_t)(d >> 56);
}

/* p[i] = pat(d + salt + i) */
NOCOV static void fill_pat(uint8_t *p, uint64_t d, size_t n, uint64_t salt)
{
	uint64_t x = (d + salt) * 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++, x += 0x9e3779b97f4a7c15ull)
		p[i] = (uint8_t)(x >> 56);
}

/* Index of the first byte that is not pat(d + salt + i), or n. */
NOCOV static size_t bad_pat(const uint8_t *p, uint64_t d, size_t n, uint64_t salt)
{
	uint64_t x = (d + salt) * 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < n; i++, x += 0x9e3779b97f4a7c15ull)
		if (p[i] != (uint8_t)(x >> 56))
			break;
	return i;
}

static void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	const struct mps_meta *m = &st.meta;
	va_list ap;

	fprintf(stderr, "fuzz_meta: step %u: invariant broken: ", st.step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr,
		"\n  rcvbuf %zu sndbuf %zu idsn_peer %llu idsn_local %llu\n"
		"  rcv: base +%llu nxt +%llu fin %d fin_dsn +%llu ooo %u ranges\n"
		"  snd: una +%llu nxt +%llu end +%llu wnd_end +%llu fin q/s/e/a %d%d%d%d reinject %u\n",
		st.rcvbuf, st.sndbuf,
		(unsigned long long)m->idsn_peer, (unsigned long long)m->idsn_local,
		(unsigned long long)(m->rcv.q.base - m->idsn_peer),
		(unsigned long long)(m->rcv.nxt - m->idsn_peer), m->rcv.fin,
		(unsigned long long)(m->rcv.fin_dsn - m->idsn_peer), m->rcv.ooo.n,
		(unsigned long long)(m->snd.una - m->idsn_local),
		(unsigned long long)(m->snd.nxt - m->idsn_local),
		(unsigned long long)(m->snd.end - m->idsn_local),
		(unsigned long long)(m->snd.wnd_end - m->idsn_local),
		m->snd.fin_queued, m->snd.fin_sent, m->snd.fin_ever_sent,
		m->snd.fin_acked, m->snd.reinject.n);
	abort();
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

static unsigned get8(void)
{
	return st.p < st.e ? *st.p++ : 0;
}

static unsigned get16(void)
{
	unsigned hi = get8();

	return hi << 8 | get8();
}

static uint64_t get64(void)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | get8();
	return v;
}

static bool before(uint64_t a, uint64_t b) { return mps_seq_before(a, b); }
static bool after(uint64_t a, uint64_t b) { return mps_seq_after(a, b); }

/* ---- receive side ---- */

static uint8_t *shadow(uint64_t d)
{
	return &st.rcvd[(d - st.meta.idsn_peer) % st.rcvbuf];
}

/* Mark [from, from + n) received (v 1) or delivered (v 0); n <= rcvbuf. */
static void shadow_set(uint64_t from, size_t n, uint8_t v)
{
	size_t idx = (size_t)((from - st.meta.idsn_peer) % st.rcvbuf);
	size_t first = st.rcvbuf - idx < n ? st.rcvbuf - idx : n;

	memset(&st.rcvd[idx], v, first);
	memset(st.rcvd, v, n - first);
}

#ifdef FUZZ_AVOID_FIN_INSIDE_OOO
/* Any DSN in [from, limit) received? */
NOCOV static bool shadow_any(uint64_t from, uint64_t limit)
{
	for (; before(from, limit); from++)
		if (*shadow(from))
			return true;
	return false;
}
#endif

/* First DSN in [from, limit) not received, or limit. */
NOCOV static uint64_t shadow_hole(uint64_t from, uint64_t limit)
{
	while (before(from, limit) && *shadow(from))
		from++;
	return from;
}

static void op_rcv_data(unsigned flags)
{
	struct mps_meta_rcv *rcv = &st.meta.rcv;
	int16_t delta = (int16_t)get16();
	size_t len = get16();
	bool fin = flags & 1, early, fwd;
	uint64_t anchor, dsn, end, right, from, early_end;
	long rc;

	switch ((flags >> 1) & 3) {
	case 0:
		anchor = rcv->nxt;
		break;
	case 1:
		anchor = rcv->q.base;
		break;
	case 2:
		anchor = rcv->q.base + rcv->wnd;
		break;
	default:
		anchor = rcv->fin ? rcv->fin_dsn : rcv->nxt;
		break;
	}
	dsn = anchor + (uint64_t)(int64_t)delta;
	end = dsn + len;
	right = rcv->q.base + rcv->wnd;
	early = flags & 8;
	fwd = early && (flags & 16);
#ifdef FUZZ_AVOID_FIN_INSIDE_OOO
	/* Known bug (tests/fuzz/crashes/meta-fin-inside-ooo): a DATA_FIN
	 * that ends inside bytes already received out of order lets rcv.nxt
	 * run past it.  Defined only to fuzz on past it until it is fixed. */
	if (fin && !rcv->fin &&
	    shadow_any(before(end, rcv->q.base) ? rcv->q.base : end, right))
		return;
#endif
	/* Only bytes from rcv.nxt on can be stored, and none of a frame past
	 * the window; the rest of scratch keeps stale bytes on purpose, so
	 * storing them would show as a content mismatch. */
	if (!after(end, right)) {
		from = before(dsn, rcv->nxt) ? rcv->nxt : dsn;
		if (before(from, end))
			fill_pat(scratch + (from - dsn), from, (size_t)(end - from), 0);
	}

	if (early) {
		/* a server after a HELLO without TARGET; forward mode never */
		st.meta.early.on = true;
		st.meta.fwd.on = fwd;
		rc = mps_meta_rcv_early(&st.meta, dsn, scratch, len, fin);
		st.meta.fwd.on = false;
		early_end = st.meta.idsn_peer + MPS_EARLY_WINDOW;
		if (fwd || before(dsn, st.meta.idsn_peer) || after(end, early_end))
			CHECK(rc == -EPROTO, "early data outside the early window or in "
			      "forward mode accepted: +%lld..+%llu fwd %d, rc %ld",
			      (long long)(dsn - st.meta.idsn_peer),
			      (unsigned long long)(end - st.meta.idsn_peer), fwd, rc);
		if (rc == -EPROTO && !after(end, right))
			return;		/* refused before the window was judged */
	} else {
		rc = mps_meta_rcv_data(&st.meta, dsn, scratch, len, fin);
	}

	CHECK(rc == -EPROTO || rc == -ENOSPC || (rc >= 0 && (size_t)rc <= len),
	      "rcv_data(+%lld, %zu, fin %d) returned %ld",
	      (long long)(dsn - st.meta.idsn_peer), len, fin, rc);
	if (after(end, right))
		CHECK(rc == -EPROTO, "data beyond the window accepted: end +%llu right +%llu, rc %ld",
		      (unsigned long long)(end - st.meta.idsn_peer),
		      (unsigned long long)(right - st.meta.idsn_peer), rc);
	if (st.fin_seen && after(end, st.fin_dsn))
		CHECK(rc == -EPROTO, "data beyond the DATA_FIN accepted, rc %ld", rc);
	if (st.fin_seen && fin && end != st.fin_dsn)
		CHECK(rc == -EPROTO, "second DATA_FIN at another place accepted, rc %ld", rc);
	if (rc == -EPROTO)
		return;

	if (fin && !st.fin_seen) {
		st.fin_seen = true;
		st.fin_dsn = end;
	}
	if (rc < 0)
		return;
	/* bytes below the left edge were delivered already */
	from = before(dsn, rcv->q.base) ? rcv->q.base : dsn;
	if (before(from, end))
		shadow_set(from, (size_t)(end - from), 1);
}

static void op_rcv_read(void)
{
	size_t max = get16(), n, bad;
	uint8_t *ptr;

	while (max) {
		uint64_t base = st.meta.rcv.q.base;

		n = mps_meta_rcv_ready(&st.meta, &ptr);
		if (!n)
			break;
		CHECK(n <= (size_t)(st.meta.rcv.nxt - base),
		      "rcv_ready offers %zu bytes, only %llu in order", n,
		      (unsigned long long)(st.meta.rcv.nxt - base));
		if (n > max)
			n = max;
		bad = bad_pat(ptr, base, n, 0);
		CHECK(bad == n, "delivered byte at +%llu is %02x, peer sent %02x",
		      (unsigned long long)(base + bad - st.meta.idsn_peer),
		      ptr[bad], pat(base + bad));
		CHECK(!st.fin_seen || !after(base + n, st.fin_dsn),
		      "bytes up to +%llu delivered past the DATA_FIN at +%llu",
		      (unsigned long long)(base + n - st.meta.idsn_peer),
		      (unsigned long long)(st.fin_dsn - st.meta.idsn_peer));
		shadow_set(base, n, 0);
		mps_meta_rcv_consume(&st.meta, n);
		st.delivered += n;
		max -= n;
	}
}

static void op_rcv_ack(unsigned flags)
{
	const struct mps_meta_rcv *rcv = &st.meta.rcv;
	bool due = mps_meta_rcv_ack_due(&st.meta);
	uint64_t right = rcv->q.base + rcv->wnd;

	if (flags & 2) {
		/* HELLO_ACK: its window counts from idsn_peer, whatever early
		 * data came; it goes before the first DATA_ACK */
		if (st.acked)
			return;
		CHECK(mps_meta_rcv_hello_window(&st.meta) == right - st.meta.idsn_peer,
		      "HELLO_ACK's window %u does not reach the right edge from idsn_peer",
		      mps_meta_rcv_hello_window(&st.meta));
		mps_meta_rcv_hello_sent(&st.meta);
		CHECK(rcv->ack_sent == st.meta.idsn_peer, "HELLO_ACK acked something");
		CHECK(rcv->wnd_end_sent == right, "HELLO_ACK's right edge is not the window's");
		return;
	}
	if (due || (flags & 1)) {
		mps_meta_rcv_ack_sent(&st.meta);
		st.acked = true;
	}
}

static void check_rcv(void)
{
	const struct mps_meta *m = &st.meta;
	const struct mps_meta_rcv *rcv = &m->rcv;
	uint64_t ack = mps_meta_rcv_ack(m);
	uint32_t wnd = mps_meta_rcv_window(m);
	uint64_t right = rcv->q.base + rcv->wnd;
	uint8_t *ptr;

	CHECK(!before(ack, st.prev_ack), "DATA_ACK went back: +%llu after +%llu",
	      (unsigned long long)(ack - m->idsn_peer),
	      (unsigned long long)(st.prev_ack - m->idsn_peer));
	CHECK(!before(rcv->q.base, st.prev_base), "left edge went back");
	CHECK(!before(right, st.prev_right), "window's right edge went back");
	CHECK(wnd <= st.rcvbuf, "window %u exceeds rcvbuf %zu", wnd, st.rcvbuf);
	CHECK(wnd == 0 || ack + wnd == right, "window %u does not end at the right edge", wnd);
	CHECK(!before(rcv->nxt, rcv->q.base) && !after(rcv->nxt, right),
	      "rcv.nxt outside [base, base + wnd]");
	CHECK(rcv->q.cap >= rcv->nxt - rcv->q.base, "the ring does not hold the bytes received");
	CHECK(rcv->q.base - m->idsn_peer == st.delivered,
	      "left edge +%llu, but the app read %llu bytes",
	      (unsigned long long)(rcv->q.base - m->idsn_peer),
	      (unsigned long long)st.delivered);

	/* the first byte not received, from the shadow map */
	if (before(st.model_nxt, rcv->q.base))
		st.model_nxt = rcv->q.base;
	st.model_nxt = shadow_hole(st.model_nxt, right);
	CHECK(rcv->nxt == st.model_nxt,
	      "rcv.nxt +%llu, but every byte up to +%llu has arrived",
	      (unsigned long long)(rcv->nxt - m->idsn_peer),
	      (unsigned long long)(st.model_nxt - m->idsn_peer));

	CHECK(rcv->fin == st.fin_seen, "rcv.fin %d, harness saw FIN %d",
	      rcv->fin, st.fin_seen);
	if (st.fin_seen) {
		CHECK(rcv->fin_dsn == st.fin_dsn, "fin_dsn moved");
		CHECK(!after(rcv->nxt, st.fin_dsn),
		      "rcv.nxt +%llu is past the DATA_FIN at +%llu",
		      (unsigned long long)(rcv->nxt - m->idsn_peer),
		      (unsigned long long)(st.fin_dsn - m->idsn_peer));
		if (rcv->nxt == st.fin_dsn)
			CHECK(ack == st.fin_dsn + 1, "DATA_FIN not acknowledged");
	}
	if (mps_meta_rcv_done(m)) {
		CHECK(st.fin_seen && rcv->q.base == st.fin_dsn,
		      "rcv_done before the FIN was seen and everything delivered");
		CHECK(mps_meta_rcv_ready(&st.meta, &ptr) == 0,
		      "rcv_done with bytes still to deliver");
	} else {
		CHECK(!st.fin_seen || rcv->q.base != st.fin_dsn,
		      "everything up to the FIN delivered, yet not rcv_done");
	}
	st.prev_ack = ack;
	st.prev_base = rcv->q.base;
	st.prev_right = right;
}

/* ---- send side ---- */

static void log_piece(uint64_t dsn, size_t len, bool fin)
{
	st.log[st.log_n % LOG_N] = (struct piece){ dsn, len, fin };
	st.log_n++;
}

static void op_snd_close(void)
{
	/* what engine.c does when the app's read side ends */
	st.meta.snd.fin_queued = true;
	st.closed = true;
}

static void op_snd_write(unsigned flags)
{
	size_t want = get16(), span, n, room;
	uint8_t *ptr;
	uint64_t end = st.meta.snd.end;
	bool early = flags & 2;

	if (st.closed)
		return;		/* no app bytes after EOF */
	while (want) {
		span = mps_meta_snd_tail(&st.meta, &ptr);
		CHECK(span <= mps_meta_snd_space(&st.meta), "tail beyond space");
		/* what engine.c's meta_app_read takes before HELLO_ACK */
		if (early) {
			room = mps_meta_snd_early_room(&st.meta);
			CHECK(room <= MPS_EARLY_WINDOW, "early room %zu", room);
			if (span > room)
				span = room;
		}
		if (!span)
			break;
		n = span < want ? span : want;
		fill_pat(ptr, end, n, SND_SALT);
		mps_meta_snd_commit(&st.meta, n);
		end += n;
		want -= n;
		if (early)
			CHECK(!after(end, st.meta.idsn_local + MPS_EARLY_WINDOW) ||
			      n == 0, "an early write past the early window");
	}
	if (flags & 1)
		op_snd_close();
}

static void op_snd_next(void)
{
	struct mps_meta_snd *snd = &st.meta.snd;
	size_t max = get16(), len, bad;
	uint64_t dsn, una = snd->una, nxt = snd->nxt, wnd_end = snd->wnd_end;
	bool fin, reinject;

	if (!max)
		max = 1;
	if (!mps_meta_snd_next(&st.meta, max, &dsn, &len, &fin, &reinject))
		return;
	CHECK(len <= max, "piece of %zu bytes for max %zu", len, max);
	CHECK(len > 0 || fin, "empty piece without FIN");
	CHECK(!before(dsn, una), "piece at +%llu below una +%llu",
	      (unsigned long long)(dsn - st.meta.idsn_local),
	      (unsigned long long)(una - st.meta.idsn_local));
	CHECK(!after(dsn + len, snd->end), "piece past the app's bytes");
	if (reinject) {
		CHECK(!after(dsn + len, nxt), "reinjection of bytes never sent");
	} else if (len) {
		CHECK(dsn == nxt, "new data at +%llu, nxt was +%llu",
		      (unsigned long long)(dsn - st.meta.idsn_local),
		      (unsigned long long)(nxt - st.meta.idsn_local));
		CHECK(!after(dsn + len, wnd_end), "new data beyond the peer's window");
	}
	if (fin) {
		CHECK(st.closed, "FIN mapped before the app closed");
		CHECK(dsn + len == snd->end, "FIN not at the end of the stream");
	}
	mps_ring_read(&snd->q, dsn, scratch, len);
	bad = bad_pat(scratch, dsn, len, SND_SALT);
	CHECK(bad == len, "mapped byte at +%llu is not what the app wrote",
	      (unsigned long long)(dsn + bad - st.meta.idsn_local));
	log_piece(dsn, len, fin);
}

static void op_snd_ack(unsigned flags)
{
	struct mps_meta_snd *snd = &st.meta.snd;
	unsigned arg = get16();
	uint32_t window = get16();
	uint64_t ack, una = snd->una;
	uint64_t highest = snd->nxt + (snd->fin_ever_sent ? 1 : 0);
	long rc;

	if (flags & 2)
		window <<= 16;
	if ((flags & 1) && st.log_n) {
		const struct piece *pc = &st.log[arg % (st.log_n < LOG_N ? st.log_n : LOG_N)];

		ack = pc->dsn + pc->len + (pc->fin ? 1 : 0);
	} else {
		ack = una + (uint64_t)(int64_t)(int16_t)arg;
	}
	rc = mps_meta_snd_ack(&st.meta, ack, window);
	if (after(ack, highest)) {
		CHECK(rc == -EPROTO, "ack of unsent data accepted, rc %ld", rc);
		CHECK(snd->una == una, "refused ack moved una");
		return;
	}
	CHECK(rc >= 0, "valid ack refused, rc %ld", rc);
	CHECK((uint64_t)rc == snd->una - una, "ack returned %ld, una moved %llu",
	      rc, (unsigned long long)(snd->una - una));
}

static void op_snd_lost(unsigned flags)
{
	struct mps_meta_snd *snd = &st.meta.snd;
	unsigned idx = get8();

	if (flags & 1) {
		uint64_t n = (uint64_t)idx * 16;

		if (n > snd->nxt - snd->una)
			n = snd->nxt - snd->una;
		mps_meta_snd_reinject(&st.meta, snd->una, snd->una + n, false);
		return;
	}
	if (!st.log_n)
		return;
	const struct piece *pc = &st.log[idx % (st.log_n < LOG_N ? st.log_n : LOG_N)];

	mps_meta_snd_reinject(&st.meta, pc->dsn, pc->dsn + pc->len, pc->fin);
}

static void check_snd(void)
{
	const struct mps_meta_snd *snd = &st.meta.snd;
	const struct mps_rangeset *rs = &snd->reinject;

	CHECK(!after(snd->una, snd->nxt) && !after(snd->nxt, snd->end),
	      "not una <= nxt <= end");
	CHECK(snd->end - snd->una <= st.sndbuf, "send queue holds more than sndbuf");
	CHECK(snd->q.cap <= st.sndbuf, "send ring grew past sndbuf");
	CHECK(mps_meta_snd_space(&st.meta) == snd->q.cap - (snd->end - snd->una),
	      "snd_space wrong");
	CHECK(!before(snd->una, st.prev_una), "una went back");
	CHECK(!before(snd->end, st.prev_end), "end went back");
	CHECK(!before(snd->wnd_end, st.prev_wnd_end), "peer's right edge went back");
	for (unsigned i = 0; i < rs->n; i++) {
		CHECK(before(rs->r[i].start, rs->r[i].end), "empty reinject range");
		CHECK(!before(rs->r[i].start, snd->una) && !after(rs->r[i].end, snd->nxt),
		      "reinject range [+%llu, +%llu) outside [una, nxt)",
		      (unsigned long long)(rs->r[i].start - st.meta.idsn_local),
		      (unsigned long long)(rs->r[i].end - st.meta.idsn_local));
		CHECK(i == 0 || after(rs->r[i].start, rs->r[i - 1].end),
		      "reinject ranges not sorted and merged");
	}
	if (snd->fin_acked) {
		CHECK(snd->fin_queued && snd->fin_ever_sent, "FIN acked, never sent");
		CHECK(snd->una == snd->end, "FIN acked before the data");
	}
	CHECK(mps_meta_snd_done(&st.meta) == snd->fin_acked, "snd_done != fin_acked");
	st.prev_una = snd->una;
	st.prev_end = snd->end;
	st.prev_wnd_end = snd->wnd_end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mps_meta *m = &st.meta;
	unsigned op;

	memset(&st, 0, sizeof(st));
	st.p = data;
	st.e = data + size;
	st.rcvbuf = buf_sizes[get8() % (sizeof(buf_sizes) / sizeof(buf_sizes[0]))];
	st.sndbuf = buf_sizes[get8() % (sizeof(buf_sizes) / sizeof(buf_sizes[0]))];
	if (mps_meta_seq_init(m, st.sndbuf, st.rcvbuf))
		abort();
	m->idsn_local = get64();
	m->idsn_peer = get64();
	mps_meta_seq_start(m);
	/* the rings start without memory and are filled through the API only */
	st.model_nxt = m->idsn_peer;
	st.prev_ack = mps_meta_rcv_ack(m);
	st.prev_base = m->rcv.q.base;
	st.prev_right = m->rcv.q.base + m->rcv.wnd;
	st.prev_una = st.prev_end = m->idsn_local;
	st.prev_wnd_end = m->snd.wnd_end;
	check_rcv();
	check_snd();

	while (st.p < st.e) {
		op = get8();
		st.step++;
		switch (op & 7) {
		case 0: op_rcv_data(op >> 3); break;
		case 1: op_rcv_read(); break;
		case 2: op_rcv_ack(op >> 3); break;
		case 3: op_snd_write(op >> 3); break;
		case 4: op_snd_next(); break;
		case 5: op_snd_ack(op >> 3); break;
		case 6: op_snd_lost(op >> 3); break;
		case 7: op_snd_close(); break;
		}
		check_rcv();
		check_snd();
	}
	mps_meta_seq_free(m);
	return 0;
}
