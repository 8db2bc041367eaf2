/*
 * listen.c - listen/accept/accept4: the server side under the shim.
 *
 * listen() on a TCP socket whose address matches `accept` gives the
 * socket to the engine and puts, at the app's descriptor number, the
 * app's end of the channel (handoff.h).  The engine classifies each new
 * connection; accept() receives one message from the channel and returns
 * the descriptor it carries: the client's own TCP socket when it is plain,
 * a relay when it is multipath.  JOINs never reach the app.
 *
 * The channel is a real kernel socket, so readiness works unchanged:
 * poll/select/epoll report it readable exactly when accept() would not
 * block, O_NONBLOCK gives EAGAIN, and processes that share the listener
 * (a pre-fork server) each receive whole connections from it.  The
 * process that called listen() carries every multipath connection through
 * its engine, for its children too: it must stay alive while they serve.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fdtab.h"
#include "handoff.h"
#include "log.h"
#include "shim.h"

int mps_shim_listen_take_over(int fd, struct mps_fdent *e,
			      const union mps_sockaddr *local, int backlog)
{
	struct mps_engine *eng = mps_shim_engine();
	int sv[2], lfd_eng, lfd_shim, rc;

	if (!eng)
		return -ENOSYS;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	lfd_eng = mps_real_fcntl(fd, F_DUPFD_CLOEXEC, 3);
	lfd_shim = mps_real_fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (lfd_eng < 0 || lfd_shim < 0) {
		rc = -errno;
		goto fail;
	}
	rc = mps_shim_install_fd(fd, sv[0]);
	if (rc)
		goto fail;
	/* fd is the channel now; the TCP socket's open file is the engine's
	 * and the shim's alone, so its status flags are theirs to set */
	mps_real_fcntl(lfd_eng, F_SETFL, O_NONBLOCK);
	mps_real_fcntl(sv[1], F_SETFL, O_NONBLOCK);
	mps_real_close(sv[0]);
	pthread_mutex_lock(&e->lock);
	mps_fdent_set_kind(e, MPS_FD_LISTEN);
	e->local = *local;
	e->lfd = lfd_shim;
	e->owner = getpid();
	pthread_mutex_unlock(&e->lock);
	rc = mps_engine_accept_start(eng, lfd_eng, sv[1], backlog, &local->sa);
	if (rc) {
		/* give the app its TCP listener back: plain, but working */
		mps_shim_install_fd(fd, lfd_shim);
		pthread_mutex_lock(&e->lock);
		mps_fdent_set_kind(e, MPS_FD_TCP);
		e->lfd = -1;
		pthread_mutex_unlock(&e->lock);
		mps_real_close(lfd_shim);
		mps_real_close(lfd_eng);
		mps_real_close(sv[1]);
		return rc;
	}
	return 0;
fail:
	if (lfd_eng >= 0)
		mps_real_close(lfd_eng);
	if (lfd_shim >= 0)
		mps_real_close(lfd_shim);
	mps_real_close(sv[0]);
	mps_real_close(sv[1]);
	return rc;
}

MPS_EXPORT int listen(int fd, int backlog)
{
	struct mps_fdent *e;
	union mps_sockaddr local;
	socklen_t len = sizeof(local);
	int rc, lfd;
	char a[MPS_ADDRSTRLEN];

	if (mps_shim_bypass() || !mps_shim_active())
		return mps_real_listen ? mps_real_listen(fd, backlog) :
					 (errno = ENOSYS, -1);
	e = mps_fdtab_get(fd);
	if (!e)
		return mps_real_listen(fd, backlog);
	if (mps_fdent_kind(e) == MPS_FD_LISTEN) {
		/* listen() again changes the backlog of the TCP listener */
		pthread_mutex_lock(&e->lock);
		lfd = e->lfd;
		rc = mps_real_listen(lfd, backlog);
		pthread_mutex_unlock(&e->lock);
		mps_fdent_put(e);
		return rc;
	}
	if (mps_fdent_kind(e) != MPS_FD_TCP) {
		mps_fdent_put(e);
		return mps_real_listen(fd, backlog);
	}
	/* the kernel binds an unbound socket here and reports EADDRINUSE
	 * and the rest exactly as it would without the shim */
	rc = mps_real_listen(fd, backlog);
	if (rc || mps_real_getsockname(fd, &local.sa, &len) ||
	    mps_config_accept_match(mps_shim_config(), &local.sa) <= 0) {
		mps_fdent_put(e);
		return rc;
	}
	rc = mps_shim_listen_take_over(fd, e, &local, backlog);
	if (rc)
		mps_warn("listen on %s stays plain TCP: %s",
			 mps_addr_str(&local.sa, a, sizeof(a)), strerror(-rc));
	else
		mps_debug("listening for multipath clients on %s",
			  mps_addr_str(&local.sa, a, sizeof(a)));
	mps_fdent_put(e);
	return 0;
}

