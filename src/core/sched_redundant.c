/*
 * sched_redundant.c - every frame on every eligible subflow.
 *
 * For small, latency-critical flows: the first copy to arrive wins, the
 * receiver drops the rest as duplicates, and a path that stalls costs
 * nothing.  Throughput is that of the slowest path, so it is not for bulk.
 * A frame waits until every eligible subflow has room, so each gets every
 * byte.
 */
#include "meta.h"
#include "sched.h"
#include "subflow.h"

static unsigned red_pick(struct mps_meta *meta, size_t len,
			 struct mps_subflow **out, unsigned max)
{
	unsigned n = 0;

	mps_sched_refresh(meta);
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (!mps_sched_eligible(meta, sf))
			continue;
		if (!mps_subflow_has_room(sf, len))
			return 0;
		if (n < max)
			out[n++] = sf;
	}
	/* fastest first: the copy that counts goes out first */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && out[j]->srtt_us < out[j - 1]->srtt_us; j--) {
			struct mps_subflow *t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

const struct mps_sched_ops mps_sched_redundant = {
	.name = "redundant",
	.pick = red_pick,
	.copies = true,
};
