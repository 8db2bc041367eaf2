/*
 * metrics.c - the engine's counters for Prometheus (mpshim-proxyd
 * --metrics ADDR:PORT).
 *
 * Owns a listening socket and the scrapes in progress.  A scrape is one
 * HTTP request: wait for its first bytes (so closing never resets the
 * client's unread request), answer with the text exposition format and
 * close.  Served from the engine's loop, so the numbers are consistent
 * with each other and cost nothing between scrapes.
 *
 * The listener is polled only while a scrape slot is free: with all of
 * them busy, a client waiting in the backlog would keep the listener
 * readable and the loop would wake for it over and over, accepting
 * nothing.  The slot that frees first polls it again.  For the same
 * reason, out of descriptors, a scrape is accepted in the place of the
 * engine's spare descriptor (nofile.c), which comes back when it ends;
 * with the spare lent out already, the listener rests for
 * MPS_NOFILE_PAUSE_MS.  So a scrape is answered even then, when the
 * numbers matter most, and waiting scrapers cost no CPU.
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

#define MPS_METRICS_MAX_SCRAPES 8	/* at once; more wait in the backlog */

struct mps_scrape {
	struct mps_metrics *m;
	int fd;
	struct mps_op op;
	struct mps_timer timer;		/* a client that never asks */
	bool used;
};

struct mps_metrics {
	struct mps_engine *eng;
	int lfd;
	struct mps_op acc;
	struct mps_timer pause;		/* out of descriptors, no spare */
	uint64_t nofile_warn_ns;	/* last "out of descriptors" warning */
	struct mps_scrape scrapes[MPS_METRICS_MAX_SCRAPES];
};

/*
 * One counter family by reason at buf + n: its HELP and TYPE lines, then
 * name{reason="..."} for each of the count reasons.  The new length, or
 * what snprintf says (negative, or len and more when it did not fit).
 */
static int by_reason(char *buf, size_t len, int n, const char *name, const char *help,
		     const char *(*reason_name)(unsigned), const unsigned long *v,
		     unsigned count)
{
	int m = snprintf(buf + n, len - (size_t)n, "# HELP %s %s\n# TYPE %s counter\n",
			 name, help, name);

	for (unsigned r = 0;; r++) {
		if (m < 0)
			return m;
		n += m;
		if ((size_t)n >= len || r == count)
			return n;
		m = snprintf(buf + n, len - (size_t)n, "%s{reason=\"%s\"} %lu\n", name,
			     reason_name(r), v[r]);
	}
}

