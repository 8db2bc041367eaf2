/*
 * connect.c - connect(): where a TCP socket becomes a multipath connection.
 *
 * For a destination the policy upgrades, the app's descriptor number is
 * re-pointed (dup3) at one end of an AF_UNIX socketpair; the engine owns
 * the other end and carries the bytes over subflows.  The app keeps a real
 * kernel descriptor, so poll/epoll/read/write/sendfile work unchanged.
 *
 * Non-blocking connect must not look writable before the multipath
 * handshake is done, yet a socketpair is born connected.  So before the
 * app gets its end, its send buffer is filled with filler bytes until
 * EAGAIN: poll then reports neither POLLOUT nor POLLIN.  When the
 * connection is up (or has failed), the engine reads exactly that filler
 * and the descriptor turns writable at that moment; SO_ERROR (interposed)
 * tells the outcome.
 *
 * With early data (key early_data) "the connection is up" comes before
 * the multipath handshake is done: once the first subflow's TCP
 * connection is up and HELLO is queued.  A refusal after that reaches the
 * app as a reset on the relay (close.c), and a fallback as a relay that
 * is plain from then on (on_settled).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "fdtab.h"
#include "handoff.h"
#include "log.h"
#include "shim.h"

static void to_app_family(const struct sockaddr *sa, int domain,
			  union mps_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (domain == AF_INET6 && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = in->sin_port;
		out->in6.sin6_addr.s6_addr[10] = 0xff;
		out->in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->in6.sin6_addr.s6_addr[12], &in->sin_addr, 4);
		return;
	}
	memcpy(out, sa, mps_addr_len(sa));
}

/* Engine thread: the connection is up or has failed. */
static void on_connected(void *arg, int err, const struct sockaddr *local,
			 bool multipath)
{
	struct mps_fdent *e = arg;

	pthread_mutex_lock(&e->lock);
	if (err) {
		e->state = MPS_FDS_FAILED;
		e->error = -err;
	} else {
		e->state = MPS_FDS_CONNECTED;
		e->multipath = multipath;
		if (local)
			to_app_family(local, e->domain, &e->local);
	}
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	mps_fdent_put(e);
}

static size_t fill_with(int fd, size_t chunk)
{
	static const char filler[16384];
	size_t total = 0;

	for (;;) {
		ssize_t n = send(fd, filler, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0)
			total += (size_t)n;
		else if (!(n < 0 && errno == EINTR))
			return total;
	}
}

static size_t fill_until_full(int fd)
{
	/* single bytes squeeze out the room big writes leave */
	return fill_with(fd, 16384) + fill_with(fd, 1);
}

