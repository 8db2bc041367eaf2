/*
 * test_sched.c - scheduler decisions on synthetic subflow states, and the
 * registries' rules.  No socket: sfd = -1 keeps the TCP_INFO snapshot as
 * the test sets it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
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
	sf->cwnd = 10;
	sf->mss = 1448;
	sf->idx = i;
	meta.sf[meta.n_sf++] = sf;
}

/* One pick of scheduler ops with room for every subflow's copy. */
static struct mps_subflow *pick1(const struct mps_sched_ops *ops, size_t len)
{
	struct mps_subflow *out[4];

	return ops->pick(&meta, len, out, 4) ? out[0] : NULL;
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
	cr_assert_eq(pick1(&mps_sched_minrtt, 16384), &sfs[1]);
}

Test(minrtt, full_subflow_is_skipped)
{
	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 20000, false, MPS_SF_ACTIVE);	/* a frame still queued */
	cr_assert_eq(pick1(&mps_sched_minrtt, 16384), &sfs[0]);
}

Test(minrtt, none_with_room_returns_null)
{
	add_sf(0, 60000, 40000, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 20000, false, MPS_SF_ACTIVE);
	cr_assert_null(pick1(&mps_sched_minrtt, 16384));
}

Test(minrtt, only_active_subflows_carry_data)
{
	add_sf(0, 1000, 0, false, MPS_SF_JOIN_SENT);
	add_sf(1, 2000, 0, false, MPS_SF_DEAD);
	add_sf(2, 90000, 0, false, MPS_SF_ACTIVE);
	add_sf(3, 500, 0, false, MPS_SF_CLOSING);
	cr_assert_eq(pick1(&mps_sched_minrtt, 16384), &sfs[2]);
}

Test(minrtt, backup_used_only_without_regular)
{
	add_sf(0, 1000, 0, true, MPS_SF_ACTIVE);
	add_sf(1, 80000, 0, false, MPS_SF_ACTIVE);
	cr_assert_eq(pick1(&mps_sched_minrtt, 16384), &sfs[1]);
	sfs[1].state = MPS_SF_DEAD;
	cr_assert_eq(pick1(&mps_sched_minrtt, 16384), &sfs[0]);
}

Test(minrtt, full_regular_does_not_spill_to_backup)
{
	add_sf(0, 1000, 0, true, MPS_SF_ACTIVE);
	add_sf(1, 80000, 50000, false, MPS_SF_ACTIVE);
	cr_assert_null(pick1(&mps_sched_minrtt, 16384),
		       "a busy regular path is still usable: wait for it");
}

static unsigned pick_none(struct mps_meta *m, size_t len, struct mps_subflow **out,
			  unsigned max)
{
	(void)m;
	(void)len;
	(void)out;
	(void)max;
	return 0;
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

TestSuite(ecf, .init = setup);

Test(ecf, fast_path_with_room_wins)
{
	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 0, false, MPS_SF_ACTIVE);
	cr_assert_eq(pick1(&mps_sched_ecf, 16384), &sfs[1]);
}

Test(ecf, small_backlog_waits_for_the_fast_path)
{
	/* fast full, 20 KB waiting: the fast path sends it in ~2 RTTs of
	 * 10 ms, sooner than one 60 ms RTT of the slow path */
	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 20000, false, MPS_SF_ACTIVE);
	meta.snd.nxt = 1000;
	meta.snd.end = 1000 + 20000;
	cr_assert_null(pick1(&mps_sched_ecf, 16384));
}

Test(ecf, large_backlog_uses_the_slow_path_too)
{
	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 20000, false, MPS_SF_ACTIVE);
	meta.snd.nxt = 1000;
	meta.snd.end = 1000 + 4000000;
	cr_assert_eq(pick1(&mps_sched_ecf, 16384), &sfs[0]);
}

Test(ecf, paths_of_equal_rtt_are_alike)
{
	/* loopback-like: a huge MSS makes the fast path look able to send
	 * any backlog at once, yet an equal path with room must be used */
	add_sf(0, 60, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 50, 20000, false, MPS_SF_ACTIVE);
	sfs[1].mss = 65483;
	sfs[1].cwnd = 100;
	meta.snd.nxt = 1000;
	meta.snd.end = 1000 + 4000000;
	cr_assert_eq(pick1(&mps_sched_ecf, 16384), &sfs[0]);
}

TestSuite(roundrobin, .init = setup);