static int format(const struct mps_engine *eng, char *buf, size_t len)
{
	const struct mps_engine_counters *c = &eng->cnt;
	int n, m;

	n = snprintf(buf, len,
		"# HELP mpshim_connections_open Multipath connections open now.\n"
		"# TYPE mpshim_connections_open gauge\n"
		"mpshim_connections_open %lu\n"
		"# HELP mpshim_connections_total Multipath connections since start.\n"
		"# TYPE mpshim_connections_total counter\n"
		"mpshim_connections_total %lu\n"
		"# HELP mpshim_subflows_open Subflow sockets open now.\n"
		"# TYPE mpshim_subflows_open gauge\n"
		"mpshim_subflows_open %lu\n"
		"# HELP mpshim_plain_relays_open Plain TCP relays (clients that do not speak mpshim) open now.\n"
		"# TYPE mpshim_plain_relays_open gauge\n"
		"mpshim_plain_relays_open %lu\n"
		"# HELP mpshim_bytes_total Application bytes of closed connections.\n"
		"# TYPE mpshim_bytes_total counter\n"
		"mpshim_bytes_total{direction=\"sent\"} %llu\n"
		"mpshim_bytes_total{direction=\"received\"} %llu\n"
		"# HELP mpshim_reinjected_bytes_total Bytes sent again after a subflow failed or stalled.\n"
		"# TYPE mpshim_reinjected_bytes_total counter\n"
		"mpshim_reinjected_bytes_total %llu\n"
		"# HELP mpshim_fallbacks_total Connections carried as plain TCP because the peer is not mpshim.\n"
		"# TYPE mpshim_fallbacks_total counter\n"
		"mpshim_fallbacks_total %lu\n"
		"# HELP mpshim_refusals_total Handshakes, frames and connections (for want of descriptors) refused, by reason.\n"
		"# TYPE mpshim_refusals_total counter\n"
		"mpshim_refusals_total{reason=\"join\"} %lu\n"
		"mpshim_refusals_total{reason=\"handshake\"} %lu\n"
		"mpshim_refusals_total{reason=\"protocol\"} %lu\n"
		"mpshim_refusals_total{reason=\"descriptors\"} %lu\n",
		c->metas_open, c->metas_total, c->subflows_open, c->plain_relays,
		c->bytes_sent, c->bytes_recv, c->reinjected_bytes, c->fallbacks,
		c->join_refused, c->handshake_failed, c->proto_errors,
		c->nofile_refused);
	if (n < 0 || (size_t)n >= len)
		return n;
	m = snprintf(buf + n, len - (size_t)n,
		"# HELP mpshim_early_data_connections_total Connections whose client sent data before it had HELLO_ACK (early data).\n"
		"# TYPE mpshim_early_data_connections_total counter\n"
		"mpshim_early_data_connections_total %lu\n"
		"# HELP mpshim_early_data_bytes_total Early data bytes received, counted as they arrive.\n"
		"# TYPE mpshim_early_data_bytes_total counter\n"
		"mpshim_early_data_bytes_total %llu\n"
		"# HELP mpshim_early_data_fins_total DATA_FINs received as early data (a request and its end before HELLO_ACK).\n"
		"# TYPE mpshim_early_data_fins_total counter\n"
		"mpshim_early_data_fins_total %lu\n",
		c->early_conns, c->early_bytes, c->early_fins);
	if (m < 0)
		return m;
	n += m;
	if ((size_t)n >= len)
		return n;
	m = snprintf(buf + n, len - (size_t)n,
		"# HELP mpshim_forward_connections_total Forward-mode clients authenticated and let through to their destination.\n"
		"# TYPE mpshim_forward_connections_total counter\n"
		"mpshim_forward_connections_total %lu\n",
		c->fwd_accepted);
	if (m < 0)
		return m;
	n += m;
	if ((size_t)n >= len)
		return n;
	n = by_reason(buf, len, n, "mpshim_forward_refusals_total",
		      "Forward-mode clients refused, by reason.",
		      mps_forward_refusal_name, c->fwd_refused, MPS_FWD_REASONS);
	if (n < 0 || (size_t)n >= len)
		return n;
	/* behind a load balancer, unknown_token counts JOINs balanced to
	 * another instance than their connection's; descriptors, those
	 * refused to keep descriptors for new connections (nofile.c) */
	n = by_reason(buf, len, n, "mpshim_join_refusals_total",
		      "JOINs refused, by reason.",
		      mps_join_refusal_name, c->join_refused_by, MPS_JOIN_REASONS);
	if (n < 0 || (size_t)n >= len)
		return n;
	m = snprintf(buf + n, len - (size_t)n,
		"# HELP mpshim_subflows_shed_total Additional subflows closed to keep descriptors for new connections.\n"
		"# TYPE mpshim_subflows_shed_total counter\n"
		"mpshim_subflows_shed_total %lu\n",
		c->subflows_shed);
	return m < 0 ? m : n + m;
}

static struct mps_scrape *scrape_free_slot(struct mps_metrics *m)
{
	for (unsigned i = 0; i < MPS_METRICS_MAX_SCRAPES; i++)
		if (!m->scrapes[i].used)
			return &m->scrapes[i];
	return NULL;
}

/* Poll the listener, unless it is polled already, resting for want of
 * descriptors, or no slot is free. */
static void metrics_arm(struct mps_metrics *m)
{
	if (m->acc.pending || mps_timer_armed(&m->pause) || !scrape_free_slot(m))
		return;
	if (mps_loop_poll(m->eng->loop, &m->acc, m->lfd, POLLIN))
		mps_err("metrics: cannot re-arm the listener");
}

