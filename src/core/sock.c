/* sock.c - non-blocking TCP connect (see sock.h). */
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>
#include "addr.h"
#include "sock.h"

int mps_sock_connect_start(const struct sockaddr *dst, const struct sockaddr *src)
{
	int fd, rc;

	fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if (src) {
		union mps_sockaddr l;

		mps_addr_unmap(src, &l);
		mps_addr_set_port(&l, 0);
		if (bind(fd, &l.sa, mps_addr_len(&l.sa)))
			goto fail;
	}
	if (connect(fd, dst, mps_addr_len(dst)) && errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

int mps_sock_connect_result(int fd, int res)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (res < 0)
		return res;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}
