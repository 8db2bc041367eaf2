/*
 * presyn.c - the first connect's SYN, sent from the application's thread.
 *
 * The connect() that starts a process's engine would otherwise wait for
 * it: io_uring, netlink and stats sockets, a thread and the hand-off took
 * 0.4 ms here before the engine's own SYN left, and connect() returned
 * that much later than plain TCP's on any path.  So, while it still holds
 * the engine's start lock, that connect opens the first subflow's socket
 * and starts its non-blocking connect from the address the engine's path
 * manager would pick (mps_initial_presyn_plan), then hands the socket over
 * with the connect command (struct mps_presyn, engine.h).  The engine's
 * setup and the key draw then overlap the round trip instead of
 * preceding it.
 *
 * Only that first connect: once the engine runs, its hand-off is short
 * and only it knows which paths failed lately.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include "shim.h"

void mps_shim_presyn_open(const struct sockaddr *dest, struct mps_presyn *ps)
{
	int saved_errno = errno;
	union mps_sockaddr l;
	int fd, one = 1;

	ps->sfd = -1;
	if (!mps_initial_presyn_plan(mps_shim_config(), dest, ps))
		return;
	fd = mps_real_socket(ps->dest.sa.sa_family,
			     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		goto out;
	if (ps->has_local) {
		mps_addr_unmap(&ps->local.sa, &l);
		mps_addr_set_port(&l, 0);
		/* bind is not interposed */
		if (bind(fd, &l.sa, mps_addr_len(&l.sa)))
			goto fail;
	}
	/* with a cookie from the server, the kernel keeps the SYN for
	 * HELLO and the app's first bytes (sock.h, mps_sock_connect_fastopen) */
	if (ps->fastopen)
		ps->fastopen = !setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one,
					   sizeof(one));
	/* any error the engine meets again on its own attempt and reports
	 * as it does every other: this one is only a head start */
	if (mps_real_connect(fd, &ps->dest.sa, mps_addr_len(&ps->dest.sa)) == 0)
		ps->tfo = ps->fastopen;
	else if (errno != EINPROGRESS)
		goto fail;
	ps->sfd = fd;
	goto out;
fail:
	mps_real_close(fd);
out:
	errno = saved_errno;
}

void mps_shim_presyn_close(struct mps_presyn *ps)
{
	if (ps->sfd >= 0)
		mps_real_close(ps->sfd);
	ps->sfd = -1;
}
