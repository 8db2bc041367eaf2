/*
 * sched_minrtt.c - lowest round-trip time first, with opportunistic
 * retransmission and penalization.
 *
 * The default of Linux MPTCP: among the subflows that can take a frame now
 * (see sched.h for "room"), the one with the smallest smoothed RTT.
 *
 * When the peer's data-level window is full and the oldest unacknowledged
 * byte sits on a slower subflow, the fast subflow would idle while the
 * receiver waits for that byte: it is sent again on the fast subflow
 * (opportunistic retransmission), and the slow subflow is kept out of the
 * schedule for one of its RTTs (penalization), as in Raiciu et al.,
 * "How hard can it be? Designing and implementing a deployable multipath
 * TCP" (NSDI 2012).
 */
#include "meta.h"
#include "sched.h"
#include "subflow.h"

static unsigned minrtt_pick(struct mps_meta *meta, size_t len,
			    struct mps_subflow **out, unsigned max)
{
	struct mps_subflow *sf;

	mps_sched_refresh(meta);
	sf = mps_sched_fastest(meta, true, len, NULL);
	if (!sf || !max)
		return 0;
	out[0] = sf;
	return 1;
}

const struct mps_sched_ops mps_sched_minrtt = {
	.name = "minrtt",
	.pick = minrtt_pick,
	.blocked = mps_sched_opp_retransmit,
};
