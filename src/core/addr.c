/* addr.c - socket address helpers (see addr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "frame.h"
#include "config.h"

int mps_addr_parse(const char *text, union mps_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h;
	size_t hlen;
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = text + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		h = text;
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == '\0' || port < 0 || port > 65535)
		return -EINVAL;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &out->in.sin_addr) == 1) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -EINVAL;
}

const char *mps_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
		break;
	}
	default:
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}

socklen_t mps_addr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					   sizeof(struct sockaddr_in);
}

bool mps_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
	return false;
}

unsigned mps_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void mps_addr_set_port(union mps_sockaddr *a, unsigned port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons((uint16_t)port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons((uint16_t)port);
}

void mps_addr_unmap(const struct sockaddr *sa, union mps_sockaddr *out)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = in6->sin6_port;
		memcpy(&out->in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		return;
	}
	memcpy(out, sa, mps_addr_len(sa));
}

int mps_addr_local_resolve(const struct mps_local *loc, int family,
			   union mps_sockaddr *out)
{
	struct ifaddrs *ifa, *it;
	int rc = -ENODEV;

	memset(out, 0, sizeof(*out));
	if (loc->any_iface) {
		/* "*" stands for whatever interfaces exist: the first one */
		int n = mps_addr_discover(family, out, 1);

		return n > 0 ? 0 : n < 0 ? n : -ENOENT;
	}
	if (!loc->is_iface) {
		if (loc->family != family)
			return -ENOENT;
		if (family == AF_INET) {
			out->in.sin_family = AF_INET;
			memcpy(&out->in.sin_addr, loc->addr, 4);
		} else {
			out->in6.sin6_family = AF_INET6;
			memcpy(&out->in6.sin6_addr, loc->addr, 16);
		}
		return 0;
	}
	if (getifaddrs(&ifa))
		return -errno;
	for (it = ifa; it; it = it->ifa_next) {
		if (strcmp(it->ifa_name, loc->name))
			continue;
		if (rc == -ENODEV)
			rc = -ENOENT;	/* interface exists, no address yet */
		if (!it->ifa_addr || it->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)it->ifa_addr)->sin6_addr))
			continue;
		memcpy(out, it->ifa_addr, mps_addr_len(it->ifa_addr));
		mps_addr_set_port(out, 0);
		rc = 0;
		break;
	}
	freeifaddrs(ifa);
	return rc;
}

bool mps_addr_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	union mps_sockaddr x, y;

	mps_addr_unmap(a, &x);
	mps_addr_unmap(b, &y);
	mps_addr_set_port(&x, 0);
	mps_addr_set_port(&y, 0);
	return mps_addr_equal(&x.sa, &y.sa);
}

unsigned mps_addr_ifindex(const struct sockaddr *sa)
{
	struct ifaddrs *ifa, *it;
	unsigned idx = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (it = ifa; it && !idx; it = it->ifa_next)
		if (it->ifa_addr && it->ifa_addr->sa_family == sa->sa_family &&
		    mps_addr_same_host(it->ifa_addr, sa))
			idx = if_nametoindex(it->ifa_name);
	freeifaddrs(ifa);
	return idx;
}

int mps_addr_to_frame(const struct sockaddr *sa, struct mps_frame_addr *fa)
{
	memset(fa, 0, sizeof(*fa));
	fa->port = (uint16_t)mps_addr_port(sa);
	if (sa->sa_family == AF_INET) {
		fa->family = 4;
		memcpy(fa->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		fa->family = 6;
		memcpy(fa->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

int mps_addr_from_frame(const struct mps_frame_addr *fa, union mps_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (fa->family == 4) {
		out->in.sin_family = AF_INET;
		memcpy(&out->in.sin_addr, fa->addr, 4);
	} else if (fa->family == 6) {
		out->in6.sin6_family = AF_INET6;
		memcpy(&out->in6.sin6_addr, fa->addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	mps_addr_set_port(out, fa->port);
	return 0;
}

bool mps_addr_is_any(const struct sockaddr *sa)
{
	static const uint8_t zero[16];

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0;
	if (sa->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, zero, 16);
	return false;
}

int mps_addr_discover(int family, union mps_sockaddr *out, unsigned max)
{
	struct ifaddrs *ifa, *it;
	unsigned n = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (it = ifa; it && n < max; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != family ||
		    !(it->ifa_flags & IFF_UP) || (it->ifa_flags & IFF_LOOPBACK))
			continue;
		if (family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)it->ifa_addr)->sin6_addr))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n], it->ifa_addr, mps_addr_len(it->ifa_addr));
		mps_addr_set_port(&out[n], 0);
		n++;
	}
	freeifaddrs(ifa);
	return (int)n;
}
