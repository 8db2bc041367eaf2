/*
 * sockname.c - getsockname/getpeername: a relay is an AF_UNIX socket, but
 * the app must see the TCP addresses of its connection, in the family of
 * the socket it created (v4-mapped for an AF_INET6 socket to a v4 peer).
 * A listener's channel reports the address the TCP listener is bound to.
 */
#include <errno.h>
#include <string.h>
#include "fdtab.h"
#include "shim.h"

static int copy_out(const union mps_sockaddr *a, struct sockaddr *sa,
		    socklen_t *len)
{
	socklen_t n = mps_addr_len(&a->sa);

	if (!sa || !len)
		return -EFAULT;
	memcpy(sa, a, *len < n ? *len : n);
	*len = n;
	return 0;
}

static int relay_name(int fd, struct sockaddr *sa, socklen_t *len, bool peer,
		      int *handled)
{
	struct mps_fdent *e = mps_fdtab_get(fd);
	int rc = 0;

	*handled = 0;
	if (!e)
		return 0;
	if (mps_fdent_kind(e) == MPS_FD_LISTEN) {
		*handled = 1;
		pthread_mutex_lock(&e->lock);
		rc = peer ? -ENOTCONN : copy_out(&e->local, sa, len);
		pthread_mutex_unlock(&e->lock);
	} else if (mps_fdent_kind(e) == MPS_FD_RELAY) {
		*handled = 1;
		pthread_mutex_lock(&e->lock);
		if (peer && e->state != MPS_FDS_CONNECTED)
			rc = -ENOTCONN;
		else if (!peer && e->state != MPS_FDS_CONNECTED) {
			/* like an unbound TCP socket: the wildcard address */
			union mps_sockaddr any;

			memset(&any, 0, sizeof(any));
			any.sa.sa_family = (sa_family_t)e->domain;
			rc = copy_out(&any, sa, len);
		} else {
			rc = copy_out(peer ? &e->peer : &e->local, sa, len);
		}
		pthread_mutex_unlock(&e->lock);
	}
	mps_fdent_put(e);
	return rc;
}

MPS_EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	int handled, rc;

	if (mps_shim_bypass())
		return mps_real_getsockname ? mps_real_getsockname(fd, sa, len) :
					      (errno = ENOSYS, -1);
	rc = relay_name(fd, sa, len, false, &handled);
	if (!handled)
		return mps_real_getsockname(fd, sa, len);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

MPS_EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	int handled, rc;

	if (mps_shim_bypass())
		return mps_real_getpeername ? mps_real_getpeername(fd, sa, len) :
					      (errno = ENOSYS, -1);
	rc = relay_name(fd, sa, len, true, &handled);
	if (!handled)
		return mps_real_getpeername(fd, sa, len);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}
