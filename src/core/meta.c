/*
 * meta.c - the data sequence space of a meta connection (see meta.h).
 *
 * Pure bookkeeping: the engine calls in when bytes arrive from the app or a
 * subflow, and asks what to send next.  Keeping system calls out of here is
 * what lets test_meta.c check reordering, windows and reinjection exactly.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "meta.h"

int mps_meta_seq_init(struct mps_meta *meta, size_t sndbuf, size_t rcvbuf)
{
	/* no ring memory yet: an idle connection never needs any */
	mps_ring_init(&meta->snd.q, 0, 0);
	mps_ring_init(&meta->rcv.q, 0, 0);
	meta->snd.max = sndbuf;
	meta->rcv.max = rcvbuf;
	/* the peer may send this much before our first DATA_ACK */
	meta->rcv.wnd = rcvbuf < MPS_RCV_WINDOW_START ? rcvbuf : MPS_RCV_WINDOW_START;
	/* reinjection holes are bounded by what was ever in flight */
	mps_rangeset_init(&meta->snd.reinject, (unsigned)(sndbuf / 64 + 16));
	mps_rangeset_init(&meta->rcv.ooo, MPS_MAX_OOO_RANGES);
	return 0;
}

void mps_meta_seq_free(struct mps_meta *meta)
{
	mps_ring_free(&meta->snd.q);
	mps_ring_free(&meta->rcv.q);
	mps_ring_mem_free(&meta->rcv.q_busy);
	mps_rangeset_free(&meta->snd.reinject);
	mps_rangeset_free(&meta->rcv.ooo);
}

void mps_meta_snd_start(struct mps_meta *meta)
{
	struct mps_meta_snd *snd = &meta->snd;

	snd->una = snd->nxt = snd->end = meta->idsn_local;
	snd->q.base = meta->idsn_local;
	snd->q.off = 0;
	/* before the peer's first word: its initial window, which is also
	 * the early window of a client */
	snd->wnd_end = meta->idsn_local + MPS_INITIAL_WINDOW;
}

void mps_meta_rcv_start(struct mps_meta *meta)
{
	struct mps_meta_rcv *rcv = &meta->rcv;

	rcv->nxt = meta->idsn_peer;
	rcv->q.base = meta->idsn_peer;
	rcv->q.off = 0;
	rcv->ack_sent = meta->idsn_peer;
	rcv->wnd_end_sent = meta->idsn_peer + MPS_INITIAL_WINDOW;
}

void mps_meta_seq_start(struct mps_meta *meta)
{
	mps_meta_snd_start(meta);
	mps_meta_rcv_start(meta);
}

size_t mps_meta_snd_space(const struct mps_meta *meta)
{
	return meta->snd.q.cap - (size_t)(meta->snd.end - meta->snd.una);
}

/*
 * Double the send ring while the app keeps it at least half full and the
 * peer's window would take more than half of it in flight: then the ring,
 * not the path or the peer, would limit the connection.  With a small
 * window (a slow reader on the other side) the ring stays at twice it.
 */
static void snd_grow(struct mps_meta *meta)
{
	struct mps_meta_snd *snd = &meta->snd;
	size_t used = (size_t)(snd->end - snd->una);
	size_t cap = snd->q.cap, ncap;
	uint64_t wnd = mps_seq_after(snd->wnd_end, snd->una) ? snd->wnd_end - snd->una : 0;

	if (cap >= snd->max)
		return;
	if (cap && (used < cap / 2 || wnd <= cap / 2))
		return;
	ncap = cap ? cap * 2 : MPS_RING_MIN;
	if (ncap > snd->max)
		ncap = snd->max;
	/* a failure keeps the ring as it is: the app waits for acks */
	mps_ring_resize(&snd->q, ncap, used, NULL);
}

void mps_meta_snd_reserve(struct mps_meta *meta, size_t want)
{
	struct mps_meta_snd *snd = &meta->snd;
	uint64_t wnd = mps_seq_after(snd->wnd_end, snd->una) ? snd->wnd_end - snd->una : 0;
	size_t ncap = MPS_RING_MIN;

	if (snd->q.cap || snd->end != snd->una)
		return;
	while (ncap < want && ncap * 2 <= snd->max && ncap < wnd)
		ncap *= 2;
	if (ncap > snd->max)
		ncap = snd->max;
	/* a failure leaves the ring without memory: snd_grow tries again */
	mps_ring_resize(&snd->q, ncap, 0, NULL);
}

size_t mps_meta_snd_tail(struct mps_meta *meta, uint8_t **ptr)
{
	size_t space;

	snd_grow(meta);
	space = mps_meta_snd_space(meta);
	if (!space) {
		*ptr = NULL;
		return 0;
	}
	return mps_ring_span(&meta->snd.q, meta->snd.end, space, ptr);
}

