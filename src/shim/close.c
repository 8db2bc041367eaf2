/*
 * close.c - close(): forget the descriptor.  Closing a relay needs nothing
 * more: the engine reads EOF on its end once the last descriptor sharing
 * the relay is closed, sends the queued data, then DATA_FIN, as TCP would.
 * Closing a listener's channel for the last time stops the engine's TCP
 * listener.
 */
#include <errno.h>
#include <unistd.h>
#include "fdtab.h"
#include "shim.h"

MPS_EXPORT int close(int fd)
{
	struct mps_engine *eng;
	struct mps_fdent *e;
	bool listener;
	int rc, err;

	if (mps_shim_bypass())
		return mps_real_close ? mps_real_close(fd) : (errno = ENOSYS, -1);
	e = mps_fdtab_get(fd);
	listener = e && e->kind == MPS_FD_LISTEN;
	mps_fdent_put(e);
	mps_fdtab_clear(fd);
	rc = mps_real_close(fd);
	err = errno;
	if (listener && (eng = mps_shim_engine_running())) {
		/* the engine's TCP listener must stop when the app's last
		 * channel end is gone, before close() returns: an app may
		 * bind the port again at once */
		mps_engine_accept_reap(eng);
	}
	errno = err;
	return rc;
}
