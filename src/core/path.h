/*
 * path.h - the client's paths and the liveness of subflows.
 *
 * Owns: the list of paths a client connection wants (one per subflow the
 * path manager asked for), re-creating a failed path's subflow with
 * exponential backoff, and the liveness check that declares a subflow
 * failed when its data gets no TCP acknowledgement for
 * max(subflow_fail_min, subflow_fail_rtts x SRTT), plus PING heartbeats on
 * idle subflows.  Independent of interface state; netlink.c adds the fast
 * path for interfaces that go away.  initial.c races the first subflow
 * across paths and remembers, engine-wide, which paths failed lately, so
 * the next connection starts on one that works.
 */
#ifndef MPS_PATH_H
#define MPS_PATH_H

#include "addr.h"

struct mps_meta;
struct mps_subflow;
struct mps_engine;

/* Register a path and open its subflow now.  0 or -errno (a path that
 * could not start waits for its retry). */
int mps_path_add(struct mps_meta *meta, const union mps_sockaddr *local,
		 const union mps_sockaddr *remote, bool initial, bool backup);
/* A path from configured entry local[idx], resolved to an address of the
 * destination's family at every attempt: an interface without an address
 * now waits until one appears (netlink makes it try at once). */
int mps_path_add_local(struct mps_meta *meta, unsigned idx,
		       const union mps_sockaddr *remote, bool backup);
/* One more subflow on sf's path (same local entry or address, same
 * server address, another source port) unless the path has want already.
 * 1 when one was added, 0 when not needed, or -errno. */
int mps_path_grow(struct mps_meta *meta, const struct mps_subflow *sf,
		  unsigned want);
/* The subflow of a path joined: the path is healthy again. */
void mps_path_subflow_up(struct mps_subflow *sf);
/* The subflow of a path failed: schedule a new one after the backoff. */
void mps_path_subflow_failed(struct mps_subflow *sf);
/* An address or interface appeared: every waiting path tries now. */
void mps_path_retry_all(struct mps_engine *eng);

/* initial.c: open the first subflow of a client connection (attempts
 * race across the path manager's candidates); 0 or -errno, after which
 * the connection has failed and its callback ran. */
int mps_initial_start(struct mps_meta *meta);
/* Close the caller's first SYN (meta->presyn) if nothing took it. */
void mps_initial_presyn_drop(struct mps_meta *meta);
/* Has a first-subflow attempt's handshake completed already, its
 * SYN-ACK waiting for the loop (poll, no wait)? */
bool mps_initial_answered(const struct mps_meta *meta);
/* A first-subflow attempt failed (connect error or timeout). */
void mps_initial_failed(struct mps_subflow *sf, int err, const char *why);
/* A first-subflow attempt connected: it carries the HELLO, the others go. */
void mps_initial_connected(struct mps_subflow *sf);
void mps_initial_timer_init(struct mps_meta *meta);

/* A subflow from local to remote worked (err 0) or failed with err; only
 * path errors (timeouts, unreachable, interface down) mark the pair bad,
 * for 60 s or until it works again. */
void mps_path_health_note(struct mps_engine *eng, const union mps_sockaddr *local,
			  const union mps_sockaddr *remote, int err);
bool mps_path_health_bad(struct mps_engine *eng, const union mps_sockaddr *local,
			 const union mps_sockaddr *remote);

/* lossy.c: once per liveness check, grow the paths the sender finds
 * loss-limited (see lossy.c); a client's answer to the server's GROW. */
void mps_lossy_check(struct mps_meta *meta, uint64_t now);
int mps_lossy_on_grow(struct mps_subflow *sf, unsigned want);
/* Same local and remote host (ports aside): the same path. */
bool mps_lossy_same_path(const struct mps_subflow *a, const struct mps_subflow *b);
/* Is sf's SRTT near the least it has seen (no standing queue)? */
bool mps_lossy_no_queue(const struct mps_subflow *sf);

/* Set up the meta's retry and liveness timers (meta_new). */
void mps_path_timers_init(struct mps_meta *meta);
/* Start the liveness timer of an established meta (idempotent). */
void mps_live_start(struct mps_meta *meta);
/* Frames were just sent: make sure the next check comes soon. */
void mps_live_kick(struct mps_meta *meta);

#endif
