/* sock.c - non-blocking TCP connect (see sock.h). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include "addr.h"
#include "sock.h"

static int connect_start(const struct sockaddr *dst, const struct sockaddr *src,
			 bool fastopen, bool *deferred)
{
	int fd, rc, one = 1;

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
	/* a kernel without it connects as usual */
	if (fastopen)
		fastopen = !setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one,
				       sizeof(one));
	if (connect(fd, dst, mps_addr_len(dst)) == 0) {
		if (deferred)
			*deferred = fastopen;
	} else if (errno != EINPROGRESS) {
		goto fail;
	}
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

int mps_sock_connect_start(const struct sockaddr *dst, const struct sockaddr *src)
{
	return connect_start(dst, src, false, NULL);
}

int mps_sock_connect_fastopen(const struct sockaddr *dst, const struct sockaddr *src,
			      bool *deferred)
{
	*deferred = false;
	return connect_start(dst, src, true, deferred);
}

bool mps_sock_syn_data(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
	       (ti.tcpi_options & TCPI_OPT_SYN_DATA);
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
