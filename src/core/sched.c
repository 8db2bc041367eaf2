/*
 * sched.c - the scheduler registry and shared helpers (see sched.h).
 */
#include <errno.h>
#include <string.h>
#include "clock.h"
#include "log.h"
#include "meta.h"
#include "sched.h"
#include "subflow.h"

#define MPS_SCHED_MAX 8
#define MPS_SCHED_INFO_MAX_AGE_NS (20 * 1000000ull)

static const struct mps_sched_ops *registry[MPS_SCHED_MAX];
static unsigned n_registered;

int mps_sched_register(const struct mps_sched_ops *ops)
{
	if (!ops || !ops->name || !ops->name[0] || !ops->pick)
		return -EINVAL;
	if (mps_sched_find(ops->name))
		return -EEXIST;
	if (n_registered == MPS_SCHED_MAX)
		return -ENOSPC;
	registry[n_registered++] = ops;
	return 0;
}

const struct mps_sched_ops *mps_sched_find(const char *name)
{
	for (unsigned i = 0; i < n_registered; i++)
		if (!strcmp(registry[i]->name, name))
			return registry[i];
	return NULL;
}

void mps_sched_init(void)
{
	/* registration of a built-in twice returns -EEXIST: harmless */
	mps_sched_register(&mps_sched_minrtt);
	mps_sched_register(&mps_sched_ecf);
	mps_sched_register(&mps_sched_roundrobin);
	mps_sched_register(&mps_sched_redundant);
}

void mps_sched_refresh(struct mps_meta *meta)
{
	uint64_t now = mps_clock_ns();

	for (unsigned i = 0; i < meta->n_sf; i++)
		if (mps_subflow_usable(meta->sf[i]))
			mps_subflow_info_refresh(meta->sf[i], now,
						 MPS_SCHED_INFO_MAX_AGE_NS);
}

bool mps_sched_eligible(const struct mps_meta *meta, const struct mps_subflow *sf)
{
	if (!mps_subflow_usable(sf))
		return false;
	if (!sf->backup)
		return true;
	for (unsigned i = 0; i < meta->n_sf; i++)
		if (mps_subflow_usable(meta->sf[i]) && !meta->sf[i]->backup)
			return false;
	return true;
}

struct mps_subflow *mps_sched_fastest(struct mps_meta *meta, bool need_room,
				      size_t len, const struct mps_subflow *skip)
{
	struct mps_subflow *best = NULL, *penalized = NULL;
	uint64_t now = mps_clock_ns();

	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (sf == skip || !mps_sched_eligible(meta, sf))
			continue;
		if (need_room && !mps_subflow_has_room(sf, len))
			continue;
		if (need_room && sf->penalized_until_ns > now) {
			if (!penalized || sf->srtt_us < penalized->srtt_us)
				penalized = sf;
			continue;
		}
		if (!best || sf->srtt_us < best->srtt_us)
			best = sf;
	}
	/* a penalty throttles a subflow, it does not idle the connection */
	return best ? best : penalized;
}

/* The subflow whose map holds dsn, and how far that mapping runs. */
static struct mps_subflow *holder_of(struct mps_meta *meta, uint64_t dsn,
				     uint64_t *end)
{
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		for (unsigned k = 0; k < sf->map_n; k++) {
			const struct mps_sf_map *m = &sf->map[(sf->map_head + k) % sf->map_cap];

			if (!mps_seq_before(dsn, m->start) && mps_seq_before(dsn, m->end)) {
				*end = m->end;
				return sf;
			}
		}
	}
	return NULL;
}

void mps_sched_opp_retransmit(struct mps_meta *meta)
{
	uint64_t una = meta->snd.una, end;
	struct mps_subflow *slow, *fast;
	size_t len;

	if (meta->opp_una_valid && meta->opp_una == una)
		return;		/* this blocker was already sent again */
	slow = holder_of(meta, una, &end);
	if (!slow || slow->state != MPS_SF_ACTIVE)
		return;
	mps_sched_refresh(meta);
	fast = mps_sched_fastest(meta, true, meta->frame_size, slow);
	if (!fast || fast->srtt_us >= slow->srtt_us)
		return;
	len = end - una < meta->frame_size ? (size_t)(end - una) : meta->frame_size;
	mps_meta_snd_reinject(meta, una, una + len, false);
	meta->opp_una = una;
	meta->opp_una_valid = true;
	meta->opp_retrans_bytes += len;
	slow->penalized_until_ns = mps_clock_ns() + (uint64_t)slow->srtt_us * 1000u;
	mps_debug("meta %u: opportunistic retransmission of %zu bytes from subflow %u",
		  meta->id, len, slow->idx);
}

