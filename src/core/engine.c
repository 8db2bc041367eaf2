/*
 * engine.c - the multipath engine: meta connection lifecycle, the data
 * path between the application end and the subflows, the server side of
 * the handshake, and the command queue that lets application threads
 * reach the engine thread.  Listeners live in listener.c.
 *
 * Everything here runs on the engine's one thread.  Work triggered by a
 * completion is not done inside the callback: the meta is put on a dirty
 * list and handled once per loop iteration (engine_flush), which batches
 * scheduling and DATA_ACKs and is the only place a meta is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "engine_int.h"
#include "log.h"
#include "netlink.h"
#include "path.h"
#include "pm.h"
#include "sched.h"
#include "tcpopt.h"
#include "sock.h"

__thread bool mps_engine_thread;

static void meta_free(struct mps_meta *meta);
static void meta_stop_timers(struct mps_meta *meta);

/* ------------------------------------------------------------------ */
/* dirty list                                                          */

void mps_engine_mark_dirty(struct mps_meta *meta)
{
	struct mps_engine *eng = meta->eng;

	if (meta->in_dirty)
		return;
	if (eng->n_dirty == eng->cap_dirty) {
		unsigned ncap = eng->cap_dirty ? eng->cap_dirty * 2 : 64;
		struct mps_meta **nd = realloc(eng->dirty, ncap * sizeof(*nd));

		if (!nd) {
			mps_err("out of memory for the dirty list");
			return;
		}
		eng->dirty = nd;
		eng->cap_dirty = ncap;
	}
	eng->dirty[eng->n_dirty++] = meta;
	meta->in_dirty = true;
}

/* ------------------------------------------------------------------ */
/* token hash (server side: JOIN finds its meta by our token)          */

struct mps_meta *mps_engine_meta_by_token(struct mps_engine *eng, uint32_t token)
{
	struct mps_meta *m;

	for (m = eng->tok_hash[token % MPS_TOKEN_BUCKETS]; m; m = m->tok_next)
		if (m->token_local == token)
			return m;
	return NULL;
}

