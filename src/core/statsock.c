/*
 * statsock.c - the live snapshot of an engine's connections for
 * `mpshim stats`, served on the abstract AF_UNIX stream socket
 * @mpshim/stats/PID (key stats_socket).
 *
 * Owns the listening socket and the answers in progress.  A reader
 * connects and writes nothing; the engine builds one snapshot on its own
 * thread (the numbers agree with each other, and no lock is needed),
 * sends it through the loop and closes.  The engine never waits for a
 * reader: the answer is sent asynchronously, a reader that stops reading
 * is dropped after MPS_STATSOCK_TIMEOUT_MS, and at most
 * MPS_STATSOCK_READERS are answered at once (the rest wait in the
 * backlog, and the listener is not polled meanwhile, so a crowd costs no
 * CPU).  Out of descriptors, a reader is answered in the place of the
 * engine's spare descriptor, as a metrics scrape is (nofile.c), or the
 * listener rests for MPS_NOFILE_PAUSE_MS while the spare is lent out.
 *
 * Abstract sockets have no file permissions, so anyone in the network
 * namespace can connect: only the engine's own user and root are answered
 * (SO_PEERCRED); others get a one-line refusal, since where a user's
 * programs connect to is that user's business.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "engine_int.h"
#include "log.h"
#include "stats.h"
#include "text.h"

#define MPS_STATSOCK_READERS	4
#define MPS_STATSOCK_MAX	(8u << 20)	/* ceiling of one snapshot */
#define MPS_STATSOCK_TIMEOUT_MS	5000

struct mps_stats_reader {
	struct mps_statsock *ss;
	int fd;
	struct mps_op wr;
	struct mps_timer timer;		/* a reader that stops reading */
	struct mps_text out;
	size_t off;			/* bytes of out already sent */
	bool used;
};

struct mps_statsock {
	struct mps_engine *eng;
	int lfd;
	struct mps_op acc;
	struct mps_timer pause;		/* out of descriptors, no spare */
	bool stopping;			/* close the listener, answer no one new */
	struct mps_stats_reader readers[MPS_STATSOCK_READERS];
};

static void statsock_arm(struct mps_statsock *ss);

static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || len != sizeof(cr))
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void reader_end(struct mps_stats_reader *r)
{
	struct mps_statsock *ss = r->ss;

	mps_timer_cancel(ss->eng->loop, &r->timer);
	close(r->fd);
	r->fd = -1;
	mps_nofile_spare_restore(ss->eng);	/* it may have been the spare's */
	mps_text_free(&r->out);
	r->used = false;
	/* if every slot was taken the listener was left alone: a slot is
	 * free now, so take the next waiting reader */
	statsock_arm(ss);
}

static void reader_send(struct mps_stats_reader *r)
{
	r->wr.fd = r->fd;
	r->wr.buf = r->out.buf + r->off;
	r->wr.len = r->out.len - r->off;
	r->wr.msg_flags = 0;
	if (mps_loop_submit(r->ss->eng->loop, &r->wr))
		reader_end(r);
}

static void reader_sent(struct mps_op *op, int res)
{
	struct mps_stats_reader *r = op->ctx;

	if (res <= 0) {
		/* gone, reset, or cancelled by the timeout */
		mps_debug("stats socket: answer not delivered (%s)",
			  res ? strerror(-res) : "no progress");
		reader_end(r);
		return;
	}
	r->off += (size_t)res;
	if (r->off < r->out.len) {
		reader_send(r);
		return;
	}
	shutdown(r->fd, SHUT_WR);
	reader_end(r);
}

static void reader_timeout(struct mps_timer *t)
{
	struct mps_stats_reader *r = t->ctx;

	if (r->used && r->wr.pending)
		mps_loop_cancel(r->ss->eng->loop, &r->wr);	/* ends in reader_sent */
}

/* Another user: say so, in one small send a fresh socket always takes. */
static void refuse(int fd)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg),
			 "{\"mpshim_stats\": %d, \"pid\": %ld, \"error\": \"EACCES\"}\n",
			 MPS_STATS_VERSION, (long)getpid());

	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		mps_debug("stats socket: refusal not delivered");
	close(fd);
}

static void reader_start(struct mps_statsock *ss, struct mps_stats_reader *r, int fd)
{
	r->ss = ss;
	r->fd = fd;
	r->off = 0;
	r->used = true;
	mps_op_init(&r->wr, MPS_OP_SEND, reader_sent, r);
	mps_timer_init(&r->timer, reader_timeout, r);
	mps_text_init(&r->out, MPS_STATSOCK_MAX);
	mps_stats_snapshot(ss->eng, &r->out);
	if (r->out.full) {
		/* out of memory: a short answer that still parses */
		mps_text_free(&r->out);
		mps_text_init(&r->out, 256);
		mps_text_printf(&r->out, "{\"mpshim_stats\": %d, \"pid\": %ld, "
				"\"error\": \"ENOMEM\"}\n", MPS_STATS_VERSION,
				(long)getpid());
	}
	mps_timer_arm(ss->eng->loop, &r->timer, MPS_STATSOCK_TIMEOUT_MS);
	reader_send(r);
}

