/*
 * sched.c - the scheduler registry (see sched.h).
 */
#include <errno.h>
#include <string.h>
#include "sched.h"

#define MPS_SCHED_MAX 8

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
}
