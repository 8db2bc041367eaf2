/*
 * sched.h - packet schedulers: which subflow(s) carry the next DATA frame.
 *
 * Owns: the scheduler registry and the helpers every scheduler shares
 * (which subflows may carry data, which is fastest).  Each scheduler is one
 * file ending in its ops record and registers itself from mps_sched_init();
 * the registry rejects an ops record without a name or pick, and a
 * duplicate name.
 *
 * "Room" is the subflow's own backpressure: TCP_NOTSENT_LOWAT keeps the
 * kernel from taking more than notsent_lowat unsent bytes, so a subflow
 * whose previous frame still waits in user space is full, and the
 * scheduler decides as late as the kernel allows.
 */
#ifndef MPS_SCHED_H
#define MPS_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mps_meta;
struct mps_subflow;

struct mps_sched_ops {
	const char *name;
	/* Subflows for the next `len` payload bytes, best first, at most max,
	 * into out[].  0: none should take them now (the engine asks again
	 * when a subflow drains or an ack arrives).  More than one: the same
	 * bytes go on each (redundant copies). */
	unsigned (*pick)(struct mps_meta *meta, size_t len,
			 struct mps_subflow **out, unsigned max);
	/* Optional: new data is held back by the peer's data-level window,
	 * head-of-line blocked behind bytes sent earlier.  May queue
	 * retransmissions (mps_meta_snd_reinject). */
	void (*blocked)(struct mps_meta *meta);
	/* Every subflow carries every byte: another subflow on a path adds
	 * copies, not capacity, so lossy.c never grows its paths. */
	bool copies;
};

int mps_sched_register(const struct mps_sched_ops *ops);
const struct mps_sched_ops *mps_sched_find(const char *name);
/* Register the built-in schedulers (idempotent). */
void mps_sched_init(void);

/* ---- shared by the schedulers ---- */

/* Refresh the TCP_INFO of usable subflows (bounded age). */
void mps_sched_refresh(struct mps_meta *meta);
/* May sf carry data now?  Usable, and a backup only when no regular
 * subflow is usable. */
bool mps_sched_eligible(const struct mps_meta *meta, const struct mps_subflow *sf);
/* Lowest-RTT eligible subflow; with need_room, only among those with room
 * for len bytes and not penalized.  NULL if none. */
struct mps_subflow *mps_sched_fastest(struct mps_meta *meta, bool need_room,
				      size_t len, const struct mps_subflow *skip);

/* Opportunistic retransmission and penalization, for ops->blocked: the
 * oldest unacknowledged byte sits on a slower subflow while the window is
 * full, so send it again on the fastest subflow with room and keep the
 * slow one out of the schedule for one of its RTTs. */
void mps_sched_opp_retransmit(struct mps_meta *meta);

/* ---- deadline reinjection (deadline.c) ---- */

/* The kernel holds `held` bytes of sf's stream (SIOCOUTQ): update how far
 * the peer's TCP acked it and since when that has not moved. */
void mps_deadline_progress(struct mps_subflow *sf, uint64_t now, uint64_t held);
/* How long sf may make no progress: rtts x its SRTT, at least 200 ms. */
uint64_t mps_deadline_limit_ns(const struct mps_subflow *sf, unsigned rtts);
/* sf has made no progress for limit_ns: the DSNs of its oldest map still
 * on it, up to 64 KiB, to send again on another subflow (once per map).
 * false when there is nothing to send or nowhere to send it. */
bool mps_deadline_pick(struct mps_meta *meta, struct mps_subflow *sf,
		       uint64_t now, uint64_t limit_ns,
		       uint64_t *start, uint64_t *end);
/* Once per liveness check: reinject what stalled subflows hold (rtts is
 * reinject_rtts; 0 turns it off). */
void mps_deadline_check(struct mps_meta *meta, uint64_t now, unsigned rtts);

extern const struct mps_sched_ops mps_sched_minrtt;
extern const struct mps_sched_ops mps_sched_ecf;
extern const struct mps_sched_ops mps_sched_roundrobin;
extern const struct mps_sched_ops mps_sched_redundant;

#endif
