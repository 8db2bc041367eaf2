/*
 * sched_roundrobin.c - each eligible subflow with room in turn.
 *
 * Ignores RTT: useful to spread load evenly over equal paths, and as a
 * baseline in benchmarks.
 */
#include "meta.h"
#include "sched.h"
#include "subflow.h"

static unsigned rr_pick(struct mps_meta *meta, size_t len,
			struct mps_subflow **out, unsigned max)
{
	if (!max || !meta->n_sf)
		return 0;
	for (unsigned k = 0; k < meta->n_sf; k++) {
		unsigned i = (meta->rr_next + k) % meta->n_sf;
		struct mps_subflow *sf = meta->sf[i];

		if (mps_sched_eligible(meta, sf) && mps_subflow_has_room(sf, len)) {
			meta->rr_next = i + 1;
			out[0] = sf;
			return 1;
		}
	}
	return 0;
}

const struct mps_sched_ops mps_sched_roundrobin = {
	.name = "roundrobin",
	.pick = rr_pick,
};
