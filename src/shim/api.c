/*
 * api.c - the public interface of include/mpshim/mpshim.h.
 */
#include "fdtab.h"
#include "mpshim/mpshim.h"
#include "shim.h"

MPS_EXPORT int mpshim_fd_state(int fd)
{
	struct mps_fdent *e = mps_fdtab_get(fd);
	int st = MPSHIM_FD_NONE;

	if (!e)
		return st;
	pthread_mutex_lock(&e->lock);
	if (e->kind == MPS_FD_RELAY) {
		switch (e->state) {
		case MPS_FDS_CONNECTING: st = MPSHIM_FD_CONNECTING; break;
		case MPS_FDS_CONNECTED:
			st = e->multipath ? MPSHIM_FD_MULTIPATH : MPSHIM_FD_PLAIN;
			break;
		case MPS_FDS_FAILED: st = MPSHIM_FD_FAILED; break;
		default: break;
		}
	}
	pthread_mutex_unlock(&e->lock);
	mps_fdent_put(e);
	return st;
}
