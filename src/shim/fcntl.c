/*
 * fcntl.c - fcntl(): only F_DUPFD and F_DUPFD_CLOEXEC concern the shim
 * (they create a descriptor sharing the entry); every other command goes
 * to libc untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include "fdtab.h"
#include "shim.h"

static int fcntl_impl(int fd, int cmd, void *arg)
{
	int rc;

	if (mps_shim_bypass())
		return mps_real_fcntl ? mps_real_fcntl(fd, cmd, arg) :
					(errno = ENOSYS, -1);
	rc = mps_real_fcntl(fd, cmd, arg);
	if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		mps_fdtab_dup(fd, rc);
	return rc;
}

/* Every fcntl command takes at most one argument, an int or a pointer;
 * reading it as a pointer-sized value passes either through intact. */
MPS_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_impl(fd, cmd, arg);
}

/* glibc's large-file name for the same call */
MPS_EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));
