/*
 * sched_ecf.c - earliest completion first: do not put data on a slow path
 * when the fast path would deliver it sooner.
 *
 * In the spirit of ECF (Lim et al., CoNEXT 2017) and BLEST (Ferlin et al.,
 * IFIP Networking 2016).  When the fastest subflow has room, it gets the
 * frame.  When it is full, a slower subflow with room gets the frame only
 * if the fast one could not send the whole backlog sooner: the backlog
 * takes about n = 1 + backlog / (cwnd x mss) fast round trips, and waiting
 * wins when n x RTT_fast < (1 + delta) x RTT_slow.  Small transfers then
 * stay on the fast path; bulk transfers use every path.  Paths whose RTTs
 * are within delta (or 1 ms) of each other are treated alike: the one with
 * room gets the frame.  Opportunistic
 * retransmission is minrtt's.
 */
#include "meta.h"
#include "sched.h"
#include "subflow.h"

#define ECF_DELTA_PCT	25	/* hysteresis: a slow path must be clearly useful */
#define ECF_SAME_US	1000	/* RTTs this close are the same path quality */

static unsigned ecf_pick(struct mps_meta *meta, size_t len,
			 struct mps_subflow **out, unsigned max)
{
	struct mps_subflow *fast, *cand;
	uint64_t backlog, per_rtt, n;

	if (!max)
		return 0;
	mps_sched_refresh(meta);
	fast = mps_sched_fastest(meta, false, len, NULL);
	if (!fast)
		return 0;
	if (mps_subflow_has_room(fast, len)) {
		out[0] = fast;
		return 1;
	}
	cand = mps_sched_fastest(meta, true, len, fast);
	if (!cand)
		return 0;
	/* paths of about the same RTT: nothing is gained by waiting, use
	 * the one with room as minrtt would */
	if ((uint64_t)cand->srtt_us * 100 <=
	    (uint64_t)fast->srtt_us * (100 + ECF_DELTA_PCT) + ECF_SAME_US * 100) {
		out[0] = cand;
		return 1;
	}
	backlog = (meta->snd.end - meta->snd.nxt) + mps_rangeset_bytes(&meta->snd.reinject);
	per_rtt = (uint64_t)fast->cwnd * (fast->mss ? fast->mss : 1448);
	if (per_rtt < 2 * len)
		per_rtt = 2 * len;
	n = 1 + backlog / per_rtt;
	if (n * fast->srtt_us * 100 < (uint64_t)cand->srtt_us * (100 + ECF_DELTA_PCT))
		return 0;	/* the fast path finishes first: wait for it */
	out[0] = cand;
	return 1;
}

const struct mps_sched_ops mps_sched_ecf = {
	.name = "ecf",
	.pick = ecf_pick,
	.blocked = mps_sched_opp_retransmit,
};