static void scrape_end(struct mps_scrape *s)
{
	mps_timer_cancel(s->m->eng->loop, &s->timer);
	close(s->fd);
	s->fd = -1;
	s->used = false;
	/* it may have been the spare's descriptor */
	mps_nofile_spare_restore(s->m->eng);
	metrics_arm(s->m);
}

static void metrics_pause_end(struct mps_timer *t)
{
	metrics_arm(t->ctx);
}

static void scrape_ready(struct mps_op *op, int res)
{
	struct mps_scrape *s = op->ctx;
	char req[1024], body[8192], head[160];
	int n, h;

	if (!s->used)
		return;
	if (res > 0 && recv(s->fd, req, sizeof(req), MSG_DONTWAIT) >= 0) {
		n = format(s->m->eng, body, sizeof(body));
		h = snprintf(head, sizeof(head),
			     "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
			     "Content-Length: %d\r\nConnection: close\r\n\r\n", n);
		/* a fresh socket's buffer takes this whole answer */
		if (send(s->fd, head, (size_t)h, MSG_NOSIGNAL | MSG_DONTWAIT) != h ||
		    send(s->fd, body, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
			mps_debug("metrics: short answer to a scrape");
		shutdown(s->fd, SHUT_WR);
	}
	scrape_end(s);
}

static void scrape_timeout(struct mps_timer *t)
{
	struct mps_scrape *s = t->ctx;

	if (s->used && s->op.pending)
		mps_loop_cancel(s->m->eng->loop, &s->op);	/* ends in scrape_ready */
}

static void metrics_accept(struct mps_op *op, int res)
{
	struct mps_metrics *m = op->ctx;

	(void)res;
	for (;;) {
		struct mps_scrape *s = scrape_free_slot(m);
		int fd;

		if (!s)
			break;	/* busy: the rest wait in the backlog */
		fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && mps_nofile_errno(errno)) {
			int err = errno;

			fd = mps_nofile_accept_spare(m->eng, m->lfd,
						     SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd == -EMFILE) {
				/* the spare is lent out: the pause's end
				 * polls again */
				mps_timer_arm(m->eng->loop, &m->pause, MPS_NOFILE_PAUSE_MS);
				return;
			}
			if (fd >= 0 && mps_nofile_warn_due(&m->nofile_warn_ns))
				mps_warn("metrics: %s: answering scrapes one at a time "
					 "with the spare descriptor", strerror(err));
		}
		if (fd < 0)
			break;
		s->used = true;
		s->fd = fd;
		s->m = m;
		mps_op_init(&s->op, MPS_OP_POLL, scrape_ready, s);
		mps_timer_init(&s->timer, scrape_timeout, s);
		if (mps_loop_poll(m->eng->loop, &s->op, fd, POLLIN)) {
			scrape_end(s);
			continue;
		}
		mps_timer_arm(m->eng->loop, &s->timer, 5000);
	}
	metrics_arm(m);
}

int mps_engine_metrics_listen(struct mps_engine *eng, const struct sockaddr *addr)
{
	struct mps_metrics *m = calloc(1, sizeof(*m));
	int one = 1, rc;

	if (!m)
		return -ENOMEM;
	m->eng = eng;
	m->lfd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0) {
		rc = -errno;
		free(m);
		return rc;
	}
	setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->lfd, addr, mps_addr_len(addr)) || listen(m->lfd, 64)) {
		rc = -errno;
		close(m->lfd);
		free(m);
		return rc;
	}
	mps_op_init(&m->acc, MPS_OP_POLL, metrics_accept, m);
	mps_timer_init(&m->pause, metrics_pause_end, m);
	rc = mps_loop_poll(eng->loop, &m->acc, m->lfd, POLLIN);
	if (rc) {
		close(m->lfd);
		free(m);
		return rc;
	}
	eng->metrics = m;
	return 0;
}

void mps_metrics_free(struct mps_engine *eng)
{
	struct mps_metrics *m = eng->metrics;

	if (!m)
		return;
	for (unsigned i = 0; i < MPS_METRICS_MAX_SCRAPES; i++)
		if (m->scrapes[i].used)
			close(m->scrapes[i].fd);
	close(m->lfd);
	free(m);
	eng->metrics = NULL;
}
