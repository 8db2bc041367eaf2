/*
 * listener.c - TCP listeners, and where what they accept goes.
 *
 * Owns: the engine's listening sockets; the classification of a new
 * connection by its first bytes (HELLO or JOIN: multipath; anything else,
 * or silence until a deadline: plain); and the two places a plain or new
 * multipath connection can go: a backend (proxyd's reverse mode) or the
 * accept() of the application the shim runs in (handoff.h).
 *
 * proxyd reads the first bytes: a plain client's bytes go to the backend
 * through a relay anyway.  For the shim the engine only peeks, so a plain
 * client's socket reaches the application with every byte still in it
 * and the application talks to the kernel socket itself: zero overhead.
 * The wait for those bytes is twice the handshake RTT, at least 50 ms
 * (bounded by accept_wait): a multipath client sends HELLO right after its connect
 * completes, so it arrives with, or just after, the handshake's last ACK,
 * while a silent client (it waits for a server banner) costs the banner
 * that wait once.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "clock.h"
#include "engine_int.h"
#include "handoff.h"
#include "log.h"

/* The floor covers the client's side, not the path: its engine thread
 * sends the HELLO after its connect completes, and on a loaded host that
 * thread can wait its turn for tens of milliseconds (10 ms let one HELLO
 * in about a hundred through as plain on a busy 2-core test host).  A
 * silent plain client pays it once, as the delay of the server's banner. */
#define CLASSIFY_MIN_MS		50
#define CLASSIFY_REPEEK_MS	2

struct handoff_item {
	int fd;
	struct mps_handoff_msg msg;
};

/* The channel to the application's accept(), and the connections it has
 * not taken yet (its backlog). */
struct mps_handoff {
	int chan;
	struct mps_op chop;		/* hang-up always, POLLOUT while queued */
	unsigned chop_mask;		/* the mask chop was submitted with */
	struct handoff_item *q;
	unsigned q_head, q_n, q_cap;
};

static void listener_accept(struct mps_op *op, int res);
static void accept_pause_end(struct mps_timer *t);
static void chan_cb(struct mps_op *op, int res);

/*
 * The application's backlog: connections in classification and those
 * queued for its accept() together stay within the backlog it asked for.
 * Beyond that the engine stops accepting, and the kernel's own listen
 * queue and the clients' SYN retries make them wait, as for any TCP
 * server that is slow to accept, instead of being refused.
 */
static bool backlog_full(const struct mps_listener *lst)
{
	return lst->ho && lst->ho->q_n + lst->classifying >= lst->ho->q_cap;
}

/*
 * Accepting pauses (the accept op not submitted, lst->acc_paused) for
 * two reasons: the application's backlog is full, until a connection
 * leaves it; or descriptors ran out with no spare to refuse one, for
 * MPS_NOFILE_PAUSE_MS (lst->acc_pause armed).  It resumes when neither
 * holds.
 */
static void accept_pause(struct mps_listener *lst, uint64_t nofile_ms)
{
	lst->acc_paused = true;
	if (nofile_ms)
		mps_timer_arm(lst->eng->loop, &lst->acc_pause, nofile_ms);
}

static void accept_resume(struct mps_listener *lst)
{
	if (!lst->acc_paused || lst->closed || backlog_full(lst) ||
	    mps_timer_armed(&lst->acc_pause))
		return;
	lst->acc_paused = false;
	if (mps_loop_submit(lst->eng->loop, &lst->acc))
		mps_err("listener: cannot re-arm accept");
}

static void accept_pause_end(struct mps_timer *t)
{
	accept_resume(t->ctx);
}

void mps_listener_classified(struct mps_listener *lst)
{
	lst->classifying--;
	accept_resume(lst);
}

static struct mps_listener *listener_new(struct mps_engine *eng, int fd,
					 const struct sockaddr *addr)
{
	struct mps_listener *lst = calloc(1, sizeof(*lst));

	if (!lst)
		return NULL;
	lst->eng = eng;
	lst->fd = fd;
	lst->refs = 1;
	memcpy(&lst->addr, addr, mps_addr_len(addr));
	mps_op_init(&lst->acc, MPS_OP_POLL, listener_accept, lst);
	mps_timer_init(&lst->acc_pause, accept_pause_end, lst);
	/* the spare is taken while descriptors are plenty: it is the one
	 * that lets a listener refuse a connection when they run out */
	mps_nofile_spare_restore(eng);
	return lst;
}