static void token_unhash(struct mps_meta *meta)
{
	struct mps_meta **pp;

	for (pp = &meta->eng->tok_hash[meta->token_local % MPS_TOKEN_BUCKETS];
	     *pp; pp = &(*pp)->tok_next) {
		if (*pp == meta) {
			*pp = meta->tok_next;
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* plain-destination cache                                             */

void mps_engine_plain_cache_add(struct mps_engine *eng, const struct sockaddr *dest)
{
	pthread_mutex_lock(&eng->lock);
	memset(&eng->plain_cache[eng->plain_next], 0, sizeof(union mps_sockaddr));
	memcpy(&eng->plain_cache[eng->plain_next], dest, mps_addr_len(dest));
	eng->plain_next = (eng->plain_next + 1) % MPS_PLAIN_CACHE;
	if (eng->n_plain < MPS_PLAIN_CACHE)
		eng->n_plain++;
	pthread_mutex_unlock(&eng->lock);
}

bool mps_engine_dest_is_plain(struct mps_engine *eng, const struct sockaddr *dest)
{
	bool found = false;

	pthread_mutex_lock(&eng->lock);
	for (unsigned i = 0; i < eng->n_plain && !found; i++)
		found = mps_addr_equal(&eng->plain_cache[i].sa, dest);
	pthread_mutex_unlock(&eng->lock);
	return found;
}

/* ------------------------------------------------------------------ */
/* meta lifecycle                                                      */

static void meta_erd_cb(struct mps_op *op, int res);
static void meta_ewr_cb(struct mps_op *op, int res);
static void meta_econn_cb(struct mps_op *op, int res);
static void meta_advertise(struct mps_meta *meta, struct mps_subflow *sf);
static void meta_ack_timer(struct mps_timer *t);
static void meta_hs_timer(struct mps_timer *t);
static void meta_hold_timer(struct mps_timer *t);
static void meta_kx_timer(struct mps_timer *t);
static void meta_hold_end(struct mps_meta *meta);
static void meta_ping_connecting(struct mps_subflow *sf);

/* Meta ids are drawn by the engine and, for a client connect, by the
 * application thread that asks for it (mps_engine_connect), so the shim
 * knows the id before the meta exists: atomically, never 0. */
static unsigned meta_id_next(struct mps_engine *eng)
{
	unsigned id;

	do
		id = __atomic_add_fetch(&eng->next_meta_id, 1, __ATOMIC_RELAXED);
	while (!id);
	return id;
}

/* id 0: draw a new one */
static struct mps_meta *meta_new(struct mps_engine *eng, enum mps_meta_role role,
				 unsigned id)
{
	const struct mps_config *cfg = &eng->cfg;
	struct mps_meta *meta = calloc(1, sizeof(*meta));

	if (!meta)
		return NULL;
	if (mps_meta_seq_init(meta, (size_t)cfg->sndbuf, (size_t)cfg->rcvbuf)) {
		free(meta);
		return NULL;
	}
	meta->eng = eng;
	meta->role = role;
	meta->state = MPS_META_CONNECTING;
	meta->id = id ? id : meta_id_next(eng);
	meta->frame_size = (size_t)cfg->frame_size;
	meta->cfg = &eng->cfg;
	meta->sched = eng->sched;
	meta->pm = eng->pm;
	meta->efd = -1;
	meta->presyn.sfd = -1;
	meta->t_start_ns = mps_clock_ns();
	mps_op_init(&meta->erd, MPS_OP_RECV, meta_erd_cb, meta);
	mps_op_init(&meta->ewr, MPS_OP_SEND, meta_ewr_cb, meta);
	mps_op_init(&meta->econn, MPS_OP_POLL, meta_econn_cb, meta);
	mps_timer_init(&meta->ack_timer, meta_ack_timer, meta);
	mps_timer_init(&meta->hs_timer, meta_hs_timer, meta);
	mps_timer_init(&meta->hold_timer, meta_hold_timer, meta);
	mps_timer_init(&meta->kx_timer, meta_kx_timer, meta);
	mps_path_timers_init(meta);
	meta->next = eng->metas;
	if (eng->metas)
		eng->metas->prev = meta;
	eng->metas = meta;
	/* atomic: the exit drain reads it on the application's thread */
	__atomic_add_fetch(&eng->cnt.metas_open, 1, __ATOMIC_RELEASE);
	eng->cnt.metas_total++;
	return meta;
}

static int meta_keys_new(struct mps_meta *meta)
{
	struct mps_engine *eng = meta->eng;
	int rc;

	do {
		rc = mps_crypto_key_new(&meta->key_local);
		if (rc)
			return rc;
		mps_crypto_key_derive(meta->key_local, &meta->token_local,
				      &meta->idsn_local);
		/* a server token must be unique among its live metas */
	} while (meta->role == MPS_ROLE_S &&
		 mps_engine_meta_by_token(meta->eng, meta->token_local));
	if (meta->role == MPS_ROLE_S && eng->kx_spare_ok) {
		/* drawn after the previous HELLO's answer (meta_kx_timer) */
		meta->kx = eng->kx_spare;
		eng->kx_spare_ok = false;
		return 0;
	}
	return mps_crypto_x25519_new(&meta->kx);
}

void mps_engine_kx_spare(struct mps_engine *eng)
{
	if (!eng->kx_spare_ok && !mps_crypto_x25519_new(&eng->kx_spare))
		eng->kx_spare_ok = true;
}

static void engine_warm(struct mps_timer *t)
{
	struct mps_engine *eng = t->ctx;

	if (!eng->crypto_warm) {
		mps_crypto_warm();
		eng->crypto_warm = true;
	}
	mps_engine_kx_spare(eng);
}

void mps_engine_warm_later(struct mps_engine *eng)
{
	if (!eng->crypto_warm && !mps_timer_armed(&eng->warm_timer))
		mps_timer_arm(eng->loop, &eng->warm_timer, 0);
}

int mps_meta_join_key(struct mps_meta *meta)
{
	uint8_t shared[MPS_X25519_LEN];
	int rc;

	if (!meta->kx_pending)
		return 0;
	meta->kx_pending = false;
	rc = mps_crypto_x25519_shared(&meta->kx, meta->kx_peer, shared);
	if (!rc)
		rc = mps_crypto_join_key(shared, meta->key_peer, meta->key_local,
					 meta->join_key);
	mps_crypto_wipe(shared, sizeof(shared));
	return rc;
}

/* The HELLO's key, its exchange put off, fails it: the connection ends
 * as it would have at HELLO (its subflows with it). */
static void meta_kx_failed(struct mps_meta *meta, int rc)
{
	mps_warn("meta %u: key exchange failed: connection ended", meta->id);
	meta->eng->cnt.handshake_failed++;
	mps_meta_abort(meta, rc, MPS_CLOSE_PROTO, false);
}

/* The key exchange put off, after the client's first answer. */
static void meta_kx_timer(struct mps_timer *t)
{
	struct mps_meta *meta = t->ctx;
	int rc = mps_meta_join_key(meta);

	mps_engine_kx_spare(meta->eng);
	if (rc) {
		meta_kx_failed(meta, rc);
		return;
	}
	if (meta->state == MPS_META_ESTABLISHED && meta->n_sf &&
	    meta->sf[0]->state == MPS_SF_ACTIVE)
		meta_advertise(meta, meta->sf[0]);
}

/* Once HELLO_ACK and the first answer have been handed to the kernel: the
 * put-off exchange runs in the next loop iteration, after that SEND. */
static void meta_kx_later(struct mps_meta *meta)
{
	if (meta->kx_pending)
		mps_timer_arm(meta->eng->loop, &meta->kx_timer, 0);
}

int mps_meta_attach(struct mps_meta *meta, struct mps_subflow *sf)
{
	if (meta->n_sf >= MPS_MAX_SUBFLOWS)
		return -EMFILE;
	sf->meta = meta;
	sf->idx = meta->n_sf;
	sf->addr_id = (uint8_t)meta->sf_ever++;
	meta->sf[meta->n_sf++] = sf;
	/* a server's JOIN: the application may have chosen its congestion
	 * control since the first subflow */
	mps_tcpopt_subflow_apply(sf);
	return 0;
}

static unsigned meta_alive_subflows(const struct mps_meta *meta)
{
	unsigned n = 0;

	for (unsigned i = 0; i < meta->n_sf; i++)
		if (meta->sf[i]->state != MPS_SF_DEAD)
			n++;
	return n;
}

static bool meta_freeable(const struct mps_meta *meta)
{
	if (meta->state != MPS_META_CLOSED || meta->in_dirty)
		return false;
	if (meta->erd.pending || meta->ewr.pending || meta->econn.pending)
		return false;
	for (unsigned i = 0; i < meta->n_sf; i++) {
		const struct mps_subflow *sf = meta->sf[i];

		if (sf->state != MPS_SF_DEAD || !mps_subflow_idle(sf) || sf->sfd >= 0)
			return false;
	}
	return true;
}

void mps_meta_try_free(struct mps_meta *meta)
{
	mps_engine_mark_dirty(meta);
}

void mps_meta_subflow_gone(struct mps_meta *meta, struct mps_subflow *sf)
{
	struct mps_engine *eng = meta->eng;

	/* a subflow that never carried data (a failed or forged JOIN, a
	 * connect that failed) gives its slot back, or a peer could use up
	 * the subflow limit; its struct waits in the graveyard until no
	 * callback can hold it */
	if (!sf->was_active && meta->state != MPS_META_CLOSED) {
		for (unsigned i = sf->idx + 1; i < meta->n_sf; i++) {
			meta->sf[i - 1] = meta->sf[i];
			meta->sf[i - 1]->idx = i - 1;
		}
		meta->n_sf--;
		sf->meta = NULL;
		sf->lnext = eng->graveyard;
		eng->graveyard = sf;
	}
	mps_engine_mark_dirty(meta);
}

static void meta_cancel_app_ops(struct mps_meta *meta)
{
	struct mps_loop *loop = meta->eng->loop;

	if (meta->erd.pending)
		mps_loop_cancel(loop, &meta->erd);
	if (meta->ewr.pending)
		mps_loop_cancel(loop, &meta->ewr);
	if (meta->econn.pending)
		mps_loop_cancel(loop, &meta->econn);
}

/* A TCP backend learns of the abort as a reset: the close in meta_free
 * sends it.  SHUT_RD only wakes a pending recv; SHUT_WR would send a FIN
 * first, which the backend would take for an orderly end. */
static void meta_reset_backend(struct mps_meta *meta)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(meta->efd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	shutdown(meta->efd, SHUT_RD);
}

/*
 * An aborted connection's relay: its application must read ECONNRESET,
 * as after a TCP reset (engine.h, mps_engine_set_relay_reset).  Done once
 * no op on the relay is pending, or a pending recv could take the byte
 * that makes the reset.  A TCP backend (proxyd) gets a real reset.
 */
static void meta_relay_reset_maybe(struct mps_meta *meta)
{
	if (!meta->app_reset_due || meta->erd.pending || meta->ewr.pending ||
	    meta->efd < 0)
		return;
	meta->app_reset_due = false;
	if (!meta->app_gone && !mps_engine_relay_resettable(meta->eng, meta->efd, meta->id))
		return;
	close(meta->efd);
	meta->efd = -1;
}

bool mps_engine_relay_resettable(struct mps_engine *eng, int efd, unsigned meta_id)
{
	int inq = 0;

	/* a byte unread on our end makes its close a reset: one the app
	 * wrote, or one the hook puts there */
	if ((ioctl(efd, SIOCINQ, &inq) || inq <= 0) &&
	    !(eng->relay_reset && eng->relay_reset(eng->relay_reset_arg, meta_id))) {
		shutdown(efd, SHUT_RDWR);	/* no byte to leave: EOF */
		return false;
	}
	return true;
}

static void meta_end_app_abort(struct mps_meta *meta)
{
	int domain = 0;
	socklen_t len = sizeof(domain);

	if (meta->efd < 0)
		return;
	if (getsockopt(meta->efd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    domain != AF_UNIX) {
		meta_reset_backend(meta);
		return;
	}
	meta->app_reset_due = true;
	meta_relay_reset_maybe(meta);
}

static void drain_filler(struct mps_meta *meta)
{
	uint8_t buf[4096];
	size_t left = meta->filler;

	/* every filler byte was queued before the app got its end, so it
	 * is all readable now and precedes any byte the app writes */
	while (left) {
		ssize_t n = recv(meta->efd, buf, left < sizeof(buf) ? left : sizeof(buf),
				 MSG_DONTWAIT);

		if (n > 0) {
			left -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = meta->efd, .events = POLLIN };

			if (poll(&p, 1, 100) > 0)
				continue;
		}
		break;
	}
	meta->filler = 0;
}

void mps_meta_report_connect(struct mps_meta *meta, int err,
			     const struct sockaddr *local)
{
	void (*cb)(void *, int, const struct sockaddr *, bool) = meta->on_connect;

	if (!cb)
		return;
	meta->on_connect = NULL;
	/* outcome first, then writability: an app woken by POLLOUT must
	 * already read the final SO_ERROR */
	cb(meta->on_connect_arg, err, local, err == 0);
	drain_filler(meta);
}

void mps_meta_fail_connect(struct mps_meta *meta, int err)
{
	char a[MPS_ADDRSTRLEN];

	if (meta->state == MPS_META_CLOSED)
		return;
	mps_info("meta %u: connect to %s%s failed%s: %s", meta->id,
		 mps_addr_str(meta->fwd.on ? &meta->fwd.target.sa : &meta->dest.sa,
			      a, sizeof(a)),
		 meta->fwd.on ? " through a proxy" : "",
		 meta->early.reported ? " after early data (reset)" : "", strerror(-err));
	meta->err = err;
	meta->state = MPS_META_CLOSED;
	mps_timer_cancel(meta->eng->loop, &meta->hs_timer);
	mps_timer_cancel(meta->eng->loop, &meta->init_timer);
	mps_meta_report_connect(meta, err, NULL);
	for (unsigned i = 0; i < meta->n_sf; i++)
		mps_subflow_die(meta->sf[i], err, "meta failed");
	meta_cancel_app_ops(meta);
	/* early data: connect() has succeeded already, so the app learns
	 * of the refusal as TCP would of a reset after its SYN-ACK */
	if (meta->early.reported)
		meta_end_app_abort(meta);
	mps_engine_mark_dirty(meta);
}

void mps_meta_abort(struct mps_meta *meta, int err, uint8_t code, bool tell_peer)
{
	if (meta->state == MPS_META_CLOSED)
		return;
	if (meta->state == MPS_META_CONNECTING && meta->on_connect) {
		mps_meta_fail_connect(meta, err);
		return;
	}
	mps_info("meta %u: aborted (%s)", meta->id, strerror(-err));
	meta->err = err;
	meta->state = MPS_META_CLOSED;
	meta_stop_timers(meta);
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (tell_peer && sf->state == MPS_SF_ACTIVE) {
			struct mps_frame f = { .type = MPS_FT_FASTCLOSE };

			f.u.fastclose.key = meta->key_peer;
			f.u.fastclose.code = code;
			mps_subflow_send_frame(sf, &f);
			mps_subflow_close(sf);
		} else {
			mps_subflow_die(sf, err, "meta aborted");
		}
	}
	meta_cancel_app_ops(meta);
	meta_end_app_abort(meta);
	mps_engine_mark_dirty(meta);
}

static void meta_close_graceful(struct mps_meta *meta)
{
	mps_debug("meta %u: both directions done", meta->id);
	meta->state = MPS_META_CLOSED;
	meta_stop_timers(meta);
	for (unsigned i = 0; i < meta->n_sf; i++)
		mps_subflow_close(meta->sf[i]);
	meta_cancel_app_ops(meta);
	mps_engine_mark_dirty(meta);
}

static void meta_stop_timers(struct mps_meta *meta)
{
	struct mps_loop *loop = meta->eng->loop;

	mps_timer_cancel(loop, &meta->ack_timer);
	mps_timer_cancel(loop, &meta->hs_timer);
	mps_timer_cancel(loop, &meta->hold_timer);
	mps_timer_cancel(loop, &meta->kx_timer);
	mps_timer_cancel(loop, &meta->retry_timer);
	mps_timer_cancel(loop, &meta->init_timer);
	mps_timer_cancel(loop, &meta->live_timer);
}

static void meta_free(struct mps_meta *meta)
{
	struct mps_engine *eng = meta->eng;

	if (meta->was_established)
		mps_stats_meta_closed(eng, meta);
	meta_stop_timers(meta);
	mps_trim_unwatch(meta);
	if (meta->role == MPS_ROLE_S)
		token_unhash(meta);
	if (meta->efd >= 0)
		close(meta->efd);
	for (unsigned i = 0; i < meta->n_sf; i++)
		mps_subflow_free(meta->sf[i]);
	if (meta->prev)
		meta->prev->next = meta->next;
	else
		eng->metas = meta->next;
	if (meta->next)
		meta->next->prev = meta->prev;
	/* after its stats line: the exit drain waits for both */
	__atomic_sub_fetch(&eng->cnt.metas_open, 1, __ATOMIC_RELEASE);
	if (meta->was_established) {
		eng->cnt.bytes_sent += meta->snd.end - meta->idsn_local;
		eng->cnt.bytes_recv += meta->rcv.q.base - meta->idsn_peer;
		eng->cnt.reinjected_bytes += meta->snd.reinjected_bytes;
	}
	mps_meta_seq_free(meta);
	free(meta->own_cfg);
	free(meta);
}

/* ------------------------------------------------------------------ */
/* the data path                                                       */

static void meta_send_ack(struct mps_meta *meta)
{
	struct mps_subflow *sf;

	/* control frames go on the fastest path, room or not */
	mps_sched_refresh(meta);
	sf = mps_sched_fastest(meta, false, 0, NULL);
	struct mps_frame f = { .type = MPS_FT_DATA_ACK };

	if (!sf)
		return;
	f.u.data_ack.ack = mps_meta_rcv_ack(meta);
	f.u.data_ack.window = mps_meta_rcv_window(meta);
	if (mps_subflow_send_frame(sf, &f) == 0)
		mps_meta_rcv_ack_sent(meta);
	mps_live_kick(meta);
	meta->ack_now = false;
	mps_timer_cancel(meta->eng->loop, &meta->ack_timer);
}

static void meta_ack_timer(struct mps_timer *t)
{
	struct mps_meta *meta = t->ctx;

	meta->ack_now = true;
	mps_engine_mark_dirty(meta);
}

static void meta_maybe_ack(struct mps_meta *meta)
{
	const struct mps_meta_rcv *rcv = &meta->rcv;
	uint64_t ack = mps_meta_rcv_ack(meta);
	uint64_t wnd_end = ack + mps_meta_rcv_window(meta);

	if (meta->ack_now || mps_meta_rcv_ack_due(meta)) {
		meta_send_ack(meta);
		return;
	}
	if ((ack != rcv->ack_sent || wnd_end != rcv->wnd_end_sent) &&
	    !mps_timer_armed(&meta->ack_timer))
		mps_timer_arm(meta->eng->loop, &meta->ack_timer, MPS_ACK_DELAY_MS);
}

static void meta_schedule_pass(struct mps_meta *meta)
{
	uint64_t dsn;
	size_t len;
	bool fin, reinject;

	for (;;) {
		struct mps_subflow *out[MPS_MAX_SUBFLOWS];
		unsigned n = meta->sched->pick(meta, meta->frame_size, out,
					       MPS_MAX_SUBFLOWS);
		size_t max = meta->frame_size;

		if (!n)
			break;
		for (unsigned i = 0; i < n; i++)
			max = mps_subflow_frame_for(out[i], max);
		if (!mps_meta_snd_next(meta, max, &dsn, &len, &fin, &reinject))
			break;
		for (unsigned i = 0; i < n; i++) {
			if (mps_subflow_send_data(out[i], dsn, len, fin)) {
				mps_meta_snd_reinject(meta, dsn, dsn + len, fin);
				mps_subflow_die(out[i], -ENOMEM, "out of memory");
				continue;
			}
			if (reinject)
				out[i]->reinjected_bytes += len;
		}
		mps_live_kick(meta);
	}
}

static void meta_schedule(struct mps_meta *meta)
{
	meta_schedule_pass(meta);
	meta_hold_end(meta);
	/* new data held back by the peer's window: head-of-line blocked; the
	 * scheduler may queue a retransmission, which goes out at once */
	if (meta->sched->blocked && mps_seq_before(meta->snd.nxt, meta->snd.end) &&
	    !mps_seq_before(meta->snd.nxt, meta->snd.wnd_end) &&
	    mps_seq_before(meta->snd.una, meta->snd.nxt)) {
		meta->sched->blocked(meta);
		if (meta->snd.reinject.n)
			meta_schedule_pass(meta);
	}
}

/* Does the app end carry data now?  Once established, and on a client
 * sending early data from its connect() on, until a fallback takes the
 * relay over. */
static bool meta_app_open(const struct mps_meta *meta)
{
	if (meta->state == MPS_META_ESTABLISHED)
		return true;
	return meta->state == MPS_META_CONNECTING && meta->early.reported &&
	       !meta->early.fb_why;
}

/* What a read from the app end gave: bytes for the send ring, the app's
 * EOF (our DATA_FIN) or its reset. */
static void meta_app_read_done(struct mps_meta *meta, int res)
{
	if (res > 0) {
		mps_meta_snd_commit(meta, (size_t)res);
	} else if (res == 0 && meta->efd_reset) {
		mps_meta_abort(meta, -ECONNRESET, MPS_CLOSE_ABORT, true);
		return;
	} else if (res == 0) {
		meta->app_rd_eof = true;
		meta->snd.fin_queued = true;
	} else {
		mps_meta_abort(meta, res, MPS_CLOSE_ABORT, true);
		return;
	}
	mps_engine_mark_dirty(meta);
}

/*
 * The app end turned readable while the send ring had no memory: a new
 * connection's first answer, or the first bytes after an idle trim.  The
 * ring is sized to what waits, up to MPS_FIRST_READ_MAX, and read here,
 * so the scheduler frames it in this same pass (mps_engine_mark_dirty
 * flushes the meta again).  Through a RECV op it took one loop iteration
 * more and started at MPS_RING_MIN: a backend's first answer left proxyd
 * 0.2 ms later, in 4 KiB frames whose last segments were short (bench
 * S2, 256 KB).  Larger first reads cost more than they bring: 128 KiB of
 * fresh ring took 0.1 ms of page faults ahead of the first SEND, while
 * TCP's first flight is 14 KiB; the ring grows from there as before.
 */
static void meta_app_read_now(struct mps_meta *meta)
{
	int inq = 0;
	uint8_t *p;
	size_t n;
	ssize_t r;

	if (!ioctl(meta->efd, FIONREAD, &inq) && inq > 0)
		mps_meta_snd_reserve(meta, (size_t)inq < MPS_FIRST_READ_MAX ?
				     (size_t)inq : MPS_FIRST_READ_MAX);
	n = mps_meta_snd_tail(meta, &p);
	if (!n) {
		if (!meta->snd.q.cap)
			mps_meta_abort(meta, -ENOMEM, MPS_CLOSE_RESOURCE, true);
		return;
	}
	meta->app_readable = false;
	r = recv(meta->efd, p, n, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		/* nothing after all: the RECV of the next pass waits */
		mps_engine_mark_dirty(meta);
		return;
	}
	meta_app_read_done(meta, r < 0 ? -errno : (int)r);
}

static void meta_app_read(struct mps_meta *meta)
{
	uint8_t *p;
	size_t n;

	if (meta->erd.pending || meta->app_rd_eof || meta->efd < 0 ||
	    !meta_app_open(meta))
		return;
	/* before HELLO_ACK the ring takes the early window and no more: a
	 * fallback hands those bytes to a plain connection, and the app
	 * waits for the real window as it would for TCP's */
	if (meta->state == MPS_META_CONNECTING && !mps_meta_snd_early_room(meta))
		return;
	if (!meta->snd.q.cap && !meta->app_readable) {
		/* a send ring without memory (new or trimmed, idle): wait for
		 * the app's next byte without lending the kernel a buffer */
		meta->erd.kind = MPS_OP_POLL;
		if (mps_loop_poll(meta->eng->loop, &meta->erd, meta->efd, POLLIN))
			mps_meta_abort(meta, -EIO, MPS_CLOSE_RESOURCE, true);
		return;
	}
	if (!meta->snd.q.cap && meta->state == MPS_META_ESTABLISHED) {
		meta_app_read_now(meta);
		return;
	}
	n = mps_meta_snd_tail(meta, &p);
	if (!n) {
		/* send queue full: an ack will free room; but an empty ring
		 * that could not get memory would wait for nothing */
		if (!meta->snd.q.cap)
			mps_meta_abort(meta, -ENOMEM, MPS_CLOSE_RESOURCE, true);
		return;
	}
	if (meta->state == MPS_META_CONNECTING && n > mps_meta_snd_early_room(meta))
		n = mps_meta_snd_early_room(meta);
	meta->app_readable = false;
	meta->erd.kind = MPS_OP_RECV;
	meta->erd.fd = meta->efd;
	meta->erd.buf = p;
	meta->erd.len = n;
	if (mps_loop_submit(meta->eng->loop, &meta->erd))
		mps_meta_abort(meta, -EIO, MPS_CLOSE_RESOURCE, true);
}

/* A fallback after early data waited for the RECV from the app: what it
 * read belongs to the stream the plain connection carries. */
static void meta_erd_fallback(struct mps_meta *meta, int res)
{
	const char *why = meta->early.fb_why;

	if (meta->erd.kind == MPS_OP_RECV && res > 0) {
		mps_meta_snd_commit(meta, (size_t)res);
	} else if (meta->erd.kind == MPS_OP_RECV && res == 0) {
		meta->app_rd_eof = true;
		meta->snd.fin_queued = true;
	}
	meta->early.fb_why = NULL;
	mps_meta_fallback(meta, why);
}

static void meta_erd_cb(struct mps_op *op, int res)
{
	struct mps_meta *meta = op->ctx;

	if (meta->state == MPS_META_CONNECTING && meta->early.fb_why) {
		meta_erd_fallback(meta, res);
		return;
	}
	if (!meta_app_open(meta)) {
		meta_relay_reset_maybe(meta);
		mps_engine_mark_dirty(meta);
		return;
	}
	if (op->kind == MPS_OP_POLL) {
		/* readable, at EOF or in error: the RECV that follows says */
		meta->app_readable = true;
		mps_engine_mark_dirty(meta);
		return;
	}
	if (meta->snd_trim && res == -ECANCELED) {
		mps_trim_recv_cancelled(meta, res);
		return;
	}
	meta->snd_trim = false;
	meta_app_read_done(meta, res);
}

static void meta_app_write(struct mps_meta *meta)
{
	uint8_t *p;
	size_t n;

	if (meta->ewr.pending || meta->app_gone || meta->efd < 0)
		return;
	n = mps_meta_rcv_ready(meta, &p);
	if (n) {
		meta->ewr.fd = meta->efd;
		meta->ewr.buf = p;
		meta->ewr.len = n;
		if (mps_loop_submit(meta->eng->loop, &meta->ewr))
			mps_meta_abort(meta, -EIO, MPS_CLOSE_RESOURCE, true);
		return;
	}
	if (mps_meta_rcv_done(meta) && !meta->app_wr_shut) {
		/* the peer's DATA_FIN, delivered: the app reads EOF */
		shutdown(meta->efd, SHUT_WR);
		meta->app_wr_shut = true;
	}
}

static void meta_ewr_cb(struct mps_op *op, int res)
{
	struct mps_meta *meta = op->ctx;

	if (meta->state == MPS_META_CLOSED) {
		meta_relay_reset_maybe(meta);
		mps_engine_mark_dirty(meta);
		return;
	}
	if (res < 0) {
		/* the app closed with data still arriving: TCP would reset */
		meta->app_gone = true;
		mps_meta_abort(meta, res, MPS_CLOSE_ABORT, true);
		return;
	}
	mps_meta_rcv_consume(meta, (size_t)res);
	mps_engine_mark_dirty(meta);
}

int mps_meta_on_data(struct mps_meta *meta, const struct mps_frame *f)
{
	long rc;

	if (meta->state != MPS_META_ESTABLISHED)
		return meta->state == MPS_META_CLOSED ? 0 : -EPROTO;
	if (meta->checksum && !(f->flags & MPS_DATA_F_CRC) && f->u.data.len) {
		mps_warn("meta %u: DATA without CRC, checksums are on", meta->id);
		meta->eng->cnt.proto_errors++;
		return -EPROTO;
	}
	rc = mps_meta_rcv_data(meta, f->u.data.dsn, f->u.data.payload,
			       f->u.data.len, f->flags & MPS_DATA_F_FIN);
	if (rc == -ENOMEM) {
		mps_warn("meta %u: no memory for received data", meta->id);
		return (int)rc;
	}
	if (rc < 0) {
		mps_warn("meta %u: DATA outside the window or contradicting FIN",
			 meta->id);
		meta->eng->cnt.proto_errors++;
		return (int)rc;
	}
	if (f->flags & MPS_DATA_F_FIN)
		meta->ack_now = true;
	mps_engine_mark_dirty(meta);
	return 0;
}

void mps_meta_on_ack(struct mps_meta *meta, uint64_t ack, uint32_t window)
{
	long acked;

	if (meta->state != MPS_META_ESTABLISHED)
		return;
	acked = mps_meta_snd_ack(meta, ack, window);
	if (acked < 0) {
		meta->eng->cnt.proto_errors++;
		return;
	}
	if (acked > 0 || meta->snd.fin_acked)
		for (unsigned i = 0; i < meta->n_sf; i++)
			mps_subflow_map_ack(meta->sf[i], meta->snd.una +
					    (meta->snd.fin_acked ? 1 : 0));
	mps_engine_mark_dirty(meta);
}

/*
 * A meta whose subflows all failed is not given up at once: a client
 * path waits for its retry, and a server waits for the client's JOIN.
 * For as long as a TCP connection would wait (subflow_timeout, or
 * connect_timeout when that is off), data stays queued.
 */
static void meta_orphan_timer(struct mps_timer *t)
{
	struct mps_meta *meta = t->ctx;

	mps_engine_mark_dirty(meta);
}

static bool meta_orphan_wait(struct mps_meta *meta)
{
	const struct mps_config *cfg = &meta->eng->cfg;
	uint64_t grace_ms = (uint64_t)(cfg->subflow_timeout_ms ?
				       cfg->subflow_timeout_ms : cfg->connect_timeout_ms);
	uint64_t now = mps_clock_ns();

	if (!meta->orphan_since_ns) {
		meta->orphan_since_ns = now;
		mps_info("meta %u: no live subflow, waiting up to %llu ms for one",
			 meta->id, (unsigned long long)grace_ms);
		mps_timer_init(&meta->hs_timer, meta_orphan_timer, meta);
		mps_timer_arm(meta->eng->loop, &meta->hs_timer, grace_ms);
	}
	return now - meta->orphan_since_ns < grace_ms * 1000000u;
}

/* Once per loop iteration for every meta that saw activity. */
static void meta_flush(struct mps_meta *meta)
{
	if (meta_app_open(meta) && meta->state == MPS_META_CONNECTING) {
		/* early data: the initial subflow alone, nothing to ack yet */
		mps_early_client_send(meta);
		meta_app_read(meta);
		return;
	}
	if (meta->state == MPS_META_ESTABLISHED) {
		if (meta->orphan_since_ns && meta_alive_subflows(meta)) {
			meta->orphan_since_ns = 0;
			mps_timer_cancel(meta->eng->loop, &meta->hs_timer);
		}
		meta_app_write(meta);
		meta_schedule(meta);
		meta_maybe_ack(meta);
		meta_app_read(meta);
		mps_trim_watch(meta);
		if (mps_meta_snd_done(meta) && mps_meta_rcv_done(meta) &&
		    meta->app_wr_shut &&
		    meta->rcv.ack_sent == mps_meta_rcv_ack(meta)) {
			meta_close_graceful(meta);
		} else if (!meta_alive_subflows(meta) && meta_orphan_wait(meta)) {
			/* a path may come back or a JOIN arrive: wait a while */
		} else if (!meta_alive_subflows(meta)) {
			mps_info("meta %u: every subflow failed (snd %s, rcv %s)", meta->id,
				 mps_meta_snd_done(meta) ? "done" : "open",
				 mps_meta_rcv_done(meta) ? "done" : "open");
			mps_debug("meta %u: una %llu nxt %llu end %llu fin %d/%d/%d rcv nxt %llu base %llu fin %d@%llu ack_sent %llu shut %d",
				  meta->id, (unsigned long long)meta->snd.una,
				  (unsigned long long)meta->snd.nxt,
				  (unsigned long long)meta->snd.end, meta->snd.fin_queued,
				  meta->snd.fin_sent, meta->snd.fin_acked,
				  (unsigned long long)meta->rcv.nxt,
				  (unsigned long long)meta->rcv.q.base, meta->rcv.fin,
				  (unsigned long long)meta->rcv.fin_dsn,
				  (unsigned long long)meta->rcv.ack_sent, meta->app_wr_shut);
			mps_meta_abort(meta, -ECONNRESET, MPS_CLOSE_ABORT, false);
		}
	}
}

static void engine_count_drain(struct mps_engine *eng)
{
	int n = (int)mps_pump_pending_out(eng);

	for (struct mps_meta *m = eng->metas; m; m = m->next)
		if (m->state != MPS_META_CLOSED && !m->snd.fin_acked)
			n++;
	__atomic_store_n(&eng->drain_pending, n, __ATOMIC_RELEASE);
}

static void engine_flush(void *ctx)
{
	struct mps_engine *eng = ctx;

	/* entries appended while we walk are handled in this same pass */
	for (unsigned i = 0; i < eng->n_dirty; i++) {
		struct mps_meta *meta = eng->dirty[i];

		meta->in_dirty = false;
		meta_flush(meta);
		if (meta_freeable(meta))
			meta_free(meta);
	}
	eng->n_dirty = 0;
	while (eng->graveyard) {
		struct mps_subflow *sf = eng->graveyard;

		eng->graveyard = sf->lnext;
		mps_subflow_free(sf);
	}
	if (eng->draining)
		engine_count_drain(eng);
}

/* ------------------------------------------------------------------ */
/* client side                                                         */

void mps_meta_established(struct mps_meta *meta)
{
	char a[MPS_ADDRSTRLEN];
	/* a client's first subflow won the race of initial.c */
	struct mps_subflow *sf0 = meta->role == MPS_ROLE_C ? meta->paths[0].sf :
				  meta->sf[0];

	meta->state = MPS_META_ESTABLISHED;
	meta->was_established = true;
	meta->ack_now = true;	/* tell the peer our window at once */
	mps_info("meta %u: established to %s (%s, scheduler %s%s)", meta->id,
		 mps_addr_str(&meta->dest.sa, a, sizeof(a)),
		 meta->pm->name, meta->sched->name,
		 meta->early.reported ? ", after early data" : "");
	mps_meta_report_connect(meta, 0, &sf0->local.sa);
	if (meta->role == MPS_ROLE_C) {
		/* the first frame after HELLO_ACK, before any new DATA: to the
		 * server it ends the early data of the initial subflow */
		meta_send_ack(meta);
		/* it speaks mpshim: early data next time (early_data = auto) */
		if (!meta->fwd.on)
			mps_early_known_add(meta->eng, &meta->dest.sa);
		meta->pm->established(meta);
	}
	mps_live_start(meta);
	mps_engine_mark_dirty(meta);
}

struct fallback_ctx {
	void (*cb)(void *, int, const struct sockaddr *, bool);
	void *arg;
	int efd;
	size_t filler;
	struct mps_engine *eng;
	unsigned meta_id;
	bool early;		/* connect() had succeeded already */
};

static void fallback_done(void *arg, int err, const struct sockaddr *local,
			  bool multipath)
{
	struct fallback_ctx *fb = arg;
	struct mps_engine *eng = fb->eng;
	uint8_t buf[4096];
	size_t left = fb->filler;

	if (fb->cb)
		fb->cb(fb->arg, err, local, multipath);
	else if (!err && eng->relay_settled)
		eng->relay_settled(eng->relay_settled_arg, fb->meta_id, false, local);
	while (left) {
		ssize_t n = recv(fb->efd, buf, left < sizeof(buf) ? left : sizeof(buf),
				 MSG_DONTWAIT);

		if (n <= 0)
			break;
		left -= (size_t)n;
	}
	if (err) {
		/* after early data the app has a connection that now fails:
		 * a reset, as TCP's to a peer that went away */
		if (fb->early)
			mps_engine_relay_resettable(eng, fb->efd, fb->meta_id);
		close(fb->efd);
	}
	free(fb);
}

/*
 * The plain connection of a fallback, relaying meta->efd.  After early
 * data the send ring holds what the app wrote so far, none of it
 * acknowledged (a plain server never acks): it goes first, byte for byte,
 * and the relay goes on from the next byte the app writes.  The ring holds
 * at most the early window, which fits the pump's buffer.
 */
static int meta_fallback_pump(struct mps_meta *meta, const struct sockaddr *to,
			      const char *why, struct fallback_ctx *fb)
{
	const struct mps_meta_snd *snd = &meta->snd;
	size_t pre_len = meta->early.reported ? (size_t)(snd->end - snd->una) : 0;
	uint8_t *pre = NULL;
	int rc;

	if (pre_len) {
		pre = malloc(pre_len);
		if (!pre)
			return -ENOMEM;
		mps_ring_read(&snd->q, snd->una, pre, pre_len);
	}
	rc = mps_pump_connect(meta->eng, meta->efd, to, pre, pre_len, why,
			      fallback_done, fb, meta->id);
	free(pre);
	return rc;
}

void mps_meta_fallback(struct mps_meta *meta, const char *why)
{
	struct mps_engine *eng = meta->eng;
	struct fallback_ctx *fb;
	char a[MPS_ADDRSTRLEN];
	/* through a forward proxy: proxy_fallback decides, the plain
	 * connection goes to the destination, and the proxy may work for
	 * the next one, so nothing is cached */
	const union mps_sockaddr *to = meta->fwd.on ? &meta->fwd.target : &meta->dest;
	bool direct = meta->fwd.on ? mps_config_proxy_direct(meta->cfg) : eng->cfg.fallback;
	int rc;

	if (meta->state != MPS_META_CONNECTING || meta->early.fb_why)
		return;
	mps_timer_cancel(eng->loop, &meta->hs_timer);
	if (!direct) {
		mps_info("meta %u: %s, and %s", meta->id, why,
			 meta->fwd.on ? "proxy_fallback is fail" : "fallback is off");
		mps_meta_fail_connect(meta, -ECONNREFUSED);
		return;
	}
	if (meta->early.reported && meta->erd.pending) {
		/* the app's bytes go to the plain connection in order: wait
		 * for what this RECV takes (meta_erd_fallback comes back) */
		meta->early.fb_why = why;
		mps_loop_cancel(eng->loop, &meta->erd);
		for (unsigned i = 0; i < meta->n_sf; i++)
			mps_subflow_die(meta->sf[i], 0, "fallback");
		return;
	}
	mps_info("meta %u: %s: %s carried as plain TCP%s", meta->id, why,
		 mps_addr_str(&to->sa, a, sizeof(a)),
		 meta->early.reported ? ", early data first" : "");
	eng->cnt.fallbacks++;
	if (!meta->fwd.on) {
		mps_engine_plain_cache_add(eng, &meta->dest.sa);
		mps_early_known_del(eng, &meta->dest.sa);
	}
	fb = malloc(sizeof(*fb));
	if (!fb) {
		mps_meta_fail_connect(meta, -ENOMEM);
		return;
	}
	fb->cb = meta->on_connect;
	fb->arg = meta->on_connect_arg;
	fb->efd = meta->efd;
	fb->filler = meta->filler;
	fb->eng = eng;
	fb->meta_id = meta->id;
	fb->early = meta->early.reported;
	rc = meta_fallback_pump(meta, &to->sa, why, fb);
	if (rc) {
		free(fb);
		mps_meta_fail_connect(meta, rc);
		return;
	}
	/* the relay end now belongs to the pump */
	meta->efd = -1;
	meta->on_connect = NULL;
	snprintf(meta->fallback, sizeof(meta->fallback), "%s", why);
	meta->state = MPS_META_CLOSED;
	for (unsigned i = 0; i < meta->n_sf; i++)
		mps_subflow_die(meta->sf[i], 0, "fallback");
	mps_engine_mark_dirty(meta);
}

static void meta_hs_timer(struct mps_timer *t)
{
	struct mps_meta *meta = t->ctx;

	/* server: the backend did not answer its connect in time */
	if (meta->state == MPS_META_CONNECTING && meta->role == MPS_ROLE_S) {
		if (meta->econn.pending)
			mps_loop_cancel(meta->eng->loop, &meta->econn);
	}
}

/* Early data in, or still in sf's socket (the backend's connect can
 * complete before the subflow's next read). */
static bool meta_early_seen(const struct mps_meta *meta, const struct mps_subflow *sf)
{
	int inq = 0;

	if (meta->rcv.nxt != meta->idsn_peer || meta->rcv.fin || sf->ilen)
		return true;
	return !ioctl(sf->sfd, FIONREAD, &inq) && inq > 0;
}

/* HELLO_ACK waits for the backend: this PING tells the client that it
 * reached mpshim, so a slow backend is not mistaken for a peer that does
 * not speak the protocol (its hello_timeout gives way to connect_timeout) */
static void meta_ping_connecting(struct mps_subflow *sf)
{
	struct mps_frame ping = { .type = MPS_FT_PING };

	ping.u.ping.ts = mps_clock_ns() / 1000;
	mps_subflow_send_frame(sf, &ping);
}

/*
 * End of the hold of an initial subflow (mps_subflow_hold) after
 * hello_hold.  proxyd's: the backend has not connected, or not answered
 * the early data; still connecting, the client gets the PING.  A client's
 * (TCP Fast Open): the app wrote nothing yet, HELLO leaves alone.
 */
static void meta_hold_timer(struct mps_timer *t)
{
	struct mps_meta *meta = t->ctx;

	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (!sf->hold)
			continue;
		if (meta->role == MPS_ROLE_S && meta->state == MPS_META_CONNECTING)
			meta_ping_connecting(sf);
		mps_subflow_release(sf);
	}
	if (meta->state == MPS_META_ESTABLISHED)
		meta_kx_later(meta);
}

/*
 * After a pass of the established meta's flush: the first DATA joins what
 * the hold kept (one SEND, full segments); without early data no answer
 * is on its way, and HELLO_ACK goes at once.  Decided here, after every
 * completion of the loop iteration, not when the backend's connect
 * completes: the early DATA may be in a completion behind it.
 */
static void meta_hold_end(struct mps_meta *meta)
{
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (sf->hold && (sf->bytes_sent || !meta_early_seen(meta, sf))) {
			mps_timer_cancel(meta->eng->loop, &meta->hold_timer);
			mps_subflow_release(sf);
			meta_kx_later(meta);
		}
	}
}