static void statsock_accept(struct mps_op *op, int res)
{
	struct mps_statsock *ss = op->ctx;

	if (ss->stopping) {
		close(ss->lfd);
		ss->lfd = -1;
		return;
	}
	if (res < 0 && res != -ECANCELED) {
		/* not expected of a listener; polling again would only spin.
		 * The name stays bound and readers time out. */
		mps_warn("stats socket: poll failed (%s): no longer answering",
			 strerror(-res));
		return;
	}
	/* -ECANCELED here: a stop taken back before its cancel completed */
	for (;;) {
		struct mps_stats_reader *r = NULL;
		int fd;

		for (unsigned i = 0; i < MPS_STATSOCK_READERS && !r; i++)
			if (!ss->readers[i].used)
				r = &ss->readers[i];
		if (!r)
			return;		/* re-armed by reader_end */
		fd = accept4(ss->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && mps_nofile_errno(errno)) {
			fd = mps_nofile_accept_spare(ss->eng, ss->lfd,
						     SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd == -EMFILE) {
				/* the pause's end polls again */
				mps_timer_arm(ss->eng->loop, &ss->pause, MPS_NOFILE_PAUSE_MS);
				return;
			}
		}
		if (fd < 0)
			break;
		if (!peer_allowed(fd)) {
			mps_debug("stats socket: refused a reader of another user");
			refuse(fd);
			mps_nofile_spare_restore(ss->eng);
			continue;
		}
		reader_start(ss, r, fd);
	}
	statsock_arm(ss);
}

static void statsock_arm(struct mps_statsock *ss)
{
	if (ss->lfd < 0 || ss->stopping || ss->acc.pending || mps_timer_armed(&ss->pause))
		return;
	if (mps_loop_poll(ss->eng->loop, &ss->acc, ss->lfd, POLLIN))
		mps_err("stats socket: cannot poll the listener");
}

static void statsock_pause_end(struct mps_timer *t)
{
	statsock_arm(t->ctx);
}

static int statsock_bind(struct mps_statsock *ss)
{
	struct sockaddr_un sun;
	socklen_t len = mps_stats_socket_addr(getpid(), &sun);
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, len) || listen(fd, 16)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	ss->lfd = fd;
	return 0;
}

int mps_statsock_open(struct mps_engine *eng)
{
	struct mps_statsock *ss = eng->statsock;
	int rc;

	if (ss && ss->lfd >= 0) {
		/* still open: a stop not completed yet is taken back */
		ss->stopping = false;
		statsock_arm(ss);
		return 0;
	}
	if (!ss) {
		ss = calloc(1, sizeof(*ss));
		if (!ss)
			return -ENOMEM;
		ss->eng = eng;
		ss->lfd = -1;
		mps_op_init(&ss->acc, MPS_OP_POLL, statsock_accept, ss);
		mps_timer_init(&ss->pause, statsock_pause_end, ss);
		for (unsigned i = 0; i < MPS_STATSOCK_READERS; i++)
			ss->readers[i].fd = -1;
		eng->statsock = ss;
	}
	ss->stopping = false;
	rc = statsock_bind(ss);
	if (rc == -EADDRINUSE)
		mps_warn("stats socket @%s%ld is taken by another process: "
			 "mpshim stats will not see this one",
			 MPS_STATS_SOCKET_PREFIX, (long)getpid());
	else if (rc)
		mps_debug("stats socket unavailable: %s", strerror(-rc));
	if (rc)
		return rc;
	statsock_arm(ss);
	return 0;
}

void mps_statsock_stop(struct mps_engine *eng)
{
	struct mps_statsock *ss = eng->statsock;

	if (!ss || ss->lfd < 0)
		return;
	ss->stopping = true;
	if (ss->acc.pending) {
		mps_loop_cancel(eng->loop, &ss->acc);	/* closes it */
		return;
	}
	close(ss->lfd);
	ss->lfd = -1;
}

void mps_statsock_free(struct mps_engine *eng)
{
	struct mps_statsock *ss = eng->statsock;

	if (!ss)
		return;
	for (unsigned i = 0; i < MPS_STATSOCK_READERS; i++) {
		if (!ss->readers[i].used)
			continue;
		close(ss->readers[i].fd);
		mps_text_free(&ss->readers[i].out);
	}
	if (ss->lfd >= 0)
		close(ss->lfd);
	free(ss);
	eng->statsock = NULL;
}

/*
 * A forked child holds copies of the listener and of the readers'
 * sockets but will never run this engine: close its copies, or the name
 * would outlive the parent (a reader would wait for an answer forever)
 * and a reader would see no end of its answer while the child lives.
 */
void mps_statsock_atfork_child(struct mps_engine *eng)
{
	struct mps_statsock *ss = eng->statsock;

	if (!ss)
		return;
	for (unsigned i = 0; i < MPS_STATSOCK_READERS; i++)
		if (ss->readers[i].used)
			close(ss->readers[i].fd);
	if (ss->lfd >= 0)
		close(ss->lfd);
}
