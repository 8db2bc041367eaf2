/*
 * sock.h - non-blocking TCP connect, the way every part of the engine
 * starts one: subflows, backend connections of proxyd, plain relays.
 */
#ifndef MPS_SOCK_H
#define MPS_SOCK_H

#include <sys/socket.h>

/* A non-blocking, close-on-exec TCP socket bound to src (any port) when
 * src is not NULL, connecting to dst.  Returns the descriptor (the connect
 * is in progress or done; wait for POLLOUT) or -errno. */
int mps_sock_connect_start(const struct sockaddr *dst, const struct sockaddr *src);

/* The outcome of that connect once the POLLOUT wait completed with res:
 * 0, or -errno (the socket's SO_ERROR, or the wait's own error). */
int mps_sock_connect_result(int fd, int res);

#endif