struct connect_cmd {
	union mps_sockaddr dest;
	int efd;
	size_t filler;
	mps_connect_cb cb;
	void *arg;
	unsigned id;
	struct mps_presyn ps;
};

/* A `policy` entry for this destination: the connection gets its own
 * copy of the configuration with that entry's settings. */
static void apply_policy(struct mps_meta *meta)
{
	struct mps_engine *eng = meta->eng;
	struct mps_config *own = malloc(sizeof(*own));
	const struct mps_sched_ops *sched;
	const struct mps_pm_ops *pm;

	if (!own || !mps_config_for_dest(&eng->cfg, &meta->dest.sa, own)) {
		free(own);
		return;
	}
	sched = mps_sched_find(own->scheduler);
	pm = mps_pm_select(own);
	if (!sched || !pm) {
		free(own);
		return;
	}
	meta->own_cfg = own;
	meta->cfg = own;
	meta->sched = sched;
	meta->pm = pm;
	meta->checksum = own->checksum;
	mps_debug("meta %u: a policy applies (scheduler %s, %s)", meta->id,
		  sched->name, pm->name);
}

static void cmd_connect(struct mps_engine *eng, void *arg)
{
	struct connect_cmd *cc = arg;
	struct mps_meta *meta;
	int rc;

	meta = meta_new(eng, MPS_ROLE_C, cc->id);
	if (!meta) {
		rc = -ENOMEM;
		goto fail;
	}
	/* mps_initial_start takes it as its first attempt or closes it */
	meta->presyn = cc->ps;
	meta->efd = cc->efd;
	meta->dest = cc->dest;
	meta->filler = cc->filler;
	meta->on_connect = cc->cb;
	meta->on_connect_arg = cc->arg;
	meta->checksum = eng->cfg.checksum;
	apply_policy(meta);
	free(cc);
	cc = NULL;
	rc = mps_forward_client_setup(meta);
	if (rc < 0) {
		mps_initial_presyn_drop(meta);
		mps_forward_unreachable(meta, -ECONNREFUSED, "proxy unusable");
		return;
	}
	meta->early.on = mps_early_client_wanted(meta);
	/* The SYN leaves first (for a process's first connection, from
	 * the application's thread: presyn.c) and the keys are drawn while
	 * it is out: HELLO needs them only once the handshake completes (a
	 * later turn of the loop), and a process's first X25519 key costs
	 * libcrypto 0.85 ms of one-time setup here, which would otherwise
	 * delay every short-lived program's connection. */
	if (mps_initial_start(meta))
		return;		/* failed, and the meta with it */
	rc = meta_keys_new(meta);
	if (rc) {
		mps_meta_fail_connect(meta, rc);
		return;
	}
	/* HELLO_ACK's half of the handshake (X25519 derive, HMAC) meets
	 * libcrypto's first-use setup too, 0.1 to 0.2 ms on the way to the
	 * first byte of the response.  Once per engine, and only while the
	 * SYN is still out: where it was answered at once (loopback) the
	 * wait would delay HELLO instead. */
	if (!eng->crypto_warm && !mps_initial_answered(meta)) {
		mps_crypto_warm();
		eng->crypto_warm = true;
	}
	return;
fail:
	if (cc->ps.sfd >= 0)
		close(cc->ps.sfd);
	cc->cb(cc->arg, rc, NULL, false);
	close(cc->efd);
	free(cc);
}