static void handoff_drop(struct mps_engine *eng, struct handoff_item *it)
{
	if (it->msg.multipath) {
		/* the app never took it: reset the client, as TCP resets
		 * what was queued on a listener that closes */
		for (struct mps_meta *m = eng->metas; m; m = m->next) {
			if (m->id == it->msg.meta_id) {
				mps_meta_abort(m, -ECONNRESET, MPS_CLOSE_ABORT, true);
				break;
			}
		}
	} else {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(it->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(it->fd);
}

void mps_listener_put(struct mps_listener *lst)
{
	if (--lst->refs > 0)
		return;
	if (lst->fd >= 0)
		close(lst->fd);
	if (lst->ho) {
		for (; lst->ho->q_n; lst->ho->q_n--) {
			close(lst->ho->q[lst->ho->q_head].fd);
			lst->ho->q_head = (lst->ho->q_head + 1) % lst->ho->q_cap;
		}
		if (lst->ho->chan >= 0)
			close(lst->ho->chan);
		free(lst->ho->q);
		free(lst->ho);
	}
	free(lst);
}

void mps_listener_free_all(struct mps_engine *eng)
{
	/* the loop is gone, so are the subflows: the references the
	 * pending ops held will never be dropped */
	while (eng->listeners) {
		struct mps_listener *lst = eng->listeners;

		eng->listeners = lst->next;
		lst->refs = 1;
		mps_listener_put(lst);
	}
	if (eng->spare_fd >= 0)
		close(eng->spare_fd);
	eng->spare_fd = -1;
}

static void listener_unlink(struct mps_listener *lst)
{
	struct mps_listener **pp;

	for (pp = &lst->eng->listeners; *pp && *pp != lst; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = lst->next;
}

/*
 * Every process closed the application's end of the channel: stop
 * listening now (shutdown takes the port out of the listening table at
 * once), drop what was never accepted, and release the rest when the
 * pending ops have completed.
 */
static void listener_close(struct mps_listener *lst)
{
	struct mps_engine *eng = lst->eng;
	struct mps_handoff *ho = lst->ho;
	char a[MPS_ADDRSTRLEN];

	if (lst->closed)
		return;
	/* it stays listed (engine teardown finds it) until its accept op
	 * has completed */
	lst->closed = true;
	mps_debug("listener %s closed by the application",
		  mps_addr_str(&lst->addr.sa, a, sizeof(a)));
	shutdown(lst->fd, SHUT_RDWR);
	for (; ho->q_n; ho->q_n--) {
		handoff_drop(eng, &ho->q[ho->q_head]);
		ho->q_head = (ho->q_head + 1) % ho->q_cap;
	}
	/* the list's reference goes with the accept op, the channel op
	 * holds its own */
	if (lst->acc_paused) {
		/* the accept op, submitted again and cancelled, still
		 * carries the release */
		mps_timer_cancel(eng->loop, &lst->acc_pause);
		lst->acc_paused = false;
		if (mps_loop_submit(eng->loop, &lst->acc))
			mps_err("listener: cannot release a paused listener");
	}
	if (lst->acc.pending)
		mps_loop_cancel(eng->loop, &lst->acc);
	if (ho->chop.pending)
		mps_loop_cancel(eng->loop, &ho->chop);
}

/* ------------------------------------------------------------------ */
/* the channel                                                         */

static int chan_send(int chan, int fd, const struct mps_handoff_msg *msg)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(&cm, 0, sizeof(cm));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(chan, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static void chan_arm(struct mps_listener *lst)
{
	struct mps_handoff *ho = lst->ho;
	unsigned mask = POLLRDHUP | (ho->q_n ? POLLOUT : 0);

	if (ho->chop.pending) {
		/* resubmitted with the new mask from its callback */
		if (mask != ho->chop_mask)
			mps_loop_cancel(lst->eng->loop, &ho->chop);
		return;
	}
	ho->chop_mask = mask;
	if (mps_loop_poll(lst->eng->loop, &ho->chop, ho->chan, mask))
		mps_err("listener: cannot watch the accept channel");
}

/* Send what the application's backlog holds, oldest first.  false: the
 * channel is gone. */
static bool chan_flush(struct mps_listener *lst)
{
	struct mps_handoff *ho = lst->ho;

	while (ho->q_n) {
		struct handoff_item *it = &ho->q[ho->q_head];
		int rc = chan_send(ho->chan, it->fd, &it->msg);

		if (rc == -EAGAIN)
			return true;
		if (rc)
			return false;
		close(it->fd);
		ho->q_head = (ho->q_head + 1) % ho->q_cap;
		ho->q_n--;
		accept_resume(lst);
	}
	return true;
}

static void chan_cb(struct mps_op *op, int res)
{
	struct mps_listener *lst = op->ctx;

	if (lst->closed) {
		mps_listener_put(lst);
		return;
	}
	if (res > 0 && (res & (POLLHUP | POLLRDHUP | POLLERR))) {
		listener_close(lst);
		mps_listener_put(lst);
		return;
	}
	if (res > 0 && (res & POLLOUT) && !chan_flush(lst)) {
		listener_close(lst);
		mps_listener_put(lst);
		return;
	}
	chan_arm(lst);
}

/*
 * Offer one connection to the application: straight into the channel,
 * or into the backlog while the channel is full.  The listener owns fd
 * from here.  -ECONNREFUSED when the backlog is full or the application
 * closed the listener (fd is closed then, for a TCP socket with a reset).
 */
static int handoff_offer(struct mps_listener *lst, int fd,
			 const struct mps_handoff_msg *msg)
{
	struct mps_handoff *ho = lst->ho;
	struct handoff_item it = { .fd = fd, .msg = *msg };
	int rc;

	if (lst->closed) {
		handoff_drop(lst->eng, &it);
		return -ECONNREFUSED;
	}
	if (ho->q_n == 0) {
		rc = chan_send(ho->chan, fd, msg);
		if (rc == 0) {
			close(fd);
			return 0;
		}
		if (rc != -EAGAIN) {
			it.msg.multipath = 0;	/* its meta is refused by the caller */
			handoff_drop(lst->eng, &it);
			listener_close(lst);
			return -ECONNREFUSED;
		}
	}
	if (ho->q_n == ho->q_cap) {
		char a[MPS_ADDRSTRLEN];

		mps_warn("listener %s: backlog of %u full, refusing a connection",
			 mps_addr_str(&lst->addr.sa, a, sizeof(a)), ho->q_cap);
		it.msg.multipath = 0;
		handoff_drop(lst->eng, &it);
		return -ECONNREFUSED;
	}
	ho->q[(ho->q_head + ho->q_n) % ho->q_cap] = it;
	ho->q_n++;
	chan_arm(lst);
	return 0;
}

int mps_listener_handoff_meta(struct mps_meta *meta, struct mps_subflow *sf)
{
	struct mps_handoff_msg msg = { .magic = MPS_HANDOFF_MAGIC, .multipath = 1 };
	int sv[2], bufsz = MPS_RELAY_BUF, rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK)) {
		rc = -errno;
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	msg.meta_id = meta->id;
	msg.local = sf->local;
	msg.peer = sf->remote;
	rc = handoff_offer(sf->listener, sv[0], &msg);
	if (rc) {
		close(sv[1]);
		return rc;
	}
	return sv[1];
}

/* ------------------------------------------------------------------ */
/* classification                                                      */

/* Give the TCP socket itself to the application. */
static void handoff_plain(struct mps_subflow *sf)
{
	struct mps_handoff_msg msg = { .magic = MPS_HANDOFF_MAGIC };
	int fd;

	if (sf->conn.pending) {
		/* finished by the peek poll's callback */
		sf->to_plain = true;
		mps_loop_cancel(sf->eng->loop, &sf->conn);
		return;
	}
	fd = sf->sfd;
	sf->sfd = -1;
	sf->eng->cnt.subflows_open--;
	msg.local = sf->local;
	msg.peer = sf->remote;
	handoff_offer(sf->listener, fd, &msg);
	mps_subflow_die(sf, 0, "plain client handed to the application");
}

/* Has the client sent anything (or closed) yet? */
static bool classify_bytes_waiting(struct mps_subflow *sf)
{
	uint8_t b;
	ssize_t n = recv(sf->sfd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n >= 0 || (errno != EAGAIN && errno != EINTR);
}

static void classify_peek(struct mps_subflow *sf)
{
	struct mps_engine *eng = sf->eng;
	uint8_t b[8];
	ssize_t n = recv(sf->sfd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	uint64_t now;
	int rc;

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (!sf->conn.pending && mps_loop_poll(eng->loop, &sf->conn, sf->sfd, POLLIN))
			handoff_plain(sf);
		return;
	}
	if (n <= 0) {
		/* EOF or a reset before a byte: the app sees it as it would */
		handoff_plain(sf);
		return;
	}
	rc = mps_frame_classify(b, (size_t)n);
	if (rc == 0) {
		handoff_plain(sf);
		return;
	}
	if (rc > 0) {
		/* ours: read it for real; the HELLO or JOIN must be
		 * complete within hello_timeout */
		sf->classified = true;
		mps_subflow_apply_sockopts(sf);
		mps_timer_arm(eng->loop, &sf->timer, (uint64_t)eng->cfg.hello_timeout_ms);
		mps_subflow_start_recv(sf);
		return;
	}
	/* a prefix of our header so far: look again shortly (the data
	 * already there would wake a poll at once) */
	now = mps_clock_ns();
	if (now >= sf->classify_end_ns) {
		handoff_plain(sf);
		return;
	}
	mps_timer_arm_ns(eng->loop, &sf->timer,
			 now + CLASSIFY_REPEEK_MS * 1000000ull < sf->classify_end_ns ?
			 now + CLASSIFY_REPEEK_MS * 1000000ull : sf->classify_end_ns);
}

static void classify_poll_cb(struct mps_op *op, int res)
{
	struct mps_subflow *sf = op->ctx;

	if (sf->to_plain) {
		sf->to_plain = false;
		handoff_plain(sf);
		return;
	}
	if (sf->state != MPS_SF_CLASSIFY) {
		mps_subflow_maybe_release(sf);
		return;
	}
	if (res == -ECANCELED)
		return;
	classify_peek(sf);
}

static void classify_start(struct mps_subflow *sf)
{
	struct mps_engine *eng = sf->eng;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	uint64_t wait_ms = (uint64_t)eng->cfg.accept_wait_ms;

	/* the handshake gave the server one RTT sample */
	if (!getsockopt(sf->sfd, IPPROTO_TCP, TCP_INFO, &ti, &len) && ti.tcpi_rtt) {
		uint64_t rtt2 = 2 * (uint64_t)ti.tcpi_rtt / 1000;

		if (rtt2 < wait_ms)
			wait_ms = rtt2 > CLASSIFY_MIN_MS ? rtt2 : CLASSIFY_MIN_MS;
	}
	if (wait_ms > (uint64_t)eng->cfg.accept_wait_ms)
		wait_ms = (uint64_t)eng->cfg.accept_wait_ms;
	sf->classify_end_ns = mps_clock_ns() + wait_ms * 1000000ull;
	mps_op_init(&sf->conn, MPS_OP_POLL, classify_poll_cb, sf);
	mps_timer_arm_ns(eng->loop, &sf->timer, sf->classify_end_ns);
	classify_peek(sf);
}

void mps_listener_classify_timeout(struct mps_subflow *sf)
{
	if (!sf->listener->ho) {
		/* silent client: a plain TCP client waiting for a banner */
		mps_meta_plain_client(sf);
		return;
	}
	if (sf->classified) {
		sf->eng->cnt.handshake_failed++;
		mps_subflow_die(sf, -ETIMEDOUT, "incomplete HELLO or JOIN");
		return;
	}
	/* a timer that ran late (a busy machine) may find the first bytes
	 * there already: look once more before calling the client silent */
	if (mps_clock_ns() >= sf->classify_end_ns && !classify_bytes_waiting(sf))
		handoff_plain(sf);
	else
		classify_peek(sf);
}

void mps_meta_plain_client(struct mps_subflow *sf)
{
	struct mps_engine *eng = sf->eng;
	const struct mps_listener *lst = sf->listener;
	int rc;

	if (lst->ho) {
		if (sf->classified) {
			/* it began like our header and then was not: its
			 * first bytes are read, so it cannot be handed on */
			eng->cnt.proto_errors++;
			mps_subflow_die(sf, -EPROTO, "malformed handshake");
		} else {
			handoff_plain(sf);
		}
		return;
	}
	sf->to_plain = true;
	if (sf->rd.pending) {
		/* finish the hand-off when the recv completes, so no byte
		 * the client sent can be read by a stale op */
		mps_loop_cancel(eng->loop, &sf->rd);
		return;
	}
	if (!lst->backend.sa.sa_family) {
		/* proxyd in forward mode only: no service for plain clients */
		mps_forward_plain_refused(sf);
		return;
	}
	mps_engine_unclassified_unlink(sf);
	mps_timer_cancel(eng->loop, &sf->timer);
	rc = mps_pump_connect(eng, sf->sfd, &lst->backend.sa, sf->ibuf, sf->ilen,
			      NULL, NULL, NULL, 0);
	if (rc == 0) {
		sf->sfd = -1;	/* owned by the relay now */
		eng->cnt.subflows_open--;
	}
	sf->state = MPS_SF_DEAD;
}

/* ------------------------------------------------------------------ */
/* accepting                                                           */

/*
 * accept4 failed for want of a descriptor (or memory).  The connection
 * stays in the backlog and keeps the listener readable, so polling it
 * again would spin.  Take it with the spare descriptor and reset it, as a
 * server that cannot serve it would: the client learns at once instead
 * of waiting (nofile.c).  1: one refused, try the next; 0: the backlog is
 * empty; -1: no spare (lent to a scrape, or taken by another thread of
 * the shim's application), so pause the listener for a moment instead.
 */
static int listener_refuse_one(struct mps_listener *lst, int err)
{
	int rc;

	if (mps_nofile_warn_due(&lst->nofile_warn_ns))
		mps_warn("accept: %s: refusing new connections until descriptors "
			 "free up", strerror(err));
	if (!lst->ho)	/* proxyd: additional subflows make room */
		mps_nofile_out(lst->eng, err);
	rc = mps_nofile_refuse(lst->eng, lst->fd);
	if (rc > 0)
		lst->eng->cnt.nofile_refused++;
	return rc;
}

/*
 * proxyd: a connection just accepted for which no backend descriptor is
 * left (nofile.c counts a backend owed to each one still classifying) is
 * reset at once.  Accepting it would take a descriptor that a client
 * accepted before needs for its backend, and a burst larger than what
 * fits would then be accepted whole and refused whole at its HELLOs.
 */
static bool listener_admit(struct mps_listener *lst, int fd, bool *owes)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint8_t type;

	*owes = false;
	if (lst->ho)
		return true;
	/* a JOIN, which needs no backend, has mostly sent its first bytes
	 * by now: a crowd of JOINs must not keep a new client out */
	*owes = recv(fd, &type, 1, MSG_PEEK | MSG_DONTWAIT) != 1 || type != MPS_FT_JOIN;
	if (mps_nofile_admit(lst->eng, fd, *owes))
		return true;
	if (mps_nofile_warn_due(&lst->nofile_warn_ns))
		mps_warn("accept: no descriptor left for a backend: refusing new "
			 "connections until descriptors free up");
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	lst->eng->cnt.nofile_refused++;
	return false;
}

static void listener_accept(struct mps_op *op, int res)
{
	struct mps_listener *lst = op->ctx;
	struct mps_engine *eng = lst->eng;

	if (lst->closed) {
		/* listener_close(): the socket and the list's reference go
		 * with this op */
		close(lst->fd);
		lst->fd = -1;
		listener_unlink(lst);
		mps_listener_put(lst);
		return;
	}
	for (;;) {
		union mps_sockaddr peer;
		socklen_t plen = sizeof(peer);
		struct mps_subflow *sf;
		bool owes;
		int fd;

		if (backlog_full(lst)) {
			accept_pause(lst, 0);
			return;
		}
		fd = accept4(lst->fd, &peer.sa, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int rc;

			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (!mps_nofile_errno(errno)) {
				if (errno != EAGAIN)
					mps_warn("accept: %s", strerror(errno));
				break;
			}
			rc = listener_refuse_one(lst, errno);
			if (rc > 0)
				continue;
			if (rc < 0) {
				accept_pause(lst, MPS_NOFILE_PAUSE_MS);
				return;
			}
			break;
		}
		if (!listener_admit(lst, fd, &owes))
			continue;
		sf = mps_subflow_new(eng, fd);
		if (!sf) {
			close(fd);
			continue;
		}
		sf->owes_backend = owes;
		sf->remote = peer;
		plen = sizeof(sf->local);
		getsockname(fd, &sf->local.sa, &plen);
		sf->state = MPS_SF_CLASSIFY;
		sf->listener = lst;
		lst->refs++;
		sf->lprev = NULL;
		sf->lnext = eng->unclassified;
		if (eng->unclassified)
			eng->unclassified->lprev = sf;
		eng->unclassified = sf;
		eng->nofile_owed += owes;
		if (lst->ho) {
			lst->classifying++;
			/* subflow options wait until it proves multipath */
			classify_start(sf);
			continue;
		}
		mps_subflow_apply_sockopts(sf);
		mps_timer_arm(eng->loop, &sf->timer, (uint64_t)eng->cfg.hello_timeout_ms);
		mps_subflow_start_recv(sf);
	}
	if (mps_loop_submit(eng->loop, &lst->acc))
		mps_err("listener: cannot re-arm accept");
}

bool mps_listener_same_service(const struct mps_listener *a,
			       const struct mps_listener *b)
{
	if (a->ho || b->ho)
		return a->ho && b->ho &&
		       mps_addr_port(&a->addr.sa) == mps_addr_port(&b->addr.sa);
	return mps_addr_equal(&a->backend.sa, &b->backend.sa);
}

int mps_engine_listen(struct mps_engine *eng, const struct sockaddr *addr,
		      const struct sockaddr *backend)
{
	struct mps_listener *lst;
	int one = 1, fd, rc;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (strcmp(eng->cfg.fastopen, "no")) {
		/* SYNs carrying HELLO and early data, where the host allows
		 * it (net.ipv4.tcp_fastopen with 2 set); queue as listen's */
		int qlen = 4096;

		setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen));
	}
	if (bind(fd, addr, mps_addr_len(addr)) || listen(fd, 4096)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	lst = listener_new(eng, fd, addr);
	if (!lst) {
		close(fd);
		return -ENOMEM;
	}
	if (backend)	/* else AF_UNSPEC: forward mode only */
		memcpy(&lst->backend, backend, mps_addr_len(backend));
	rc = mps_loop_poll(eng->loop, &lst->acc, lst->fd, POLLIN);
	if (rc) {
		mps_listener_put(lst);
		return rc;
	}
	lst->next = eng->listeners;
	eng->listeners = lst;
	/* libcrypto's first-use setup (about 1 ms) and the first HELLO's
	 * key pair before any client waits on them */
	mps_engine_warm_later(eng);
	return 0;
}

/* ------------------------------------------------------------------ */
/* the shim's side: commands from application threads                  */

struct accept_cmd {
	int lfd, chan, backlog;
	union mps_sockaddr local;
	int rc;
};

static void cmd_accept_start(struct mps_engine *eng, void *arg)
{
	struct accept_cmd *ac = arg;
	struct mps_listener *lst;
	struct mps_handoff *ho;
	unsigned cap = ac->backlog > 0 ? (unsigned)ac->backlog : 1;

	if (cap > 65535)
		cap = 65535;
	lst = listener_new(eng, ac->lfd, &ac->local.sa);
	ho = calloc(1, sizeof(*ho));
	if (ho)
		ho->q = calloc(cap, sizeof(*ho->q));
	if (!lst || !ho || !ho->q) {
		if (ho)
			free(ho->q);
		free(ho);
		free(lst);
		ac->rc = -ENOMEM;
		return;
	}
	ho->chan = ac->chan;
	ho->q_cap = cap;
	mps_op_init(&ho->chop, MPS_OP_POLL, chan_cb, lst);
	lst->ho = ho;
	ac->rc = mps_loop_poll(eng->loop, &lst->acc, lst->fd, POLLIN);
	if (ac->rc) {
		ho->chan = -1;	/* the caller keeps its descriptors */
		lst->fd = -1;
		mps_listener_put(lst);
		return;
	}
	/* the channel op holds a reference of its own */
	lst->refs++;
	chan_arm(lst);
	lst->next = eng->listeners;
	eng->listeners = lst;
}

int mps_engine_accept_start(struct mps_engine *eng, int lfd, int chan, int backlog,
			    const struct sockaddr *local)
{
	struct accept_cmd ac = { .lfd = lfd, .chan = chan, .backlog = backlog };
	int rc;

	memcpy(&ac.local, local, mps_addr_len(local));
	rc = mps_engine_call(eng, cmd_accept_start, &ac);
	return rc ? rc : ac.rc;
}

static void cmd_accept_reap(struct mps_engine *eng, void *arg)
{
	struct mps_listener *lst, *next;

	(void)arg;
	for (lst = eng->listeners; lst; lst = next) {
		struct pollfd p;

		next = lst->next;
		if (!lst->ho || lst->closed)
			continue;
		p.fd = lst->ho->chan;
		p.events = POLLRDHUP;
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)))
			listener_close(lst);
	}
}

void mps_engine_accept_reap(struct mps_engine *eng)
{
	mps_engine_call(eng, cmd_accept_reap, NULL);
}
