/*
 * mpshim.h - the small public interface of libmpshim.so for programs that
 * want to know whether a connection is carried over multipath.
 *
 * Programs need not link against anything: declare the function weak and
 * test it, so the same binary runs with and without the shim:
 *
 *	#include <mpshim/mpshim.h>
 *	#pragma weak mpshim_fd_state
 *	if (mpshim_fd_state && mpshim_fd_state(fd) == MPSHIM_FD_MULTIPATH) ...
 */
#ifndef MPSHIM_MPSHIM_H
#define MPSHIM_MPSHIM_H

#ifdef __cplusplus
extern "C" {
#endif

enum mpshim_fd_state {
	MPSHIM_FD_NONE = 0,		/* not a connection the shim carries */
	MPSHIM_FD_CONNECTING = 1,	/* multipath handshake in progress */
	MPSHIM_FD_MULTIPATH = 2,	/* carried by the multipath engine */
	MPSHIM_FD_FAILED = 3,		/* the connection attempt failed */
	MPSHIM_FD_PLAIN = 4,		/* relayed as plain TCP: the peer is not mpshim */
};

/* State of descriptor fd as the shim sees it. */
int mpshim_fd_state(int fd);

#ifdef __cplusplus
}
#endif

#endif
