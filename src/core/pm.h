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

struct mps_engine;
struct mps_meta;
struct mps_subflow;
struct mps_config;

#define MPS_PM_MAX_CANDIDATES	8	/* = MPS_CFG_MAX_LOCAL */

/* Where a first subflow may leave from. */
struct mps_pm_candidate {
	union mps_sockaddr local;	/* when has_local */
	bool has_local;			/* false: the kernel chooses */
	bool backup;			/* a backup entry's address */
};

struct mps_pm_ops {
	const char *name;
	/* The candidates for the first subflow to dest (its family) under
	 * cfg, best first: paths that failed lately in eng come last (eng
	 * NULL: no memory, as for the application thread's first SYN,
	 * initial.c), backups after every regular one.  Fills c[0..max) and
	 * returns how many, at least 1 (a candidate without has_local lets
	 * the kernel choose).  No state of its own: any thread may ask. */
	unsigned (*initial_locals)(const struct mps_config *cfg,
				   const union mps_sockaddr *dest,
				   struct mps_engine *eng,
				   struct mps_pm_candidate *c, unsigned max);
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
