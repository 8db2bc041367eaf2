/*
 * sched_minrtt.c - lowest round-trip time first.
 *
 * The default of Linux MPTCP: among the subflows that can take a frame
 * now, pick the one with the smallest smoothed RTT (TCP_INFO).  "Can take
 * a frame" is the subflow's own backpressure: with TCP_NOTSENT_LOWAT set
 * the kernel stops accepting bytes while unsent data sits in the socket,
 * so a full subflow is one whose previous frame still waits in user space.
 * Backup subflows carry data only when no regular subflow is usable.
 */
#include <stdint.h>
#include "clock.h"
#include "meta.h"
#include "sched.h"
#include "subflow.h"

#define MINRTT_INFO_MAX_AGE_NS	(20 * 1000000ull)

static struct mps_subflow *minrtt_pick(struct mps_meta *meta, size_t len)
{
	struct mps_subflow *best = NULL;
	bool regular_usable = false;
	uint64_t now = mps_clock_ns();

	for (unsigned i = 0; i < meta->n_sf; i++)
		if (mps_subflow_usable(meta->sf[i]) && !meta->sf[i]->backup)
			regular_usable = true;
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (!mps_subflow_usable(sf) || (sf->backup && regular_usable))
			continue;
		if (!mps_subflow_has_room(sf, len))
			continue;
		mps_subflow_info_refresh(sf, now, MINRTT_INFO_MAX_AGE_NS);
		if (!best || sf->srtt_us < best->srtt_us)
			best = sf;
	}
	return best;
}

const struct mps_sched_ops mps_sched_minrtt = {
	.name = "minrtt",
	.pick = minrtt_pick,
};