int mps_engine_subflow_open(struct mps_meta *meta, const union mps_sockaddr *local,
			    const union mps_sockaddr *remote, bool backup,
			    struct mps_subflow **out)
{
	struct mps_subflow *sf;
	int rc;

	if (meta->state != MPS_META_ESTABLISHED)
		return -ENOTCONN;
	sf = mps_subflow_new(meta->eng, -1);
	if (!sf)
		return -ENOMEM;
	rc = mps_meta_attach(meta, sf);
	if (rc) {
		mps_subflow_free(sf);
		return rc;
	}
	sf->backup = backup;	/* carried in the JOIN */
	rc = mps_subflow_connect(sf, local, remote);
	if (rc) {
		char a[MPS_ADDRSTRLEN];

		mps_debug("meta %u: subflow to %s not opened: %s", meta->id,
			  mps_addr_str(&remote->sa, a, sizeof(a)), strerror(-rc));
		/* never usable: give the slot back at once */
		meta->n_sf--;
		mps_subflow_free(sf);
		return rc;
	}
	*out = sf;
	return 0;
}

void mps_meta_subflow_lost(struct mps_meta *meta, struct mps_subflow *sf, int err,
			   const char *why)
{
	struct mps_frame f = { .type = MPS_FT_REMOVE_ADDR };
	/* tell the peer on a path that works, so it stops sending on this one
	 * now instead of after its own liveness check */
	struct mps_subflow *other = mps_sched_fastest(meta, false, 0, sf);

	if (other) {
		f.u.remove_addr.addr_id = sf->addr_id;
		mps_subflow_send_frame(other, &f);
	}
	mps_subflow_die(sf, err, why);
}

