/*
 * addr.h - socket address helpers: parse, format, compare, and resolve a
 * configured local address or interface.
 */
#ifndef MPS_ADDR_H
#define MPS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

union mps_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

#define MPS_ADDRSTRLEN 64	/* "[v6%scope]:port" */

/* "1.2.3.4:80", "[::1]:80", "localhost:80" (= 127.0.0.1).  0 or -EINVAL. */
int mps_addr_parse(const char *text, union mps_sockaddr *out);
/* Formats as above into buf (MPS_ADDRSTRLEN); returns buf. */
const char *mps_addr_str(const struct sockaddr *sa, char *buf, size_t len);
socklen_t mps_addr_len(const struct sockaddr *sa);
bool mps_addr_equal(const struct sockaddr *a, const struct sockaddr *b);
unsigned mps_addr_port(const struct sockaddr *sa);
void mps_addr_set_port(union mps_sockaddr *a, unsigned port);
/* ::ffff:a.b.c.d -> a.b.c.d, anything else copied. */
void mps_addr_unmap(const struct sockaddr *sa, union mps_sockaddr *out);

/* Same address, ports ignored. */
bool mps_addr_same_host(const struct sockaddr *a, const struct sockaddr *b);
/* Index of the interface that holds local address sa, 0 if none. */
unsigned mps_addr_ifindex(const struct sockaddr *sa);

struct mps_frame_addr;
/* sockaddr <-> wire address of ADD_ADDR / HELLO target.  0 or -EAFNOSUPPORT. */
int mps_addr_to_frame(const struct sockaddr *sa, struct mps_frame_addr *fa);
int mps_addr_from_frame(const struct mps_frame_addr *fa, union mps_sockaddr *out);
/* The unspecified address (0.0.0.0 / ::)? */
bool mps_addr_is_any(const struct sockaddr *sa);

/* Addresses of family on every interface that is up, not loopback and
 * not link-local; at most max into out[].  Returns the count or -errno. */
int mps_addr_discover(int family, union mps_sockaddr *out, unsigned max);

struct mps_local;
/* Source address for a subflow to a peer of `family`: the literal, or the
 * first address of that family on the named interface.  -ENOENT / -ENODEV. */
int mps_addr_local_resolve(const struct mps_local *loc, int family,
			   union mps_sockaddr *out);

#endif