int mps_shim_install_fd(int fd, int app_end)
{
	int fdflags = mps_real_fcntl(fd, F_GETFD);
	int flflags = mps_real_fcntl(fd, F_GETFL);

	if (fdflags < 0 || flflags < 0)
		return -errno;
	if (mps_real_dup3(app_end, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		return -errno;
	mps_real_fcntl(fd, F_SETFL, flflags & (O_NONBLOCK | O_ASYNC));
	return 0;
}

/* Out of descriptors for the relay or a subflow.  The application's own
 * socket needs none to connect, so plain TCP still works: fail open. */
static bool out_of_fds(int rc)
{
	return rc == -EMFILE || rc == -ENFILE;
}

/* TCP_CONGESTION set on the TCP socket before connect: every subflow of
 * the connection gets it, the first one included (the command follows
 * the connect in the engine's queue). */
static void carry_congestion(struct mps_engine *eng, struct mps_fdent *e, unsigned id)
{
	char cc[sizeof(e->congestion)];

	pthread_mutex_lock(&e->lock);
	memcpy(cc, e->congestion, sizeof(cc));
	pthread_mutex_unlock(&e->lock);
	if (cc[0] && !mps_engine_congestion_set(eng, id, cc)) {
		pthread_mutex_lock(&e->lock);
		e->congestion[0] = '\0';	/* the engine's now */
		pthread_mutex_unlock(&e->lock);
	}
}

/* ps: the first SYN, if this connect started the engine; the engine
 * takes it, or the caller closes it. */
static int upgrade(int fd, struct mps_fdent *e, const struct sockaddr *addr,
		   socklen_t len, const union mps_sockaddr *dest,
		   struct mps_engine *eng, struct mps_presyn *ps)
{
	int sv[2], flflags, rc, bufsz = MPS_RELAY_BUF;
	unsigned id = 0;
	bool nonblock;
	size_t filler = 0;

	flflags = mps_real_fcntl(fd, F_GETFL);
	if (flflags < 0)
		return -errno;
	nonblock = flflags & O_NONBLOCK;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		rc = -errno;
		if (!out_of_fds(rc))
			return rc;
		mps_info("connect: no descriptor for the relay: plain TCP");
		return 1;
	}
	mps_real_setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	mps_real_setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	mps_real_fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (nonblock)
		filler = fill_until_full(sv[0]);

	pthread_mutex_lock(&e->lock);
	e->state = MPS_FDS_CONNECTING;
	e->error = 0;
	memset(&e->peer, 0, sizeof(e->peer));
	memcpy(&e->peer, addr, len < sizeof(e->peer) ? len : sizeof(e->peer));
	pthread_mutex_unlock(&e->lock);

	if (nonblock) {
		rc = mps_shim_install_fd(fd, sv[0]);
		mps_real_close(sv[0]);
		if (rc) {
			mps_real_close(sv[1]);
			return rc;
		}
		mps_fdent_get(e);
		/* under the lock: the engine's callbacks and its relay reset
		 * find the entry by meta_id, which is set before the command
		 * can run */
		pthread_mutex_lock(&e->lock);
		mps_fdent_set_kind(e, MPS_FD_RELAY);
		e->owner = getpid();
		rc = mps_engine_connect(eng, &dest->sa, sv[1], filler, on_connected, e,
					&e->meta_id, ps);
		if (rc) {
			e->state = MPS_FDS_FAILED;
			e->error = -rc;
		}
		id = e->meta_id;
		pthread_mutex_unlock(&e->lock);
		if (rc) {
			mps_fdent_put(e);
			mps_real_close(sv[1]);
			return rc;
		}
		carry_congestion(eng, e, id);
		return -EINPROGRESS;
	}

	mps_fdent_get(e);
	pthread_mutex_lock(&e->lock);
	e->owner = getpid();
	/* early data: the engine may reset the connection before this thread
	 * has installed the relay; the reset then goes to this end */
	e->relay_app = sv[0];
	rc = mps_engine_connect(eng, &dest->sa, sv[1], 0, on_connected, e, &e->meta_id,
				ps);
	if (rc)
		e->relay_app = -1;
	id = e->meta_id;
	pthread_mutex_unlock(&e->lock);
	if (rc) {
		mps_fdent_put(e);
		mps_real_close(sv[0]);
		mps_real_close(sv[1]);
		if (!out_of_fds(rc))
			return rc;
		pthread_mutex_lock(&e->lock);
		e->state = MPS_FDS_IDLE;	/* plain from here, as never tried */
		pthread_mutex_unlock(&e->lock);
		return 1;
	}
	carry_congestion(eng, e, id);
	pthread_mutex_lock(&e->lock);
	while (e->state == MPS_FDS_CONNECTING)
		pthread_cond_wait(&e->cond, &e->lock);
	rc = e->state == MPS_FDS_FAILED ? -e->error : 0;
	if (rc) {
		/* the app's descriptor is still its unconnected TCP socket */
		e->state = MPS_FDS_IDLE;
		e->error = 0;
		e->meta_id = 0;
	} else {
		rc = mps_shim_install_fd(fd, sv[0]);
		if (!rc)
			mps_fdent_set_kind(e, MPS_FD_RELAY);
	}
	e->relay_app = -1;
	pthread_mutex_unlock(&e->lock);
	if (out_of_fds(rc))
		mps_info("connect: no descriptor for a subflow: plain TCP");
	mps_real_close(sv[0]);
	return out_of_fds(rc) ? 1 : rc;
}

struct settled_arg {
	unsigned meta_id;
	pid_t pid;
	bool multipath;
	const struct sockaddr *local;
};

static void settle_fd(int fd, struct mps_fdent *e, void *arg)
{
	struct settled_arg *a = arg;

	(void)fd;
	pthread_mutex_lock(&e->lock);
	if (e->meta_id == a->meta_id && e->owner == a->pid &&
	    e->state == MPS_FDS_CONNECTED) {
		e->multipath = a->multipath;
		if (a->local)
			to_app_family(a->local, e->domain, &e->local);
	}
	pthread_mutex_unlock(&e->lock);
}

/* Engine thread: a connection that had connected early fell back to
 * plain TCP (engine.h, mps_engine_set_relay_settled). */
void mps_shim_relay_settled(void *arg, unsigned meta_id, bool multipath,
			    const struct sockaddr *local)
{
	struct settled_arg a = {
		.meta_id = meta_id, .pid = getpid(), .multipath = multipath,
		.local = local,
	};

	(void)arg;
	mps_fdtab_each(settle_fd, &a);
}

/*
 * IPV6_V6ONLY of an AF_INET6 socket, remembered now for getsockopt on the
 * relay (it cannot change once connected).  A v6-only socket cannot reach
 * an IPv4-mapped address: that connect is left to the kernel, which
 * refuses it as TCP does.
 */
static bool v6only_refuses(int fd, struct mps_fdent *e, const struct sockaddr *addr)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)addr;
	socklen_t n = sizeof(int);
	int v6only = 0;

	if (e->domain != AF_INET6 ||
	    mps_real_getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &n))
		return false;
	pthread_mutex_lock(&e->lock);
	mps_fdent_opt_set(e, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
	pthread_mutex_unlock(&e->lock);
	return v6only && addr->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
}

