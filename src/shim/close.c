/*
 * close.c - close(): forget the descriptor, and what TCP's close means
 * for a relay.
 *
 * Closing a relay needs nothing more in the common case: the engine reads
 * EOF on its end once the last descriptor sharing the relay is closed,
 * sends the queued data, then DATA_FIN, as TCP would.  SO_LINGER, which
 * the relay socket keeps as a TCP socket would, changes that when this
 * process closes its last descriptor of a connection its own engine
 * carries: {1, 0} aborts the connection (FASTCLOSE, queued data dropped:
 * TCP's reset), {1, N} makes close() wait up to N seconds until the peer
 * has acknowledged everything, DATA_FIN included.  Closing a listener's
 * channel for the last time stops the engine's TCP listener.
 *
 * Also here, because it needs the descriptor table: the engine's way to
 * make a relay's application read ECONNRESET (engine.h).
 */
#include <errno.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "fdtab.h"
#include "shim.h"

struct count_arg {
	const struct mps_fdent *e;
	int n;
};

static void count_fd(int fd, struct mps_fdent *e, void *arg)
{
	struct count_arg *a = arg;

	(void)fd;
	a->n += e == a->e;
}

/* The relay's SO_LINGER, when it applies to this close: the last
 * descriptor of a connection this process's engine carries (kind, meta_id
 * and owner as read under the entry's lock). */
static bool linger_applies(int fd, struct mps_fdent *e, enum mps_fd_kind kind,
			   unsigned meta_id, pid_t owner, struct linger *lg)
{
	struct count_arg a = { .e = e };
	socklen_t len = sizeof(*lg);

	if (kind != MPS_FD_RELAY || !meta_id || owner != getpid() ||
	    mps_real_getsockopt(fd, SOL_SOCKET, SO_LINGER, lg, &len) || !lg->l_onoff)
		return false;
	mps_fdtab_each(count_fd, &a);
	return a.n == 1;
}

/* SO_LINGER {1, N}: wait until the peer acknowledged all, or N seconds,
 * as TCP's close() does, even on a non-blocking socket. */
static void linger_wait(struct mps_engine *eng, unsigned meta_id, int seconds)
{
	struct timespec step = { .tv_sec = 0, .tv_nsec = 5 * 1000000 };
	long waited_ms = 0;

	while (waited_ms < (long)seconds * 1000 && mps_engine_unacked(eng, meta_id)) {
		nanosleep(&step, NULL);
		waited_ms += 5;
	}
}

MPS_EXPORT int close(int fd)
{
	struct mps_engine *eng;
	struct mps_fdent *e;
	struct linger lg = { 0 };
	bool listener, lingers = false;
	enum mps_fd_kind kind;
	unsigned meta_id = 0;
	pid_t owner;
	int rc, err;

	if (mps_shim_bypass())
		return mps_real_close ? mps_real_close(fd) : (errno = ENOSYS, -1);
	e = mps_fdtab_get(fd);
	listener = e && mps_fdent_kind(e) == MPS_FD_LISTEN;
	if (e && (eng = mps_shim_engine_running())) {
		pthread_mutex_lock(&e->lock);
		kind = e->kind;
		meta_id = e->meta_id;
		owner = e->owner;
		pthread_mutex_unlock(&e->lock);
		lingers = linger_applies(fd, e, kind, meta_id, owner, &lg);
		if (lingers && lg.l_linger == 0)
			mps_engine_abort(eng, meta_id);
	}
	mps_fdent_put(e);
	mps_fdtab_clear(fd);
	rc = mps_real_close(fd);
	err = errno;
	if (lingers && lg.l_linger > 0 && (eng = mps_shim_engine_running()))
		linger_wait(eng, meta_id, lg.l_linger);
	if (listener && (eng = mps_shim_engine_running())) {
		/* the engine's TCP listener must stop when the app's last
		 * channel end is gone, before close() returns: an app may
		 * bind the port again at once */
		mps_engine_accept_reap(eng);
	}
	errno = err;
	return rc;
}

struct reset_arg {
	unsigned meta_id;
	pid_t pid;
	bool done;
};

/* Under the table's lock: a descriptor still listed is not closed yet
 * (close() unlists first), so the byte cannot go to a reused number.  The
 * entry's lock too: an application thread may be connecting it (table
 * lock, then entry lock, as everywhere). */
static void reset_fd(int fd, struct mps_fdent *e, void *arg)
{
	struct reset_arg *a = arg;
	ssize_t n;
	int to = -1;

	if (a->done)
		return;
	pthread_mutex_lock(&e->lock);
	/* a blocking connect that succeeded early may not have put the
	 * relay at the app's number yet: its end is relay_app until then */
	if (e->meta_id == a->meta_id && e->owner == a->pid)
		to = e->kind == MPS_FD_RELAY ? fd : e->relay_app;
	if (to >= 0) {
		/* one byte into the engine's end, never read: its close then
		 * tells ours ECONNRESET.  A full relay already holds such
		 * bytes. */
		n = send(to, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		a->done = n == 1 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
	pthread_mutex_unlock(&e->lock);
}

bool mps_shim_relay_reset(void *arg, unsigned meta_id)
{
	struct reset_arg a = { .meta_id = meta_id, .pid = getpid() };
	int err = errno;

	(void)arg;
	mps_fdtab_each(reset_fd, &a);
	errno = err;
	return a.done;
}
