/*
 * close.c - close(): forget the descriptor.  Closing a relay needs nothing
 * more: the engine reads EOF on its end once the last descriptor sharing
 * the relay is closed, sends the queued data, then DATA_FIN, as TCP would.
 */
#include <errno.h>
#include <unistd.h>
#include "fdtab.h"
#include "shim.h"

MPS_EXPORT int close(int fd)
{
	if (mps_shim_bypass())
		return mps_real_close ? mps_real_close(fd) : (errno = ENOSYS, -1);
	mps_fdtab_clear(fd);
	return mps_real_close(fd);
}
