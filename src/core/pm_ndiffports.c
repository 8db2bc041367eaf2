/*
 * pm_ndiffports.c - N subflows between the same pair of addresses.
 *
 * Each subflow gets its own source port, so ECMP, per-flow load balancers
 * or per-flow rate limits along the path see distinct flows.  With one
 * local address configured, every subflow is bound to it.  A server behind
 * a load balancer (NOJOIN) gets them on the first address it advertises.
 */
#include "config.h"
#include "engine.h"
#include "meta.h"
#include "path.h"
#include "pm.h"

/* Every subflow shares one path: there is no other to race. */
static unsigned nd_initial_locals(const struct mps_config *cfg,
				  const union mps_sockaddr *dest, struct mps_engine *eng,
				  struct mps_pm_candidate *c, unsigned max)
{
	(void)eng;
	(void)max;
	c->backup = false;
	c->has_local = cfg->n_local &&
		       mps_addr_local_resolve(&cfg->local[0], dest->sa.sa_family,
					      &c->local) == 0;
	return 1;
}

static void nd_established(struct mps_meta *meta)
{
	const struct mps_config *cfg = meta->cfg;
	const struct mps_path *first = &meta->paths[0];

	for (long i = 1; i < cfg->subflows; i++)
		mps_path_add(meta, first->has_local ? &first->local : NULL, &meta->dest,
			     false, false);
}

/*
 * Other server addresses are not ndiffports' business, except behind a
 * load balancer: the server said NOJOIN, so the subflows that would have
 * gone to dest (nd_established's were refused) go to the first address it
 * advertises instead.
 */
static void nd_add_addr(struct mps_meta *meta, const union mps_sockaddr *remote)
{
	const struct mps_config *cfg = meta->cfg;
	const struct mps_path *first = &meta->paths[0];

	if (!meta->peer_nojoin || meta->n_paths > 1)
		return;
	for (long i = 1; i < cfg->subflows; i++)
		mps_path_add(meta, first->has_local ? &first->local : NULL, remote,
			     false, false);
}

const struct mps_pm_ops mps_pm_ndiffports = {
	.name = "ndiffports",
	.initial_locals = nd_initial_locals,
	.established = nd_established,
	.add_addr = nd_add_addr,
};