Test(roundrobin, takes_turns_and_skips_full)
{
	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 0, false, MPS_SF_ACTIVE);
	add_sf(2, 30000, 0, false, MPS_SF_ACTIVE);
	cr_assert_eq(pick1(&mps_sched_roundrobin, 1000), &sfs[0]);
	cr_assert_eq(pick1(&mps_sched_roundrobin, 1000), &sfs[1]);
	cr_assert_eq(pick1(&mps_sched_roundrobin, 1000), &sfs[2]);
	sfs[0].olen = 50000;
	cr_assert_eq(pick1(&mps_sched_roundrobin, 1000), &sfs[1]);
}

TestSuite(redundant, .init = setup);

Test(redundant, every_subflow_fastest_first)
{
	struct mps_subflow *out[4];

	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 0, false, MPS_SF_ACTIVE);
	add_sf(2, 30000, 0, true, MPS_SF_ACTIVE);	/* backup: not while regular */
	cr_assert_eq(mps_sched_redundant.pick(&meta, 1000, out, 4), 2);
	cr_assert_eq(out[0], &sfs[1]);
	cr_assert_eq(out[1], &sfs[0]);
	sfs[0].olen = 50000;
	cr_assert_eq(mps_sched_redundant.pick(&meta, 1000, out, 4), 0,
		     "a copy waits until every subflow has room");
}

TestSuite(opportunistic, .init = setup);

Test(opportunistic, blocker_on_slow_path_is_resent_and_slow_path_penalized)
{
	struct mps_subflow *out[4];

	cr_assert_eq(mps_meta_seq_init(&meta, 1 << 20, 1 << 20), 0);
	meta.idsn_local = 5000;
	meta.idsn_peer = 9000;
	mps_meta_seq_start(&meta);
	meta.frame_size = 16384;
	add_sf(0, 80000, 0, false, MPS_SF_ACTIVE);	/* slow, holds una */
	add_sf(1, 10000, 0, false, MPS_SF_ACTIVE);	/* fast, has room */
	meta.snd.end = meta.snd.nxt = 5000 + 40000;
	mps_subflow_map_push(&sfs[0], 5000, 5000 + 20000, false);
	mps_subflow_map_push(&sfs[1], 25000, 25000 + 20000, false);
	mps_sched_opp_retransmit(&meta);
	cr_assert_eq(meta.snd.reinject.n, 1);
	cr_assert_eq(meta.snd.reinject.r[0].start, 5000);
	cr_assert_eq(meta.snd.reinject.r[0].end, 5000 + 16384, "one frame of it");
	cr_assert_gt(sfs[0].penalized_until_ns, 0);
	/* the penalized slow path yields to the fast one */
	sfs[1].srtt_us = 90000;
	cr_assert_eq(mps_sched_minrtt.pick(&meta, 1000, out, 4), 1);
	cr_assert_eq(out[0], &sfs[1]);
	/* the same blocker is not sent twice */
	mps_sched_opp_retransmit(&meta);
	cr_assert_eq(meta.snd.reinject.r[0].end, 5000 + 16384);
	free(sfs[0].map);
	free(sfs[1].map);
	mps_meta_seq_free(&meta);
}

Test(opportunistic, nothing_when_the_blocker_is_on_the_fastest)
{
	cr_assert_eq(mps_meta_seq_init(&meta, 1 << 20, 1 << 20), 0);
	meta.idsn_local = 5000;
	mps_meta_seq_start(&meta);
	meta.frame_size = 16384;
	add_sf(0, 10000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 80000, 0, false, MPS_SF_ACTIVE);
	meta.snd.end = meta.snd.nxt = 5000 + 20000;
	mps_subflow_map_push(&sfs[0], 5000, 5000 + 20000, false);
	mps_sched_opp_retransmit(&meta);
	cr_assert_eq(meta.snd.reinject.n, 0);
	free(sfs[0].map);
	mps_meta_seq_free(&meta);
}

Test(registry, star_local_selects_fullmesh)
{
	struct mps_config cfg;
	char err[128];

	mps_pm_init();
	mps_config_defaults(&cfg);
	cr_assert_eq(mps_config_set(&cfg, "local", "*", err, sizeof(err)), 0);
	cr_assert(cfg.local[0].any_iface);
	cr_assert_eq(mps_pm_select(&cfg), &mps_pm_fullmesh);
	cr_assert_neq(mps_config_set(&cfg, "local", "**", err, sizeof(err)), 0);
}
