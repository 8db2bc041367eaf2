/*
 * pump.c - plain TCP relay: bytes copied unchanged between two sockets.
 *
 * Used where multipath is not possible: a destination that does not speak
 * mpshim (the shim's fallback, the app keeps its relay fd) and a plain
 * client of mpshim-proxyd.  Half-close is carried across (EOF on one side
 * becomes shutdown(SHUT_WR) on the other); a reset or error ends both.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "engine_int.h"
#include "log.h"
#include "sock.h"
#include "text.h"

#define MPS_PUMP_BUF	(64 * 1024)

struct mps_pump_dir {
	struct mps_pump *p;
	int from, to;
	uint8_t *buf;
	size_t len, off;
	struct mps_op rd, wr;
	bool eof;
	uint64_t bytes;
};

struct mps_pump {
	struct mps_engine *eng;
	struct mps_pump_dir d[2];	/* d[0]: a -> b, d[1]: b -> a */
	int a, b;
	struct mps_op conn;
	struct mps_timer timer;
	union mps_sockaddr dest, local;
	char why[64];
	bool has_why;
	bool connected;
	bool dead;
	mps_connect_cb done;
	void *arg;
	unsigned meta_id;		/* shim fallback: the meta it replaces */
	struct mps_pump *next, *prev;
};

static void pump_rd(struct mps_op *op, int res);
static void pump_wr(struct mps_op *op, int res);

static bool pump_idle(const struct mps_pump *p)
{
	return !p->conn.pending && !p->d[0].rd.pending && !p->d[0].wr.pending &&
	       !p->d[1].rd.pending && !p->d[1].wr.pending;
}

static void pump_free_if_done(struct mps_pump *p)
{
	struct mps_engine *eng = p->eng;

	if (!p->dead || !pump_idle(p))
		return;
	mps_timer_cancel(eng->loop, &p->timer);
	if (p->has_why && p->connected)
		mps_stats_plain_closed(eng, &p->local.sa, &p->dest.sa,
				       p->d[0].bytes, p->d[1].bytes, p->why);
	if (p->a >= 0)
		close(p->a);
	if (p->b >= 0)
		close(p->b);
	if (p->prev)
		p->prev->next = p->next;
	else
		eng->pumps = p->next;
	if (p->next)
		p->next->prev = p->prev;
	/* atomic: the exit drain reads it on the application's thread */
	__atomic_sub_fetch(&eng->cnt.plain_relays, 1, __ATOMIC_RELEASE);
	free(p->d[0].buf);
	free(p->d[1].buf);
	free(p);
}

