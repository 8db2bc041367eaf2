/*
 * sched.h - packet schedulers: which subflow carries the next DATA frame.
 *
 * Owns: the scheduler registry.  Each scheduler is one file ending in its
 * ops record and registers itself from mps_sched_init(); the registry
 * rejects an ops record without a name or pick, and a duplicate name.
 */
#ifndef MPS_SCHED_H
#define MPS_SCHED_H

#include <stddef.h>

struct mps_meta;
struct mps_subflow;

struct mps_sched_ops {
	const char *name;
	/* Subflow for the next `len` payload bytes, or NULL when none has
	 * room now (the engine retries when a subflow drains). */
	struct mps_subflow *(*pick)(struct mps_meta *meta, size_t len);
};

int mps_sched_register(const struct mps_sched_ops *ops);
const struct mps_sched_ops *mps_sched_find(const char *name);
/* Register the built-in schedulers (idempotent). */
void mps_sched_init(void);

extern const struct mps_sched_ops mps_sched_minrtt;

#endif