/* One message from the channel: 1 with *nfd set, 0 for a message that is
 * not a connection (skipped), or -errno. */
static int channel_recv(int fd, struct mps_handoff_msg *msg, int *nfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	*nfd = -1;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		/* the engine is gone, or the app shut the listener down:
		 * what accept() on a shut-down TCP listener says */
		return -EINVAL;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(nfd, CMSG_DATA(c), sizeof(int));
	}
	if (*nfd >= 0 && (size_t)n == sizeof(*msg) && msg->magic == MPS_HANDOFF_MAGIC &&
	    !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return 1;
	if (*nfd >= 0)
		mps_real_close(*nfd);
	return 0;
}

static int set_flags(int nfd, int flags)
{
	int fl = mps_real_fcntl(nfd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = (flags & SOCK_NONBLOCK) ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	if (mps_real_fcntl(nfd, F_SETFL, fl) ||
	    mps_real_fcntl(nfd, F_SETFD, (flags & SOCK_CLOEXEC) ? FD_CLOEXEC : 0))
		return -errno;
	return 0;
}

/* An accepted TCP socket has its listener's IPV6_V6ONLY: so does a relay. */
static void inherit_v6only(struct mps_fdent *e, struct mps_fdent *le)
{
	socklen_t n = sizeof(int);
	int v;

	if (e->domain == AF_INET6 &&
	    !mps_real_getsockopt(le->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &n))
		mps_fdent_opt_set(e, IPPROTO_IPV6, IPV6_V6ONLY, v);
}

static int accept_from_channel(int fd, struct mps_fdent *le, struct sockaddr *addr,
			       socklen_t *alen, int flags)
{
	struct mps_handoff_msg msg;
	struct mps_fdent *e;
	int nfd, rc;

	do {
		rc = channel_recv(fd, &msg, &nfd);
	} while (rc == 0);
	if (rc < 0)
		return rc;
	rc = set_flags(nfd, flags);
	if (rc)
		goto fail;
	if (!msg.multipath) {
		/* the client's own TCP socket: nothing of ours stays on it */
		mps_fdtab_clear(nfd);
	} else {
		e = mps_fdent_new(le->domain);
		if (!e) {
			rc = -ENOMEM;
			goto fail;
		}
		e->kind = MPS_FD_RELAY;
		e->state = MPS_FDS_CONNECTED;
		e->multipath = true;
		e->peer = msg.peer;
		e->local = msg.local;
		e->meta_id = msg.meta_id;
		e->owner = le->owner;
		inherit_v6only(e, le);
		rc = mps_fdtab_set(nfd, e);
		mps_fdent_put(e);
		if (rc)
			goto fail;
	}
	if (addr && alen) {
		socklen_t n = mps_addr_len(&msg.peer.sa);

		memcpy(addr, &msg.peer, *alen < n ? *alen : n);
		*alen = n;
	}
	return nfd;
fail:
	mps_real_close(nfd);
	return rc;
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *alen, int flags,
		     bool four)
{
	struct mps_fdent *e;
	int rc;

	if (mps_shim_bypass() || !(e = mps_fdtab_get(fd))) {
		if (four)
			return mps_real_accept4 ? mps_real_accept4(fd, addr, alen, flags) :
						  (errno = ENOSYS, -1);
		return mps_real_accept ? mps_real_accept(fd, addr, alen) :
					 (errno = ENOSYS, -1);
	}
	if (mps_fdent_kind(e) != MPS_FD_LISTEN) {
		mps_fdent_put(e);
		return four ? mps_real_accept4(fd, addr, alen, flags) :
			      mps_real_accept(fd, addr, alen);
	}
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		rc = -EINVAL;
	else
		rc = accept_from_channel(fd, e, addr, alen, flags);
	mps_fdent_put(e);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

MPS_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
	return do_accept(fd, addr, alen, 0, false);
}

MPS_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	return do_accept(fd, addr, alen, flags, true);
}