static void pump_kill(struct mps_pump *p, bool reset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (p->dead)
		return;
	p->dead = true;
	if (reset) {
		/* carry an abort across as TCP would: a reset, not a FIN */
		if (p->a >= 0)
			setsockopt(p->a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (p->b >= 0)
			setsockopt(p->b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	for (int i = 0; i < 2; i++) {
		if (p->d[i].rd.pending)
			mps_loop_cancel(p->eng->loop, &p->d[i].rd);
		if (p->d[i].wr.pending)
			mps_loop_cancel(p->eng->loop, &p->d[i].wr);
	}
	if (p->conn.pending)
		mps_loop_cancel(p->eng->loop, &p->conn);
	pump_free_if_done(p);
}

static void dir_read(struct mps_pump_dir *d)
{
	d->rd.fd = d->from;
	d->rd.buf = d->buf;
	d->rd.len = MPS_PUMP_BUF;
	if (mps_loop_submit(d->p->eng->loop, &d->rd))
		pump_kill(d->p, true);
}

static void dir_write(struct mps_pump_dir *d)
{
	d->wr.fd = d->to;
	d->wr.buf = d->buf + d->off;
	d->wr.len = d->len - d->off;
	if (mps_loop_submit(d->p->eng->loop, &d->wr))
		pump_kill(d->p, true);
}

/* Common start of every completion: false when the pump is going away
 * or the op failed, and the caller must stop. */
static bool pump_op_ok(struct mps_pump *p, int res)
{
	if (p->dead) {
		pump_free_if_done(p);
		return false;
	}
	if (res < 0) {
		pump_kill(p, true);
		return false;
	}
	return true;
}

static void pump_rd(struct mps_op *op, int res)
{
	struct mps_pump_dir *d = op->ctx;
	struct mps_pump *p = d->p;

	if (!pump_op_ok(p, res))
		return;
	if (res == 0) {
		d->eof = true;
		shutdown(d->to, SHUT_WR);
		if (p->d[0].eof && p->d[1].eof)
			pump_kill(p, false);
		return;
	}
	d->len = (size_t)res;
	d->off = 0;
	d->bytes += (size_t)res;
	dir_write(d);
}

static void pump_wr(struct mps_op *op, int res)
{
	struct mps_pump_dir *d = op->ctx;
	struct mps_pump *p = d->p;

	if (!pump_op_ok(p, res))
		return;
	d->off += (size_t)res;
	if (d->off < d->len)
		dir_write(d);
	else
		dir_read(d);
}

static void pump_start(struct mps_pump *p)
{
	socklen_t len = sizeof(p->local);

	p->connected = true;
	getsockname(p->b, &p->local.sa, &len);
	mps_timer_cancel(p->eng->loop, &p->timer);
	if (p->done)
		p->done(p->arg, 0, &p->local.sa, false);
	if (p->d[0].len)
		dir_write(&p->d[0]);
	else
		dir_read(&p->d[0]);
	if (!p->dead)
		dir_read(&p->d[1]);
}

static void pump_fail(struct mps_pump *p, int err)
{
	if (p->done) {
		/* the shim's app learns the error through its own connect;
		 * its relay end is the caller's to close */
		p->done(p->arg, err, NULL, false);
		p->a = -1;
	}
	pump_kill(p, true);
}

static void pump_conn(struct mps_op *op, int res)
{
	struct mps_pump *p = op->ctx;
	int err;

	if (p->dead) {
		pump_free_if_done(p);
		return;
	}
	err = mps_sock_connect_result(p->b, res);
	if (err) {
		pump_fail(p, err);
		return;
	}
	pump_start(p);
}

static void pump_timeout(struct mps_timer *t)
{
	struct mps_pump *p = t->ctx;

	if (!p->connected && !p->dead) {
		mps_loop_cancel(p->eng->loop, &p->conn);
		pump_fail(p, -ETIMEDOUT);
	}
}

int mps_pump_connect(struct mps_engine *eng, int a, const struct sockaddr *dest,
		     const void *pre, size_t pre_len, const char *why,
		     mps_connect_cb done, void *arg, unsigned meta_id)
{
	struct mps_pump *p = calloc(1, sizeof(*p));
	int b = -1, rc;

	if (!p)
		return -ENOMEM;
	p->d[0].buf = malloc(MPS_PUMP_BUF);
	p->d[1].buf = malloc(MPS_PUMP_BUF);
	if (!p->d[0].buf || !p->d[1].buf || pre_len > MPS_PUMP_BUF) {
		rc = -ENOMEM;
		goto fail;
	}
	b = mps_sock_connect_start(dest, NULL);
	if (b < 0) {
		rc = b;
		goto fail;
	}
	p->eng = eng;
	p->a = a;
	p->b = b;
	memcpy(&p->dest, dest, mps_addr_len(dest));
	if (why) {
		snprintf(p->why, sizeof(p->why), "%s", why);
		p->has_why = true;
	}
	p->done = done;
	p->arg = arg;
	p->meta_id = meta_id;
	for (int i = 0; i < 2; i++) {
		struct mps_pump_dir *d = &p->d[i];

		d->p = p;
		d->from = i ? b : a;
		d->to = i ? a : b;
		mps_op_init(&d->rd, MPS_OP_RECV, pump_rd, d);
		mps_op_init(&d->wr, MPS_OP_SEND, pump_wr, d);
	}
	if (pre_len) {
		memcpy(p->d[0].buf, pre, pre_len);
		p->d[0].len = pre_len;
		p->d[0].bytes = pre_len;
	}
	mps_op_init(&p->conn, MPS_OP_POLL, pump_conn, p);
	rc = mps_loop_poll(eng->loop, &p->conn, b, POLLOUT);
	if (rc)
		goto fail;
	mps_timer_init(&p->timer, pump_timeout, p);
	mps_timer_arm(eng->loop, &p->timer, (uint64_t)eng->cfg.connect_timeout_ms);
	p->next = eng->pumps;
	if (eng->pumps)
		eng->pumps->prev = p;
	eng->pumps = p;
	__atomic_add_fetch(&eng->cnt.plain_relays, 1, __ATOMIC_RELEASE);
	return 0;
fail:
	if (b >= 0)
		close(b);
	free(p->d[0].buf);
	free(p->d[1].buf);
	free(p);
	return rc;
}

void mps_pump_shutdown_all(struct mps_engine *eng)
{
	struct mps_pump *p, *next;

	for (p = eng->pumps; p; p = next) {
		next = p->next;
		pump_kill(p, false);
	}
}

void mps_pump_free_all(struct mps_engine *eng)
{
	struct mps_pump *p, *next;

	/* the loop is gone: no op of these can complete any more */
	for (p = eng->pumps; p; p = next) {
		next = p->next;
		if (p->a >= 0)
			close(p->a);
		if (p->b >= 0)
			close(p->b);
		free(p->d[0].buf);
		free(p->d[1].buf);
		free(p);
	}
	eng->pumps = NULL;
}

unsigned mps_pump_pending_out(const struct mps_engine *eng)
{
	unsigned n = 0;

	for (const struct mps_pump *p = eng->pumps; p; p = p->next)
		if (!p->dead && !p->d[0].eof)
			n++;
	return n;
}

/*
 * A shim fallback is told from the program's side: sent is what the
 * program wrote, and its one connection goes to the destination.  A
 * plain client of proxyd is told like proxyd's multipath connections:
 * peer the backend, sent what went to the client, and as its one
 * connection the client's own.
 */
static void pump_snapshot_one(const struct mps_pump *p, struct mps_text *t)
{
	union mps_sockaddr l, r;
	socklen_t len;

	if (p->has_why) {
		mps_stats_plain_json(t, "client", p->connected ? "plain" : "connecting",
				     &p->dest.sa, &p->local.sa, &p->dest.sa,
				     p->d[0].bytes, p->d[1].bytes, p->why);
		return;
	}
	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	len = sizeof(l);
	getsockname(p->a, &l.sa, &len);
	len = sizeof(r);
	getpeername(p->a, &r.sa, &len);
	mps_stats_plain_json(t, "server", p->connected ? "plain" : "connecting",
			     &p->dest.sa, &l.sa, &r.sa, p->d[1].bytes, p->d[0].bytes,
			     "plain client");
}

bool mps_pump_snapshot(const struct mps_engine *eng, struct mps_text *t, unsigned n)
{
	for (const struct mps_pump *p = eng->pumps; p && !t->full; p = p->next) {
		size_t mark = t->len;

		if (p->dead)
			continue;
		if (n)
			mps_text_printf(t, ", ");
		pump_snapshot_one(p, t);
		if (t->full) {
			mps_text_cut(t, mark);
			return false;
		}
		n++;
	}
	return !t->full;
}

int mps_pump_sock(const struct mps_engine *eng, unsigned meta_id)
{
	for (const struct mps_pump *p = eng->pumps; p; p = p->next)
		if (meta_id && p->meta_id == meta_id && p->connected && !p->dead)
			return p->b;
	return -ENOENT;
}
