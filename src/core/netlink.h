/*
 * netlink.h - watching the host's interfaces and addresses (rtnetlink).
 *
 * Owns the engine's NETLINK_ROUTE socket.  An interface that goes down or
 * an address that is removed fails its subflows at once (their data is
 * reinjected, the peer told with REMOVE_ADDR); an interface that comes up
 * or an address that appears makes every waiting client path try again
 * immediately.
 */
#ifndef MPS_NETLINK_H
#define MPS_NETLINK_H

struct mps_engine;

/* 0 or -errno (then the engine relies on liveness checks alone). */
int mps_netlink_open(struct mps_engine *eng);
void mps_netlink_close(struct mps_engine *eng);

#endif
