/*
 * dup.c - dup/dup2/dup3: the new descriptor number shares the entry of the
 * old one, as it shares its open file.
 */
#include <errno.h>
#include <unistd.h>
#include "fdtab.h"
#include "shim.h"

MPS_EXPORT int dup(int oldfd)
{
	int fd;

	if (mps_shim_bypass())
		return mps_real_dup ? mps_real_dup(oldfd) : (errno = ENOSYS, -1);
	fd = mps_real_dup(oldfd);
	if (fd >= 0)
		mps_fdtab_dup(oldfd, fd);
	return fd;
}

MPS_EXPORT int dup2(int oldfd, int newfd)
{
	int fd;

	if (mps_shim_bypass())
		return mps_real_dup2 ? mps_real_dup2(oldfd, newfd) : (errno = ENOSYS, -1);
	fd = mps_real_dup2(oldfd, newfd);
	if (fd >= 0 && oldfd != newfd)
		mps_fdtab_dup(oldfd, fd);
	return fd;
}

MPS_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int fd;

	if (mps_shim_bypass())
		return mps_real_dup3 ? mps_real_dup3(oldfd, newfd, flags) :
				       (errno = ENOSYS, -1);
	fd = mps_real_dup3(oldfd, newfd, flags);
	if (fd >= 0)
		mps_fdtab_dup(oldfd, fd);
	return fd;
}
