/*
 * netlink.c - rtnetlink link and address events (see netlink.h).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "engine_int.h"
#include "log.h"
#include "netlink.h"
#include "path.h"

#define MPS_NL_BUF 16384

static void nl_addr(struct mps_engine *eng, const struct nlmsghdr *nh)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	int len = (int)IFA_PAYLOAD(nh);
	union mps_sockaddr a;

	if (nh->nlmsg_type == RTM_NEWADDR) {
		mps_path_retry_all(eng);
		return;
	}
	memset(&a, 0, sizeof(a));
	for (const struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, len);
	     rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type != IFA_LOCAL && rta->rta_type != IFA_ADDRESS)
			continue;
		if (ifa->ifa_family == AF_INET && RTA_PAYLOAD(rta) >= 4) {
			a.in.sin_family = AF_INET;
			memcpy(&a.in.sin_addr, RTA_DATA(rta), 4);
		} else if (ifa->ifa_family == AF_INET6 && RTA_PAYLOAD(rta) >= 16) {
			a.in6.sin6_family = AF_INET6;
			memcpy(&a.in6.sin6_addr, RTA_DATA(rta), 16);
		}
		if (rta->rta_type == IFA_LOCAL)
			break;	/* the local one wins on point-to-point links */
	}
	if (a.sa.sa_family)
		mps_engine_iface_down(eng, 0, &a.sa);
}

static void nl_link(struct mps_engine *eng, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	bool up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);

	if (nh->nlmsg_type == RTM_DELLINK || !up)
		mps_engine_iface_down(eng, (unsigned)ifi->ifi_index, NULL);
	else
		mps_path_retry_all(eng);
}

static void nl_cb(struct mps_op *op, int res)
{
	struct mps_engine *eng = op->ctx;

	(void)res;
	for (;;) {
		ssize_t n = recv(eng->nlfd, eng->nlbuf, MPS_NL_BUF, MSG_DONTWAIT);
		int len = (int)n;

		if (n <= 0) {
			if (n < 0 && errno == ENOBUFS)
				continue;	/* overrun: later events still count */
			break;
		}
		for (const struct nlmsghdr *nh = (const void *)eng->nlbuf;
		     NLMSG_OK(nh, (unsigned)len); nh = NLMSG_NEXT(nh, len)) {
			switch (nh->nlmsg_type) {
			case RTM_NEWLINK:
			case RTM_DELLINK:
				nl_link(eng, nh);
				break;
			case RTM_NEWADDR:
			case RTM_DELADDR:
				nl_addr(eng, nh);
				break;
			default:
				break;
			}
		}
	}
	if (!__atomic_load_n(&eng->stop, __ATOMIC_ACQUIRE) &&
	    mps_loop_poll(eng->loop, &eng->nlop, eng->nlfd, POLLIN))
		mps_warn("rtnetlink: cannot re-arm, interface changes now found by liveness only");
}

int mps_netlink_open(struct mps_engine *eng)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	int fd, rc;

	eng->nlbuf = malloc(MPS_NL_BUF);
	if (!eng->nlbuf)
		return -ENOMEM;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	snl.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
	if (bind(fd, (struct sockaddr *)&snl, sizeof(snl))) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	eng->nlfd = fd;
	mps_op_init(&eng->nlop, MPS_OP_POLL, nl_cb, eng);
	rc = mps_loop_poll(eng->loop, &eng->nlop, fd, POLLIN);
	if (rc) {
		close(fd);
		eng->nlfd = -1;
		goto fail;
	}
	return 0;
fail:
	free(eng->nlbuf);
	eng->nlbuf = NULL;
	return rc;
}

void mps_netlink_close(struct mps_engine *eng)
{
	if (eng->nlfd >= 0)
		close(eng->nlfd);
	eng->nlfd = -1;
	free(eng->nlbuf);
	eng->nlbuf = NULL;
}