MPS_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct mps_presyn ps = { .sfd = -1 };
	struct mps_engine *eng;
	struct mps_fdent *e;
	union mps_sockaddr dest;
	int rc;

	if (mps_shim_bypass() || !mps_shim_active())
		return mps_real_connect ? mps_real_connect(fd, addr, len) :
					  (errno = ENOSYS, -1);
	e = mps_fdtab_get(fd);
	if (!e)
		return mps_real_connect(fd, addr, len);
	if (mps_fdent_kind(e) == MPS_FD_RELAY) {
		pthread_mutex_lock(&e->lock);
		switch (e->state) {
		case MPS_FDS_CONNECTING:
			rc = -EALREADY;
			break;
		case MPS_FDS_FAILED:
			rc = e->error ? -e->error : -ECONNABORTED;
			e->error = 0;
			break;
		default:
			rc = -EISCONN;
		}
		pthread_mutex_unlock(&e->lock);
		goto out;
	}
	if (!addr || len < sizeof(sa_family_t) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
	    len < mps_addr_len(addr)) {
		mps_fdent_put(e);
		return mps_real_connect(fd, addr, len);
	}
	if (v6only_refuses(fd, e, addr)) {
		mps_fdent_put(e);
		return mps_real_connect(fd, addr, len);
	}
	mps_addr_unmap(addr, &dest);
	if (!mps_config_dest_match(mps_shim_config(), &dest.sa)) {
		mps_fdent_put(e);
		return mps_real_connect(fd, addr, len);
	}
	eng = mps_shim_engine_for(&dest.sa, &ps);
	/* no engine: fail open, as plain TCP */
	rc = !eng || mps_engine_dest_is_plain(eng, &dest.sa) ? 1 :
	     upgrade(fd, e, addr, len, &dest, eng, &ps);
	mps_shim_presyn_close(&ps);
	if (rc == 1) {
		mps_fdent_put(e);
		return mps_real_connect(fd, addr, len);
	}
out:
	mps_fdent_put(e);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}