void mps_meta_snd_commit(struct mps_meta *meta, size_t len)
{
	meta->snd.end += len;
}

bool mps_meta_snd_next(struct mps_meta *meta, size_t max, uint64_t *dsn,
		       size_t *len, bool *fin, bool *reinject)
{
	struct mps_meta_snd *snd = &meta->snd;
	struct mps_rangeset *rs = &snd->reinject;

	*fin = false;
	*reinject = false;
	/* reinjections first: they block the peer's in-order delivery */
	while (rs->n) {
		struct mps_range *r = &rs->r[0];
		uint64_t start = r->start;

		if (mps_seq_before(start, snd->una))
			start = snd->una;
		if (!mps_seq_before(start, r->end)) {
			memmove(&rs->r[0], &rs->r[1], (rs->n - 1) * sizeof(*r));
			rs->n--;
			continue;
		}
		*dsn = start;
		*len = r->end - start < max ? (size_t)(r->end - start) : max;
		r->start = start + *len;
		if (r->start == r->end) {
			memmove(&rs->r[0], &rs->r[1], (rs->n - 1) * sizeof(*r));
			rs->n--;
		}
		*reinject = true;
		snd->reinjected_bytes += *len;
		return true;
	}
	if (mps_seq_before(snd->nxt, snd->end) &&
	    mps_seq_before(snd->nxt, snd->wnd_end)) {
		uint64_t lim = mps_seq_before(snd->end, snd->wnd_end) ?
			       snd->end : snd->wnd_end;
		size_t n = (size_t)(lim - snd->nxt);

		*dsn = snd->nxt;
		*len = n < max ? n : max;
		snd->nxt += *len;
		/* ride the FIN on the last piece when the app already closed */
		if (snd->fin_queued && !snd->fin_sent && snd->nxt == snd->end) {
			*fin = true;
			snd->fin_sent = snd->fin_ever_sent = true;
		}
		return true;
	}
	if (snd->fin_queued && !snd->fin_sent && snd->nxt == snd->end) {
		*dsn = snd->end;
		*len = 0;
		*fin = true;
		snd->fin_sent = snd->fin_ever_sent = true;
		return true;
	}
	return false;
}

void mps_meta_snd_reinject(struct mps_meta *meta, uint64_t start, uint64_t end,
			   bool fin)
{
	struct mps_meta_snd *snd = &meta->snd;

	if (mps_seq_before(start, snd->una))
		start = snd->una;
	if (mps_seq_before(start, end) &&
	    mps_rangeset_add(&snd->reinject, start, end) < 0) {
		/* cannot track the hole: resend everything from una, which
		 * the receiver tolerates as duplicates */
		snd->reinject.n = 0;
		mps_rangeset_add(&snd->reinject, snd->una, snd->nxt);
	}
	if (fin && !snd->fin_acked)
		snd->fin_sent = false;
}

long mps_meta_snd_ack(struct mps_meta *meta, uint64_t ack, uint32_t window)
{
	struct mps_meta_snd *snd = &meta->snd;
	/* a FIN whose subflow died may be acked after all: what was ever
	 * sent bounds what the peer can acknowledge */
	uint64_t highest = snd->nxt + (snd->fin_ever_sent ? 1 : 0);
	uint64_t data_ack, wnd_end;
	long acked = 0;

	if (mps_seq_after(ack, highest))
		return -EPROTO;
	wnd_end = ack + window;
	if (mps_seq_after(wnd_end, snd->wnd_end))
		snd->wnd_end = wnd_end;
	if (!mps_seq_after(ack, snd->una))
		return 0;
	data_ack = mps_seq_after(ack, snd->end) ? snd->end : ack;
	acked = (long)(data_ack - snd->una);
	snd->una = data_ack;
	mps_ring_release(&snd->q, data_ack);
	if (snd->fin_ever_sent && ack == snd->end + 1) {
		snd->fin_acked = true;
		snd->fin_sent = true;	/* no resend pending any more */
	}
	/* acked bytes need no resend; a range starting at una still does */
	mps_rangeset_trim(&snd->reinject, snd->una);
	return acked;
}

bool mps_meta_snd_done(const struct mps_meta *meta)
{
	return meta->snd.fin_acked;
}

/* One past the highest byte stored in the receive ring. */
static uint64_t rcv_stored_end(const struct mps_meta_rcv *rcv)
{
	if (rcv->ooo.n && mps_seq_after(rcv->ooo.r[rcv->ooo.n - 1].end, rcv->nxt))
		return rcv->ooo.r[rcv->ooo.n - 1].end;
	return rcv->nxt;
}

