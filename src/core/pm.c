/*
 * pm.c - the path manager registry (see pm.h).
 */
#include <errno.h>
#include <string.h>
#include "config.h"
#include "pm.h"

#define MPS_PM_MAX 8

static const struct mps_pm_ops *registry[MPS_PM_MAX];
static unsigned n_registered;

int mps_pm_register(const struct mps_pm_ops *ops)
{
	if (!ops || !ops->name || !ops->name[0] || !ops->initial_locals ||
	    !ops->established)
		return -EINVAL;
	if (mps_pm_find(ops->name))
		return -EEXIST;
	if (n_registered == MPS_PM_MAX)
		return -ENOSPC;
	registry[n_registered++] = ops;
	return 0;
}

const struct mps_pm_ops *mps_pm_find(const char *name)
{
	for (unsigned i = 0; i < n_registered; i++)
		if (!strcmp(registry[i]->name, name))
			return registry[i];
	return NULL;
}

const struct mps_pm_ops *mps_pm_select(const struct mps_config *cfg)
{
	if (!strcmp(cfg->path_manager, "auto")) {
		bool any = false;

		for (unsigned i = 0; i < cfg->n_local; i++)
			any |= cfg->local[i].any_iface;
		return mps_pm_find(cfg->n_local > 1 || any ? "fullmesh" : "ndiffports");
	}
	return mps_pm_find(cfg->path_manager);
}

void mps_pm_init(void)
{
	mps_pm_register(&mps_pm_ndiffports);
	mps_pm_register(&mps_pm_fullmesh);
}
