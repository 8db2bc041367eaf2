/*
 * handoff.h - how the engine hands accepted connections to a shimmed
 * server's accept().
 *
 * A listening socket the shim takes over becomes, at the application's
 * descriptor number, one end of a SOCK_SEQPACKET socketpair: the channel.
 * The engine owns the real TCP listener and the other end.  For every
 * connection the application should see, the engine sends one message on
 * the channel carrying one descriptor (SCM_RIGHTS):
 *  - a plain TCP client: the accepted TCP socket itself, untouched (the
 *    bytes the engine peeked at are still in it), so the application
 *    talks to it with zero overhead;
 *  - a multipath client: the application's end of a relay socketpair, the
 *    engine keeping the other end as the meta connection's efd.
 * SEQPACKET keeps messages whole when several processes (a pre-fork
 * server) receive from one channel, and the channel's hang-up tells the
 * engine that every process closed the listener.
 *
 * Both ends are this library, possibly in different processes (fork), so
 * the layout is private; the magic catches a stray sender.
 */
#ifndef MPS_HANDOFF_H
#define MPS_HANDOFF_H

#include <stdint.h>
#include "addr.h"

#define MPS_HANDOFF_MAGIC	0x6d707368u	/* "mpsh" */

/* SO_SNDBUF of both ends of a relay socketpair (client and server side):
 * deep enough that the engine is not woken for every few kilobytes */
#define MPS_RELAY_BUF		(256 * 1024)

struct mps_handoff_msg {
	uint32_t magic;
	uint8_t multipath;		/* 0: the descriptor is the TCP socket */
	uint8_t pad[3];
	uint32_t meta_id;		/* for logs, `mpshim stats` and the
					 * shim's TCP_INFO */
	union mps_sockaddr local;	/* the TCP connection's addresses, */
	union mps_sockaddr peer;	/* in the listener's family */
};

#endif