/*
 * Make the receive ring hold [base, end).  The window already promised the
 * peer these bytes (end <= base + wnd <= base + rcvbuf), so this only
 * follows the data: memory is taken when bytes arrive, not when a window
 * is advertised.  Bytes stored (out of order ones too) move along.
 */
static int rcv_make_room(struct mps_meta *meta, uint64_t end)
{
	struct mps_meta_rcv *rcv = &meta->rcv;
	size_t need = (size_t)(end - rcv->q.base);
	size_t keep = (size_t)(rcv_stored_end(rcv) - rcv->q.base);
	size_t ncap = rcv->q.cap ? rcv->q.cap * 2 : MPS_RING_MIN;
	struct mps_ring_mem old = { NULL, 0 };
	int rc;

	if (need <= rcv->q.cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if (ncap > rcv->max)
		ncap = rcv->max;
	/* a SEND to the app may still read the old buffer: keep it alive
	 * until it completes (a buffer between the two is nobody's) */
	rc = mps_ring_resize(&rcv->q, ncap, keep, meta->ewr.pending ? &old : NULL);
	if (rc)
		return rc;
	if (rcv->q_busy.data)
		mps_ring_mem_free(&old);
	else
		rcv->q_busy = old;
	return 0;
}

long mps_meta_rcv_data(struct mps_meta *meta, uint64_t dsn, const uint8_t *buf,
		       size_t len, bool fin)
{
	struct mps_meta_rcv *rcv = &meta->rcv;
	uint64_t end = dsn + len;
	uint64_t right = rcv->q.base + rcv->wnd;
	uint64_t start;
	int rc;

	if (fin) {
		if (rcv->fin && rcv->fin_dsn != end)
			return -EPROTO;
		/* a stream cannot end before bytes it already delivered, nor
		 * inside bytes that arrived out of order */
		if (!rcv->fin && mps_seq_before(end, rcv->nxt))
			return -EPROTO;
		if (!rcv->fin && rcv->ooo.n &&
		    mps_seq_after(rcv->ooo.r[rcv->ooo.n - 1].end, end))
			return -EPROTO;
	}
	if (rcv->fin && mps_seq_after(end, rcv->fin_dsn))
		return -EPROTO;
	if (mps_seq_after(end, right))
		return -EPROTO;
	if (!mps_seq_after(end, rcv->nxt)) {
		if (fin && !rcv->fin) {
			rcv->fin = true;
			rcv->fin_dsn = end;
		}
		rcv->dup_bytes += len;
		return 0;
	}
	rc = rcv_make_room(meta, end);
	if (rc)
		return rc;
	if (fin && !rcv->fin) {
		rcv->fin = true;
		rcv->fin_dsn = end;
	}
	start = mps_seq_before(dsn, rcv->nxt) ? rcv->nxt : dsn;
	rcv->dup_bytes += start - dsn;
	mps_ring_write(&rcv->q, start, buf + (start - dsn), (size_t)(end - start));
	if (start == rcv->nxt) {
		rcv->nxt = end;
	} else {
		rc = mps_rangeset_add(&rcv->ooo, start, end);
		if (rc)
			return rc;
	}
	rcv->nxt = mps_rangeset_advance(&rcv->ooo, rcv->nxt);
	return (long)(end - start);
}

long mps_meta_rcv_early(struct mps_meta *meta, uint64_t dsn, const uint8_t *buf,
			size_t len, bool fin)
{
	uint64_t lim = meta->idsn_peer + MPS_EARLY_WINDOW;

	/* forward mode authenticates the client before anything reaches
	 * the destination: no byte may come ahead of it */
	if (!meta->early.on || meta->fwd.on)
		return -EPROTO;
	if (mps_seq_before(dsn, meta->idsn_peer) || mps_seq_after(dsn + len, lim))
		return -EPROTO;
	return mps_meta_rcv_data(meta, dsn, buf, len, fin);
}

size_t mps_meta_snd_early_room(const struct mps_meta *meta)
{
	uint64_t lim = meta->idsn_local + MPS_EARLY_WINDOW;

	return mps_seq_before(meta->snd.end, lim) ? (size_t)(lim - meta->snd.end) : 0;
}

size_t mps_meta_rcv_ready(struct mps_meta *meta, uint8_t **ptr)
{
	struct mps_meta_rcv *rcv = &meta->rcv;
	size_t n = (size_t)(rcv->nxt - rcv->q.base);

	if (!n) {
		*ptr = NULL;
		return 0;
	}
	return mps_ring_span(&rcv->q, rcv->q.base, n, ptr);
}

/*
 * The app took len bytes: the SEND that read them is over (an outgrown
 * buffer it read goes now).  Once the app has taken a whole window while
 * keeping the ring at most half full, the reader is not what limits the
 * connection: double the window (toward rcvbuf), which moves the right
 * edge by half the new window, so the next DATA_ACK goes out at once.  A
 * window-limited sender delivers one window per round trip, so the window
 * doubles once per round trip, as a slow start.  Memory follows the bytes
 * held, not the window, so a fast reader's ring stays small however large
 * the window; a slow reader keeps the ring full and the window where it
 * is.
 */
void mps_meta_rcv_consume(struct mps_meta *meta, size_t len)
{
	struct mps_meta_rcv *rcv = &meta->rcv;

	mps_ring_mem_free(&rcv->q_busy);
	mps_ring_release(&rcv->q, rcv->q.base + len);
	if (rcv->wnd >= rcv->max || rcv->nxt - rcv->q.base > rcv->wnd / 2)
		return;
	rcv->taken += len;
	if (rcv->taken < rcv->wnd)
		return;
	rcv->wnd = rcv->wnd * 2 < rcv->max ? rcv->wnd * 2 : rcv->max;
	rcv->taken = 0;
}

uint64_t mps_meta_rcv_ack(const struct mps_meta *meta)
{
	const struct mps_meta_rcv *rcv = &meta->rcv;

	return rcv->nxt + (rcv->fin && rcv->nxt == rcv->fin_dsn ? 1 : 0);
}

uint32_t mps_meta_rcv_window(const struct mps_meta *meta)
{
	const struct mps_meta_rcv *rcv = &meta->rcv;
	uint64_t right = rcv->q.base + rcv->wnd;
	uint64_t ack = mps_meta_rcv_ack(meta);
	uint64_t w;

	if (!mps_seq_after(right, ack))
		return 0;
	w = right - ack;
	return w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

bool mps_meta_rcv_done(const struct mps_meta *meta)
{
	return meta->rcv.fin && meta->rcv.q.base == meta->rcv.fin_dsn;
}

bool mps_meta_rcv_ack_due(const struct mps_meta *meta)
{
	const struct mps_meta_rcv *rcv = &meta->rcv;
	uint64_t ack = mps_meta_rcv_ack(meta);
	uint64_t wnd_end = ack + mps_meta_rcv_window(meta);
	uint64_t step = rcv->wnd / 8;

	if (rcv->fin && ack == rcv->fin_dsn + 1 && rcv->ack_sent != ack)
		return true;
	if (ack - rcv->ack_sent >= step)
		return true;
	/* a window that was nearly shut and opens must be told at once, or
	 * the sender stalls until the ack timer */
	if (wnd_end - rcv->wnd_end_sent >= rcv->wnd / 4)
		return true;
	return false;
}

void mps_meta_rcv_ack_sent(struct mps_meta *meta)
{
	meta->rcv.ack_sent = mps_meta_rcv_ack(meta);
	meta->rcv.wnd_end_sent = meta->rcv.ack_sent + mps_meta_rcv_window(meta);
}

uint32_t mps_meta_rcv_hello_window(const struct mps_meta *meta)
{
	const struct mps_meta_rcv *rcv = &meta->rcv;
	uint64_t right = rcv->q.base + rcv->wnd;
	uint64_t w = right - meta->idsn_peer;

	return w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

void mps_meta_rcv_hello_sent(struct mps_meta *meta)
{
	struct mps_meta_rcv *rcv = &meta->rcv;

	/* HELLO_ACK acknowledges nothing: early bytes, if any, are acked by
	 * the DATA_ACK that follows it (the ack moved since) */
	rcv->ack_sent = meta->idsn_peer;
	rcv->wnd_end_sent = meta->idsn_peer + mps_meta_rcv_hello_window(meta);
}

size_t mps_meta_snd_trim(struct mps_meta *meta)
{
	struct mps_meta_snd *snd = &meta->snd;
	size_t cap = snd->q.cap;

	if (!cap || snd->una != snd->end)
		return 0;
	mps_ring_free(&snd->q);
	if (!snd->reinject.n)
		mps_rangeset_free(&snd->reinject);
	return cap;
}

size_t mps_meta_rcv_trim(struct mps_meta *meta)
{
	struct mps_meta_rcv *rcv = &meta->rcv;
	size_t cap = rcv->q.cap;

	if (!cap || meta->ewr.pending || rcv->nxt != rcv->q.base || rcv->ooo.n)
		return 0;
	mps_ring_free(&rcv->q);
	mps_rangeset_free(&rcv->ooo);
	return cap;
}
