/*
 * pm.h - path managers: which subflows a meta connection opens.
 *
 * Owns: the path manager registry and the built-in managers
 * (pm_ndiffports.c, pm_fullmesh.c).  A manager decides addresses; the
 * engine opens and runs the subflows.
 */
#ifndef MPS_PM_H
#define MPS_PM_H

#include "addr.h"

struct mps_meta;
struct mps_subflow;
struct mps_config;

struct mps_pm_ops {
	const char *name;
	/* Local address for the initial subflow (family of the destination);
	 * returns 0 with *has_local false to let the kernel choose. */
	int (*initial_local)(struct mps_meta *meta, union mps_sockaddr *local,
			     bool *has_local);
	/* The meta connection is established (client): open more subflows. */
	void (*established)(struct mps_meta *meta);
	/* Optional: the server advertised another of its addresses (an
	 * authenticated ADD_ADDR). */
	void (*add_addr)(struct mps_meta *meta, const union mps_sockaddr *remote);
};

int mps_pm_register(const struct mps_pm_ops *ops);
const struct mps_pm_ops *mps_pm_find(const char *name);
/* "auto": fullmesh when two or more local entries are configured, else
 * ndiffports. */
const struct mps_pm_ops *mps_pm_select(const struct mps_config *cfg);
void mps_pm_init(void);

extern const struct mps_pm_ops mps_pm_ndiffports;
extern const struct mps_pm_ops mps_pm_fullmesh;

#endif