void mps_engine_iface_down(struct mps_engine *eng, unsigned ifindex,
			   const struct sockaddr *addr)
{
	for (struct mps_meta *m = eng->metas; m; m = m->next) {
		if (m->state != MPS_META_ESTABLISHED)
			continue;
		for (unsigned i = 0; i < m->n_sf; i++) {
			struct mps_subflow *sf = m->sf[i];

			if (sf->state == MPS_SF_DEAD || sf->state == MPS_SF_CLOSING)
				continue;
			/* Looked up now, not when the subflow connected, where
			 * getifaddrs cost every connection 0.1 ms on its way to
			 * HELLO: a link that goes down keeps its IPv4 addresses,
			 * and addresses that go with it are each announced
			 * (RTM_DELADDR), which finds the subflow by address. */
			if (ifindex && !sf->ifindex)
				sf->ifindex = mps_addr_ifindex(&sf->local.sa);
			if ((ifindex && sf->ifindex == ifindex) ||
			    (addr && sf->local.sa.sa_family == addr->sa_family &&
			     mps_addr_same_host(&sf->local.sa, addr))) {
				mps_info("meta %u: subflow %u: %s went away", m->id, sf->idx,
					 ifindex ? "interface" : "address");
				mps_meta_subflow_lost(m, sf, -ENETDOWN, "interface down");
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* server side                                                         */

/* O(1): thousands of clients may be classifying at once (a burst of new
 * connections), and each one leaves the list. */
void mps_engine_unclassified_unlink(struct mps_subflow *sf)
{
	struct mps_engine *eng = sf->eng;

	if (sf->lprev)
		sf->lprev->lnext = sf->lnext;
	else if (eng->unclassified == sf)
		eng->unclassified = sf->lnext;
	else
		return;		/* not on the list (any more) */
	if (sf->lnext)
		sf->lnext->lprev = sf->lprev;
	sf->lnext = sf->lprev = NULL;
	if (sf->owes_backend) {
		sf->owes_backend = false;
		eng->nofile_owed--;
	}
	if (sf->listener && sf->listener->ho)
		mps_listener_classified(sf->listener);
}

int mps_meta_server_hello(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_engine *eng = sf->eng;
	const struct mps_listener *lst = sf->listener;
	bool target = f->flags & MPS_HELLO_F_TARGET;
	uint8_t shared[MPS_X25519_LEN];
	struct mps_meta *meta;
	bool backend;
	int rc;

	meta = meta_new(eng, MPS_ROLE_S, 0);
	if (!meta)
		return -ENOMEM;
	mps_engine_unclassified_unlink(sf);
	mps_timer_cancel(eng->loop, &sf->timer);
	sf->initial = true;
	mps_meta_attach(meta, sf);
	sf->state = MPS_SF_ACTIVE;
	sf->was_active = true;
	meta->key_peer = f->u.hello.key;
	mps_crypto_key_derive(meta->key_peer, &meta->token_peer, &meta->idsn_peer);
	meta->early.syn_data = mps_sock_syn_data(sf->sfd);
	meta->dest = lst->ho ? sf->remote : lst->backend;
	backend = !lst->ho && !target && lst->backend.sa.sa_family;
	if (backend) {
		/* The backend's SYN first.  The X25519 exchange and the join
		 * key (0.1 to 0.2 ms here) are needed by the first JOIN and
		 * ADD_ADDR only: they wait until the backend's first answer
		 * has left (meta_kx_later), with our key pair drawn after the
		 * previous HELLO (kx_spare).  A key that fails the exchange
		 * then ends the connection and resets the backend's, as a
		 * client that connected and aborted would. */
		mps_meta_server_connect(meta, sf);
		if (meta->state != MPS_META_CONNECTING)
			return 0;	/* refused at once, FASTCLOSE sent */
	}
	rc = meta_keys_new(meta);
	if (!rc && backend) {
		memcpy(meta->kx_peer, f->u.hello.pub, MPS_X25519_LEN);
		meta->kx_pending = true;
	} else if (!rc) {
		rc = mps_crypto_x25519_shared(&meta->kx, f->u.hello.pub, shared);
		if (!rc)
			rc = mps_crypto_join_key(shared, meta->key_peer, meta->key_local,
						 meta->join_key);
		mps_crypto_wipe(shared, sizeof(shared));
	}
	meta->checksum = (f->flags & MPS_HELLO_F_CRC) || eng->cfg.checksum;
	meta->tok_next = eng->tok_hash[meta->token_local % MPS_TOKEN_BUCKETS];
	eng->tok_hash[meta->token_local % MPS_TOKEN_BUCKETS] = meta;
	if (rc) {
		mps_warn("meta %u: HELLO refused: key exchange failed", meta->id);
		eng->cnt.handshake_failed++;
		mps_meta_abort(meta, rc, MPS_CLOSE_PROTO, false);
		return 1;
	}
	/* both keys are known: early data may follow the HELLO at once */
	mps_meta_seq_start(meta);
	if (!target && (lst->ho || lst->backend.sa.sa_family))
		mps_early_server_hello(meta, sf, f);
	if (lst->ho && !target) {
		/* a shimmed server: the connection exists once the app has
		 * it queued, as a TCP connection does in the accept queue */
		int fd = mps_listener_handoff_meta(meta, sf);

		if (fd < 0) {
			meta->err = fd;
			meta_econn_cb(&meta->econn, fd);
			return 0;
		}
		meta->efd = fd;
		meta_econn_cb(&meta->econn, POLLOUT);
		return 0;
	}
	/* a named destination, or nowhere else to go: forward mode decides */
	if (target || !lst->backend.sa.sa_family)
		return mps_forward_server_hello(meta, sf, f);
	return 0;	/* the backend connect started above */
}

int mps_meta_server_connect(struct mps_meta *meta, struct mps_subflow *sf)
{
	struct mps_engine *eng = meta->eng;
	int fd, rc;

	/* the client's connect() returns only once the backend answered,
	 * so it sees the backend's refusal as its own */
	fd = mps_sock_connect_start(&meta->dest.sa, NULL);
	if (fd < 0) {
		rc = fd;
		goto refuse;
	}
	meta->efd = fd;
	rc = mps_loop_poll(eng->loop, &meta->econn, fd, POLLOUT);
	if (rc)
		goto refuse;
	if (eng->cfg.hello_hold_ms > 0) {
		/* what the client is told now waits for the backend's connect
		 * and, after early data, its first answer (meta_hold_timer) */
		mps_subflow_hold(sf);
		mps_timer_arm(eng->loop, &meta->hold_timer, (uint64_t)eng->cfg.hello_hold_ms);
	} else {
		meta_ping_connecting(sf);
	}
	mps_timer_arm(eng->loop, &meta->hs_timer, (uint64_t)eng->cfg.connect_timeout_ms);
	return 0;
refuse:
	meta->err = rc;
	meta_econn_cb(&meta->econn, rc);
	return 0;
}

static uint8_t errno_to_close_code(int err)
{
	switch (err) {
	case -ECONNREFUSED:
		return MPS_CLOSE_REFUSED;
	case -ETIMEDOUT:
	case -ECANCELED:
		return MPS_CLOSE_TIMEDOUT;
	case -ENETUNREACH:
	case -EHOSTUNREACH:
		return MPS_CLOSE_UNREACH;
	case -EMFILE:
	case -ENFILE:
	case -ENOMEM:
	case -ENOBUFS:
		return MPS_CLOSE_RESOURCE;
	default:
		return MPS_CLOSE_REFUSED;
	}
}

/* The address a subflow reached, as a listener or `advertise` names it
 * (a wildcard IPv6 listener sees IPv4 clients as v4-mapped). */
static void meta_local_addr(const struct mps_subflow *sf, union mps_sockaddr *out)
{
	mps_addr_unmap(&sf->local.sa, out);
}

/*
 * A connection that reached an instance behind a load balancer (it has
 * `advertise` addresses) through another address, the balancer's:
 *
 * - HELLO_ACK carries NOJOIN (returned here): a JOIN sent to that address
 *   could be balanced to another instance, which does not know the token,
 *   so the client joins the advertised addresses only;
 * - the initial subflow becomes a backup on this side: a balancer that
 *   terminates TCP (HAProxy in TCP mode) answers it from next door and
 *   buffers for the client's path, so its RTT says nothing about that
 *   path and the scheduler would pile data into the balancer.  It carries
 *   data until the client's direct subflows have joined, and again if
 *   they all fail.
 *
 * 0 for any other connection.
 */
uint8_t mps_meta_behind_lb(struct mps_meta *meta, struct mps_subflow *sf)
{
	const struct mps_config *cfg = meta->cfg;
	union mps_sockaddr here, a;

	if (!cfg->n_advertise)
		return 0;
	meta_local_addr(sf, &here);
	for (unsigned i = 0; i < cfg->n_advertise; i++)
		if (!mps_addr_parse(cfg->advertise[i], &a) && mps_addr_equal(&a.sa, &here.sa))
			return 0;
	sf->backup = true;
	return MPS_HELLO_F_NOJOIN;
}

/* One ADD_ADDR on sf: id and addr, authenticated with the join key. */
static void meta_add_addr_send(struct mps_meta *meta, struct mps_subflow *sf,
			       unsigned id, const struct sockaddr *addr)
{
	struct mps_frame f = { .type = MPS_FT_ADD_ADDR };
	uint8_t mac[32];

	if (mps_meta_join_key(meta) || mps_addr_to_frame(addr, &f.u.add_addr.addr) ||
	    mps_crypto_addr_hmac(meta->join_key, (uint8_t)id, f.u.add_addr.addr.family,
				 f.u.add_addr.addr.port, f.u.add_addr.addr.addr, mac))
		return;
	f.u.add_addr.addr_id = (uint8_t)id;
	memcpy(f.u.add_addr.hmac, mac, MPS_HMAC_TRUNC_LEN);
	mps_subflow_send_frame(sf, &f);
}

/*
 * Tell the client the server's other addresses (ADD_ADDR), so a client's
 * path manager can reach the server over each of them: the `advertise`
 * list when there is one (an instance behind a load balancer: its own
 * addresses, ids 1..n), else every other address proxyd listens on for
 * the same service (ids number the listeners from 1).  The address the
 * client reached, wildcard listeners and other address families are not
 * advertised.
 */
static void meta_advertise(struct mps_meta *meta, struct mps_subflow *sf)
{
	const struct mps_config *cfg = meta->cfg;
	union mps_sockaddr here, a;
	unsigned id = 0;

	meta_local_addr(sf, &here);
	if (cfg->n_advertise) {
		for (unsigned i = 0; i < cfg->n_advertise; i++) {
			if (mps_addr_parse(cfg->advertise[i], &a) ||
			    a.sa.sa_family != here.sa.sa_family ||
			    mps_addr_equal(&a.sa, &here.sa))
				continue;
			meta_add_addr_send(meta, sf, i + 1, &a.sa);
		}
		return;
	}
	for (struct mps_listener *lst = meta->eng->listeners; lst; lst = lst->next) {
		id++;
		if (lst->closed || mps_addr_is_any(&lst->addr.sa) ||
		    !mps_listener_same_service(lst, sf->listener) ||
		    lst->addr.sa.sa_family != sf->local.sa.sa_family ||
		    mps_addr_equal(&lst->addr.sa, &sf->local.sa))
			continue;
		meta_add_addr_send(meta, sf, id, &lst->addr.sa);
	}
}

static void meta_econn_cb(struct mps_op *op, int res)
{
	struct mps_meta *meta = op->ctx;
	struct mps_subflow *sf = meta->sf[0];
	struct mps_frame f = { .type = MPS_FT_HELLO_ACK };
	int err;

	mps_timer_cancel(meta->eng->loop, &meta->hs_timer);
	if (meta->state != MPS_META_CONNECTING) {
		mps_engine_mark_dirty(meta);
		return;
	}
	err = -mps_sock_connect_result(meta->efd, res);
	if (err == ECONNRESET) {
		/* a refused SYN says ECONNREFUSED: this backend accepted,
		 * then aborted.  Reading SO_ERROR cleared the reset, so its
		 * data reads to EOF: remember to end with a reset there */
		meta->efd_reset = true;
		err = 0;
	}
	if (err) {
		char a[MPS_ADDRSTRLEN];
		struct mps_frame fc = { .type = MPS_FT_FASTCLOSE };

		mps_warn("meta %u: backend %s: %s", meta->id,
			 mps_addr_str(&meta->dest.sa, a, sizeof(a)), strerror(err));
		fc.u.fastclose.key = meta->key_peer;
		fc.u.fastclose.code = errno_to_close_code(-err);
		meta->err = -err;
		meta->state = MPS_META_CLOSED;
		if (sf->state == MPS_SF_ACTIVE) {
			mps_subflow_send_frame(sf, &fc);
			mps_subflow_close(sf);
		}
		mps_engine_mark_dirty(meta);
		return;
	}
	if (meta->fwd.on) {
		/* HELLO_ACK went out as the challenge; the proof ends it */
		if (mps_forward_server_ready(meta, sf)) {
			mps_meta_abort(meta, -ENOMEM, MPS_CLOSE_RESOURCE, false);
			return;
		}
	} else {
		f.flags = (uint8_t)((meta->checksum ? MPS_HELLO_F_CRC : 0) |
				    mps_meta_behind_lb(meta, sf));
		f.u.hello_ack.version = MPS_PROTO_VERSION;
		f.u.hello_ack.key = meta->key_local;
		memcpy(f.u.hello_ack.pub, meta->kx.pub, MPS_X25519_LEN);
		/* counted from idsn_c, early data or not */
		f.u.hello_ack.window = mps_meta_rcv_hello_window(meta);
		if (mps_subflow_send_frame(sf, &f)) {
			mps_meta_abort(meta, -ENOMEM, MPS_CLOSE_RESOURCE, false);
			return;
		}
		mps_early_server_acked(meta);
	}
	meta->state = MPS_META_ESTABLISHED;
	meta->was_established = true;
	mps_live_start(meta);
	if (!sf->hold)
		meta_kx_later(meta);	/* hello_hold 0: HELLO_ACK went */
	if (!meta->kx_pending)
		meta_advertise(meta, sf);	/* else after the exchange */
	mps_info("meta %u: accepted from %s", meta->id,
		 mps_addr_str(&sf->remote.sa, (char[MPS_ADDRSTRLEN]){0}, MPS_ADDRSTRLEN));
	mps_engine_mark_dirty(meta);
}

const char *mps_join_refusal_name(unsigned reason)
{
	static const char *const names[MPS_JOIN_REASONS] = {
		[MPS_JOIN_UNKNOWN_TOKEN] = "unknown_token",
		[MPS_JOIN_REPLAY] = "replayed_nonce",
		[MPS_JOIN_LIMIT] = "subflow_limit",
		[MPS_JOIN_BAD_HMAC] = "bad_hmac",
		[MPS_JOIN_DESCRIPTORS] = "descriptors",
	};
	return reason < MPS_JOIN_REASONS ? names[reason] : "?";
}

void mps_engine_join_refused(struct mps_engine *eng, enum mps_join_refusal reason)
{
	eng->cnt.join_refused++;
	eng->cnt.join_refused_by[reason]++;
}

int mps_meta_server_join(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_engine *eng = sf->eng;
	struct mps_meta *meta = mps_engine_meta_by_token(eng, f->u.join.token);
	struct mps_frame r = { .type = MPS_FT_JOIN_ACK };
	uint8_t mac[32];
	char a[MPS_ADDRSTRLEN];
	int rc;

	mps_addr_str(&sf->remote.sa, a, sizeof(a));
	if (!meta || meta->state != MPS_META_ESTABLISHED) {
		/* a JOIN that arrived after its connection closed, or one a
		 * load balancer sent to another instance than the HELLO */
		mps_info("JOIN refused from %s: unknown token %08x", a,
			 f->u.join.token);
		mps_engine_join_refused(eng, MPS_JOIN_UNKNOWN_TOKEN);
		return -EACCES;
	}
	for (unsigned i = 0; i < meta->n_seen_nonces && i < 32; i++) {
		if (meta->seen_nonces[i] == f->u.join.nonce) {
			mps_warn("meta %u: JOIN refused from %s: replayed nonce",
				 meta->id, a);
			mps_engine_join_refused(eng, MPS_JOIN_REPLAY);
			return -EACCES;
		}
	}
	if (!mps_nofile_join_ok(eng, sf)) {
		/* the connection goes on over the subflows it has; the
		 * client tries the path again after its backoff */
		mps_debug("meta %u: JOIN refused from %s: descriptors", meta->id, a);
		mps_engine_join_refused(eng, MPS_JOIN_DESCRIPTORS);
		return -EACCES;
	}
	meta->seen_nonces[meta->n_seen_nonces++ % 32] = f->u.join.nonce;
	mps_engine_unclassified_unlink(sf);
	mps_timer_cancel(eng->loop, &sf->timer);
	rc = mps_meta_attach(meta, sf);
	if (rc) {
		mps_warn("meta %u: JOIN refused from %s: subflow limit", meta->id, a);
		mps_engine_join_refused(eng, MPS_JOIN_LIMIT);
		return -EACCES;	/* not attached: the subflow frees itself */
	}
	sf->backup = f->flags & MPS_JOIN_F_BACKUP;
	sf->peer_addr_id = f->u.join.addr_id;
	sf->nonce_peer = f->u.join.nonce;
	rc = mps_meta_join_key(meta);
	if (rc) {
		meta_kx_failed(meta, rc);
		return 1;	/* sf went with the meta */
	}
	rc = mps_crypto_random(&sf->nonce_local, sizeof(sf->nonce_local));
	if (!rc)
		rc = mps_crypto_join_hmac(meta->join_key, MPS_ROLE_SERVER,
					  sf->nonce_local, sf->nonce_peer, mac);
	if (rc)
		return rc;
	r.u.join_ack.nonce = sf->nonce_local;
	memcpy(r.u.join_ack.hmac, mac, MPS_HMAC_TRUNC_LEN);
	sf->state = MPS_SF_JOIN_ACKED;
	mps_timer_arm(eng->loop, &sf->timer, (uint64_t)eng->cfg.connect_timeout_ms);
	return mps_subflow_send_frame(sf, &r);
}

/* ------------------------------------------------------------------ */
/* engine object, thread and command queue                             */

static void engine_evfd_cb(struct mps_op *op, int res)
{
	struct mps_engine *eng = op->ctx;
	struct mps_cmd *c, *next;
	uint64_t v;

	(void)res;
	if (read(eng->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		mps_err("eventfd read: %s", strerror(errno));
	if (eng->reload_pending) {
		eng->reload_pending = 0;
		if (eng->reload_fn)
			eng->reload_fn(eng, eng->reload_arg);
	}
	pthread_mutex_lock(&eng->lock);
	c = eng->cmd_head;
	eng->cmd_head = eng->cmd_tail = NULL;
	pthread_mutex_unlock(&eng->lock);
	for (; c; c = next) {
		next = c->next;
		c->fn(eng, c->arg);
		free(c);
	}
	if (!__atomic_load_n(&eng->stop, __ATOMIC_ACQUIRE) &&
	    mps_loop_submit(eng->loop, &eng->evop))
		mps_err("engine: cannot re-arm the command queue");
}

static int engine_post(struct mps_engine *eng,
		       void (*fn)(struct mps_engine *, void *), void *arg)
{
	struct mps_cmd *c = malloc(sizeof(*c));
	uint64_t one = 1;

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->next = NULL;
	pthread_mutex_lock(&eng->lock);
	if (eng->cmd_tail)
		eng->cmd_tail->next = c;
	else
		eng->cmd_head = c;
	eng->cmd_tail = c;
	pthread_mutex_unlock(&eng->lock);
	if (write(eng->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

struct sync_call {
	void (*fn)(struct mps_engine *, void *);
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void cmd_sync(struct mps_engine *eng, void *arg)
{
	struct sync_call *sc = arg;

	sc->fn(eng, sc->arg);
	pthread_mutex_lock(&sc->lock);
	sc->done = true;
	pthread_cond_signal(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
}

int mps_engine_call(struct mps_engine *eng, void (*fn)(struct mps_engine *, void *),
		    void *arg)
{
	struct sync_call *sc = calloc(1, sizeof(*sc));
	int rc;

	/* on the heap: engine_free() frees the argument of a command that
	 * never ran */
	if (!sc)
		return -ENOMEM;
	sc->fn = fn;
	sc->arg = arg;
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->cond, NULL);
	rc = engine_post(eng, cmd_sync, sc);
	if (rc) {
		free(sc);
		return rc;
	}
	pthread_mutex_lock(&sc->lock);
	while (!sc->done)
		pthread_cond_wait(&sc->cond, &sc->lock);
	pthread_mutex_unlock(&sc->lock);
	pthread_cond_destroy(&sc->cond);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
	return 0;
}

int mps_engine_connect(struct mps_engine *eng, const struct sockaddr *dest,
		       int efd, size_t filler, mps_connect_cb cb, void *arg,
		       unsigned *meta_id, struct mps_presyn *ps)
{
	struct connect_cmd *cc = calloc(1, sizeof(*cc));
	unsigned id;
	int rc;

	if (!cc) {
		if (ps && ps->sfd >= 0)
			close(ps->sfd);
		if (ps)
			ps->sfd = -1;
		return -ENOMEM;
	}
	cc->ps.sfd = -1;
	if (ps) {
		cc->ps = *ps;
		ps->sfd = -1;
	}
	memcpy(&cc->dest, dest, mps_addr_len(dest));
	cc->efd = efd;
	cc->filler = filler;
	cc->cb = cb;
	cc->arg = arg;
	/* the engine may free cc as soon as it is posted; the caller knows
	 * the id before any callback (a relay reset looks the app up by it) */
	id = cc->id = meta_id_next(eng);
	if (meta_id)
		*meta_id = id;
	rc = engine_post(eng, cmd_connect, cc);
	if (rc) {
		if (cc->ps.sfd >= 0)
			close(cc->ps.sfd);
		free(cc);
		if (meta_id)
			*meta_id = 0;
	}
	return rc;
}

static void cmd_drain(struct mps_engine *eng, void *arg)
{
	(void)arg;
	eng->draining = true;
	engine_count_drain(eng);
}

struct mps_meta *mps_engine_meta_by_id(struct mps_engine *eng, unsigned id)
{
	for (struct mps_meta *m = eng->metas; m; m = m->next)
		if (m->id == id)
			return m;
	return NULL;
}

void mps_engine_set_relay_reset(struct mps_engine *eng,
				bool (*fn)(void *arg, unsigned meta_id), void *arg)
{
	eng->relay_reset = fn;
	eng->relay_reset_arg = arg;
}

void mps_engine_set_relay_settled(struct mps_engine *eng,
				  void (*fn)(void *arg, unsigned meta_id, bool multipath,
					     const struct sockaddr *local),
				  void *arg)
{
	eng->relay_settled = fn;
	eng->relay_settled_arg = arg;
}

struct id_cmd {
	unsigned id;
	long rc;
};

static void cmd_abort_one(struct mps_engine *eng, void *arg)
{
	struct id_cmd *c = arg;
	struct mps_meta *meta = mps_engine_meta_by_id(eng, c->id);

	if (!meta || meta->state == MPS_META_CLOSED) {
		c->rc = -ENOENT;
		return;
	}
	mps_info("meta %u: the application closed with SO_LINGER 0: aborting", meta->id);
	/* it is closing its end: nobody to reset */
	meta->app_gone = true;
	mps_meta_abort(meta, -ECONNRESET, MPS_CLOSE_ABORT, true);
	c->rc = 0;
}

int mps_engine_abort(struct mps_engine *eng, unsigned meta_id)
{
	struct id_cmd c = { .id = meta_id };
	int rc = mps_engine_call(eng, cmd_abort_one, &c);

	return rc ? rc : (int)c.rc;
}

static void cmd_unacked(struct mps_engine *eng, void *arg)
{
	struct id_cmd *c = arg;
	struct mps_meta *meta = mps_engine_meta_by_id(eng, c->id);

	if (!meta || meta->state == MPS_META_CLOSED) {
		c->rc = 0;
		return;
	}
	if (meta->state != MPS_META_ESTABLISHED) {
		c->rc = 1;	/* still connecting: nothing acknowledged */
		return;
	}
	c->rc = (long)(meta->snd.end - meta->snd.una) + !meta->snd.fin_acked;
}

unsigned long mps_engine_unacked(struct mps_engine *eng, unsigned meta_id)
{
	struct id_cmd c = { .id = meta_id };

	if (mps_engine_call(eng, cmd_unacked, &c))
		return 0;
	return (unsigned long)c.rc;
}

static void cmd_abort_all(struct mps_engine *eng, void *arg)
{
	struct mps_meta *m, *next;

	(void)arg;
	for (m = eng->metas; m; m = next) {
		next = m->next;
		mps_meta_abort(m, -ECONNABORTED, MPS_CLOSE_ABORT, true);
	}
	mps_pump_shutdown_all(eng);
}

unsigned mps_engine_drain(struct mps_engine *eng, unsigned timeout_ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 5 * 1000000 };
	unsigned waited = 0;
	int left = -1;

	__atomic_store_n(&eng->drain_pending, -1, __ATOMIC_RELEASE);
	if (engine_post(eng, cmd_drain, NULL))
		return 0;
	for (;;) {
		left = __atomic_load_n(&eng->drain_pending, __ATOMIC_ACQUIRE);
		if (left == 0 || waited >= timeout_ms)
			break;
		nanosleep(&ts, NULL);
		waited += 5;
	}
	/* the data is delivered; let the closing handshakes finish (about
	 * one round trip) so every connection ends with its stats line */
	for (waited = 0; waited < 1000 && (
	     __atomic_load_n(&eng->cnt.metas_open, __ATOMIC_ACQUIRE) ||
	     __atomic_load_n(&eng->cnt.plain_relays, __ATOMIC_ACQUIRE)); waited += 5)
		nanosleep(&ts, NULL);
	if (__atomic_load_n(&eng->cnt.metas_open, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&eng->cnt.plain_relays, __ATOMIC_ACQUIRE)) {
		/* out of time: abort the rest, but still give their stats
		 * lines a moment to be written */
		engine_post(eng, cmd_abort_all, NULL);
		for (waited = 0; waited < 200 &&
		     __atomic_load_n(&eng->cnt.metas_open, __ATOMIC_ACQUIRE); waited += 5)
			nanosleep(&ts, NULL);
	}
	return left < 0 ? 0 : (unsigned)left;
}

int mps_engine_new(struct mps_engine **out, const struct mps_config *cfg)
{
	struct mps_engine *eng = calloc(1, sizeof(*eng));
	int rc;

	if (!eng)
		return -ENOMEM;
	eng->cfg = *cfg;
	eng->evfd = -1;
	eng->nlfd = -1;
	eng->stats_fd = -1;
	eng->spare_fd = -1;
	eng->nofile_base = -1;
	eng->t_start_ns = mps_clock_ns();
	pthread_mutex_init(&eng->lock, NULL);
	mps_sched_init();
	mps_pm_init();
	eng->sched = mps_sched_find(cfg->scheduler);
	eng->pm = mps_pm_select(cfg);
	if (!eng->sched || !eng->pm) {
		rc = -EINVAL;
		goto fail;
	}
	rc = mps_loop_new(&eng->loop, cfg->loop);
	if (rc)
		goto fail;
	mps_loop_set_flush(eng->loop, engine_flush, eng);
	mps_timer_init(&eng->trim_timer, mps_trim_tick, eng);
	mps_timer_init(&eng->warm_timer, engine_warm, eng);
	eng->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (eng->evfd < 0) {
		rc = -errno;
		goto fail;
	}
	mps_op_init(&eng->evop, MPS_OP_POLL, engine_evfd_cb, eng);
	rc = mps_loop_poll(eng->loop, &eng->evop, eng->evfd, POLLIN);
	if (rc)
		goto fail;
	/* without netlink (a restricted sandbox) liveness checks still work */
	if (mps_netlink_open(eng))
		mps_debug("rtnetlink unavailable: interface changes found by liveness only");
	/* without it (a sandbox, a name taken) only `mpshim stats` misses us */
	if (cfg->stats_socket)
		mps_statsock_open(eng);
	if (cfg->stats_file[0]) {
		eng->stats_fd = open(cfg->stats_file,
				     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (eng->stats_fd < 0)
			mps_warn("stats file %s: %s", cfg->stats_file, strerror(errno));
	}
	*out = eng;
	return 0;
fail:
	mps_engine_free(eng);
	return rc;
}

void mps_engine_free(struct mps_engine *eng)
{
	if (!eng)
		return;
	/* the loop first: it drops pending ops without calling them, so what
	 * follows may free the objects those ops point into */
	if (eng->loop)
		mps_loop_free(eng->loop);
	while (eng->metas) {
		struct mps_meta *meta = eng->metas;

		eng->metas = meta->next;
		if (meta->efd >= 0)
			close(meta->efd);
		for (unsigned i = 0; i < meta->n_sf; i++)
			mps_subflow_free(meta->sf[i]);
		mps_meta_seq_free(meta);
		free(meta);
	}
	while (eng->unclassified) {
		struct mps_subflow *sf = eng->unclassified;

		eng->unclassified = sf->lnext;
		mps_subflow_free(sf);
	}
	while (eng->graveyard) {
		struct mps_subflow *sf = eng->graveyard;

		eng->graveyard = sf->lnext;
		mps_subflow_free(sf);
	}
	/* after the subflows: each holds a reference to its listener */
	mps_listener_free_all(eng);
	mps_pump_free_all(eng);
	while (eng->cmd_head) {
		struct mps_cmd *c = eng->cmd_head;

		eng->cmd_head = c->next;
		free(c->arg);
		free(c);
	}
	if (eng->evfd >= 0)
		close(eng->evfd);
	mps_netlink_close(eng);
	mps_metrics_free(eng);
	mps_forward_free(eng);
	mps_statsock_free(eng);
	if (eng->stats_fd >= 0)
		close(eng->stats_fd);
	free(eng->dirty);
	pthread_mutex_destroy(&eng->lock);
	free(eng);
}

const struct mps_config *mps_engine_config(const struct mps_engine *eng)
{
	return &eng->cfg;
}

const char *mps_engine_loop_name(const struct mps_engine *eng)
{
	return mps_loop_backend_name(eng->loop);
}

void mps_engine_set_reload(struct mps_engine *eng, mps_engine_reload_fn fn, void *arg)
{
	eng->reload_fn = fn;
	eng->reload_arg = arg;
}

void mps_engine_request_reload(struct mps_engine *eng)
{
	uint64_t one = 1;
	ssize_t n;

	eng->reload_pending = 1;
	n = write(eng->evfd, &one, sizeof(one));
	(void)n;
}

int mps_engine_reconfigure(struct mps_engine *eng, const struct mps_config *cfg)
{
	const struct mps_sched_ops *sched = mps_sched_find(cfg->scheduler);
	const struct mps_pm_ops *pm = mps_pm_select(cfg);
	char listen[sizeof(cfg->listen)], backend[sizeof(cfg->backend)];

	if (!sched || !pm)
		return -EINVAL;
	if (strcmp(cfg->listen, eng->cfg.listen) || strcmp(cfg->backend, eng->cfg.backend))
		mps_warn("reload: listen and backend addresses need a restart; kept");
	memcpy(listen, eng->cfg.listen, sizeof(listen));
	memcpy(backend, eng->cfg.backend, sizeof(backend));
	if (strcmp(cfg->stats_file, eng->cfg.stats_file)) {
		int fd = -1;

		if (cfg->stats_file[0]) {
			fd = open(cfg->stats_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				  0644);
			if (fd < 0) {
				mps_warn("reload: stats file %s: %s", cfg->stats_file,
					 strerror(errno));
				return -errno;
			}
		}
		if (eng->stats_fd >= 0)
			close(eng->stats_fd);
		eng->stats_fd = fd;
	}
	if (cfg->stats_socket && !eng->cfg.stats_socket)
		mps_statsock_open(eng);
	else if (!cfg->stats_socket && eng->cfg.stats_socket)
		mps_statsock_stop(eng);
	/* open metas point at eng->cfg: they see new timeouts and buffers
	 * limits from now on, and keep their scheduler and path manager */
	eng->cfg = *cfg;
	memcpy(eng->cfg.listen, listen, sizeof(listen));
	memcpy(eng->cfg.backend, backend, sizeof(backend));
	eng->sched = sched;
	eng->pm = pm;
	return 0;
}

int mps_engine_run(struct mps_engine *eng)
{
	int rc = 0;

	mps_engine_thread = true;
	while (!__atomic_load_n(&eng->stop, __ATOMIC_ACQUIRE)) {
		rc = mps_loop_run_once(eng->loop, -1);
		if (rc < 0 && rc != -EINTR) {
			mps_err("event loop: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void mps_engine_stop(struct mps_engine *eng)
{
	uint64_t one = 1;
	ssize_t n;

	__atomic_store_n(&eng->stop, true, __ATOMIC_RELEASE);
	n = write(eng->evfd, &one, sizeof(one));
	(void)n;
}

static void *engine_thread_main(void *arg)
{
	struct mps_engine *eng = arg;
	sigset_t all;

	/* the app's signals are the app's business, never this thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	mps_engine_run(eng);
	return NULL;
}

int mps_engine_start_thread(struct mps_engine *eng)
{
	int rc;

	if (eng->thread_started)
		return 0;
	rc = pthread_create(&eng->thread, NULL, engine_thread_main, eng);
	if (rc)
		return -rc;
	eng->thread_started = true;
	return 0;
}

void mps_engine_join_thread(struct mps_engine *eng)
{
	if (eng->thread_started)
		pthread_join(eng->thread, NULL);
	eng->thread_started = false;
}

void mps_engine_atfork_child(struct mps_engine *eng)
{
	mps_statsock_atfork_child(eng);
}

void mps_engine_counters(const struct mps_engine *eng,
			 struct mps_engine_counters *out)
{
	*out = eng->cnt;
}
