/*
 * sock.h - non-blocking TCP connect, the way every part of the engine
 * starts one: subflows, backend connections of proxyd, plain relays.
 */
#ifndef MPS_SOCK_H
#define MPS_SOCK_H

#include <stdbool.h>
#include <sys/socket.h>

/* A non-blocking, close-on-exec TCP socket bound to src (any port) when
 * src is not NULL, connecting to dst.  Returns the descriptor (the connect
 * is in progress or done; wait for POLLOUT) or -errno. */
int mps_sock_connect_start(const struct sockaddr *dst, const struct sockaddr *src);
/* The same with TCP Fast Open asked for (TCP_FASTOPEN_CONNECT): when the
 * kernel holds a cookie from dst, the connect returns at once without a
 * SYN (*deferred set), and the first send carries the SYN and its data;
 * without one it is an ordinary connect. */
int mps_sock_connect_fastopen(const struct sockaddr *dst, const struct sockaddr *src,
			      bool *deferred);
/* Did the SYN of fd's connection carry data the peer took (TFO)? */
bool mps_sock_syn_data(int fd);

/* The outcome of that connect once the POLLOUT wait completed with res:
 * 0, or -errno (the socket's SO_ERROR, or the wait's own error). */
int mps_sock_connect_result(int fd, int res);

#endif
