/*
 * nofile.c - running out of descriptors.
 *
 * Owns the engine's spare descriptor (eng->spare_fd): one descriptor
 * taken while they are plenty, so that when accept4() fails for want of
 * one, the connection waiting in a listener's backlog can still be taken.
 * Without it that connection stays in the backlog, the listener stays
 * readable, and every poll of it returns at once: the loop spins.
 *
 * The spare is spent in two ways.  The service listeners (listener.c)
 * take the waiting client with it and reset it at once, as a server that
 * cannot serve it would, so the client learns instead of waiting.  The
 * diagnostic listeners (metrics.c, statsock.c) borrow it to serve the one
 * scrape: out of descriptors is when the numbers matter most, and a
 * scrape is short.  Either way the spare comes back when the descriptor
 * is closed.  A caller that finds no spare (lent out, or not to be had)
 * stops polling its listener for MPS_NOFILE_PAUSE_MS instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "clock.h"
#include "engine_int.h"
#include "log.h"

#define NOFILE_WARN_NS		(10 * 1000000000ull)	/* at most one warning */

bool mps_nofile_errno(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

bool mps_nofile_warn_due(uint64_t *last_ns)
{
	uint64_t now = mps_clock_ns();

	if (*last_ns && now - *last_ns <= NOFILE_WARN_NS)
		return false;
	*last_ns = now;
	return true;
}

void mps_nofile_spare_restore(struct mps_engine *eng)
{
	if (eng->spare_fd < 0)
		eng->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int mps_nofile_accept_spare(struct mps_engine *eng, int lfd, int flags)
{
	int fd, err;

	/* a spare that could not be had before may be now: then it is
	 * spent at once, which is what it is for */
	mps_nofile_spare_restore(eng);
	if (eng->spare_fd < 0)
		return -EMFILE;
	close(eng->spare_fd);
	eng->spare_fd = -1;
	do
		fd = accept4(lfd, NULL, NULL, flags);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd >= 0)
		return fd;
	err = errno;
	mps_nofile_spare_restore(eng);
	if (err == EAGAIN || err == EWOULDBLOCK)
		return -EAGAIN;
	/* ENFILE or no memory: the spare's slot was no help */
	return mps_nofile_errno(err) ? -EMFILE : -err;
}

int mps_nofile_refuse(struct mps_engine *eng, int lfd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = mps_nofile_accept_spare(eng, lfd, SOCK_CLOEXEC);

	if (fd == -EAGAIN)
		return 0;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	mps_nofile_spare_restore(eng);
	return 1;
}
