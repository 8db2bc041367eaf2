/*
 * socket.c - socket(): remember TCP sockets, the only ones connect() may
 * upgrade.  Everything else is not the shim's business.
 */
#include <errno.h>
#include <netinet/in.h>
#include "fdtab.h"
#include "shim.h"

MPS_EXPORT int socket(int domain, int type, int protocol)
{
	struct mps_fdent *e;
	int fd;

	if (mps_shim_bypass())
		return mps_real_socket ? mps_real_socket(domain, type, protocol) :
					 (errno = ENOSYS, -1);
	fd = mps_real_socket(domain, type, protocol);
	if (fd < 0 || !mps_shim_active())
		return fd;
	if ((domain == AF_INET || domain == AF_INET6) &&
	    (type & 0xf) == SOCK_STREAM &&
	    (protocol == 0 || protocol == IPPROTO_TCP)) {
		e = mps_fdent_new(domain);
		if (e) {
			e->kind = MPS_FD_TCP;
			mps_fdtab_set(fd, e);
			mps_fdent_put(e);
		}
	} else {
		/* a stale entry from a descriptor closed behind our back */
		mps_fdtab_clear(fd);
	}
	return fd;
}
