/*
 * test_sched.c - scheduler decisions on synthetic subflow states, and the
 * registries' rules.  No socket: sfd = -1 keeps the TCP_INFO snapshot as
 * the test sets it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "config.h"
#include "meta.h"
#include "pm.h"
#include "sched.h"
#include "subflow.h"

static struct mps_meta meta;
static struct mps_subflow sfs[4];

static void add_sf(unsigned i, uint32_t srtt_us, size_t queued, bool backup,
		   enum mps_sf_state state)
{
	struct mps_subflow *sf = &sfs[i];

	memset(sf, 0, sizeof(*sf));
	sf->sfd = -1;
	sf->meta = &meta;
	sf->state = state;
	sf->srtt_us = srtt_us;
	sf->info_ns = 1;
	sf->backup = backup;
	sf->olen = queued;
	meta.sf[meta.n_sf++] = sf;
}

static void setup(void)
{
	memset(&meta, 0, sizeof(meta));
	mps_sched_init();
}

TestSuite(minrtt, .init = setup);

Test(minrtt, lowest_rtt_with_room_wins)
{
	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 0, false, MPS_SF_ACTIVE);
	add_sf(2, 30000, 0, false, MPS_SF_ACTIVE);
	cr_assert_eq(mps_sched_minrtt.pick(&meta, 16384), &sfs[1]);
}

Test(minrtt, full_subflow_is_skipped)
{
	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 20000, false, MPS_SF_ACTIVE);	/* a frame still queued */
	cr_assert_eq(mps_sched_minrtt.pick(&meta, 16384), &sfs[0]);
}

Test(minrtt, none_with_room_returns_null)
{
	add_sf(0, 60000, 40000, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 20000, false, MPS_SF_ACTIVE);
	cr_assert_null(mps_sched_minrtt.pick(&meta, 16384));
}

Test(minrtt, only_active_subflows_carry_data)
{
	add_sf(0, 1000, 0, false, MPS_SF_JOIN_SENT);
	add_sf(1, 2000, 0, false, MPS_SF_DEAD);
	add_sf(2, 90000, 0, false, MPS_SF_ACTIVE);
	add_sf(3, 500, 0, false, MPS_SF_CLOSING);
	cr_assert_eq(mps_sched_minrtt.pick(&meta, 16384), &sfs[2]);
}

Test(minrtt, backup_used_only_without_regular)
{
	add_sf(0, 1000, 0, true, MPS_SF_ACTIVE);
	add_sf(1, 80000, 0, false, MPS_SF_ACTIVE);
	cr_assert_eq(mps_sched_minrtt.pick(&meta, 16384), &sfs[1]);
	sfs[1].state = MPS_SF_DEAD;
	cr_assert_eq(mps_sched_minrtt.pick(&meta, 16384), &sfs[0]);
}

Test(minrtt, full_regular_does_not_spill_to_backup)
{
	add_sf(0, 1000, 0, true, MPS_SF_ACTIVE);
	add_sf(1, 80000, 50000, false, MPS_SF_ACTIVE);
	cr_assert_null(mps_sched_minrtt.pick(&meta, 16384),
		       "a busy regular path is still usable: wait for it");
}

static struct mps_subflow *pick_none(struct mps_meta *m, size_t len)
{
	(void)m;
	(void)len;
	return NULL;
}

Test(registry, rejects_incomplete_and_duplicate)
{
	static const struct mps_sched_ops noname = { .name = "", .pick = pick_none };
	static const struct mps_sched_ops nopick = { .name = "x" };
	static const struct mps_sched_ops dup = { .name = "minrtt", .pick = pick_none };
	static const struct mps_sched_ops ok = { .name = "test-none", .pick = pick_none };

	mps_sched_init();
	cr_assert_eq(mps_sched_register(&noname), -EINVAL);
	cr_assert_eq(mps_sched_register(&nopick), -EINVAL);
	cr_assert_eq(mps_sched_register(NULL), -EINVAL);
	cr_assert_eq(mps_sched_register(&dup), -EEXIST);
	cr_assert_eq(mps_sched_register(&ok), 0);
	cr_assert_eq(mps_sched_find("test-none"), &ok);
	cr_assert_eq(mps_sched_find("minrtt"), &mps_sched_minrtt);
	cr_assert_null(mps_sched_find("nope"));
}

Test(registry, path_manager_selection)
{
	struct mps_config cfg;
	char err[128];

	mps_pm_init();
	mps_config_defaults(&cfg);
	cr_assert_eq(mps_pm_select(&cfg), &mps_pm_ndiffports);
	cr_assert_eq(mps_config_set(&cfg, "local", "10.0.0.1,10.0.1.1", err, sizeof(err)), 0);
	cr_assert_eq(mps_pm_select(&cfg), &mps_pm_fullmesh);
	cr_assert_eq(mps_config_set(&cfg, "path_manager", "ndiffports", err, sizeof(err)), 0);
	cr_assert_eq(mps_pm_select(&cfg), &mps_pm_ndiffports);
}
