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
#include "clock.h"
#include "frame.h"
#include "meta.h"
#include "path.h"
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
	mps_subflow_map_push(&sfs[0], 5000, 5000 + 20000, false, 20000);
	mps_subflow_map_push(&sfs[1], 25000, 25000 + 20000, false, 20000);
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
	mps_subflow_map_push(&sfs[0], 5000, 5000 + 20000, false, 20000);
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

/* ---- deadline reinjection (deadline.c) ---- */

TestSuite(deadline, .init = setup);

#define MS	1000000ull

/* Two subflows, a 1 MiB sequence space from DSN 5000; sf 0 carries maps. */
static void deadline_setup(void)
{
	cr_assert_eq(mps_meta_seq_init(&meta, 1 << 20, 1 << 20), 0);
	meta.idsn_local = 5000;
	mps_meta_seq_start(&meta);
	meta.frame_size = 16384;
	add_sf(0, 60000, 0, false, MPS_SF_ACTIVE);
	add_sf(1, 10000, 0, false, MPS_SF_ACTIVE);
	meta.snd.end = meta.snd.nxt = 5000 + 200000;
}

static void deadline_teardown(void)
{
	free(sfs[0].map);
	mps_meta_seq_free(&meta);
}

/* Progress is the peer's TCP acknowledging more of the stream; the stall
 * clock runs only while the kernel holds bytes. */
Test(deadline, progress_follows_the_kernels_send_queue)
{
	deadline_setup();
	sfs[0].wire_sent = 100000;
	mps_deadline_progress(&sfs[0], 10 * MS, 40000);
	cr_assert_eq(sfs[0].wire_acked, 60000);
	cr_assert_eq(sfs[0].stuck_since_ns, 10 * MS);
	/* nothing more acked: the clock keeps its start */
	mps_deadline_progress(&sfs[0], 50 * MS, 40000);
	cr_assert_eq(sfs[0].stuck_since_ns, 10 * MS);
	/* more acked: progress, the clock starts again */
	mps_deadline_progress(&sfs[0], 90 * MS, 30000);
	cr_assert_eq(sfs[0].wire_acked, 70000);
	cr_assert_eq(sfs[0].stuck_since_ns, 90 * MS);
	/* a SEND the kernel took before its completion came: no step back */
	sfs[0].olen = 20000;
	mps_deadline_progress(&sfs[0], 95 * MS, 30000);
	cr_assert_eq(sfs[0].wire_acked, 70000);
	/* everything acked: not stalled, however long ago it moved */
	sfs[0].olen = 0;
	mps_deadline_progress(&sfs[0], 400 * MS, 0);
	cr_assert_eq(sfs[0].stuck_since_ns, 0);
	cr_assert_eq(sfs[0].wire_acked, 100000);
	deadline_teardown();
}

Test(deadline, limit_is_the_subflows_own_rtts_from_200_ms)
{
	deadline_setup();
	/* 2 x 10 ms is under the 200 ms floor */
	cr_assert_eq(mps_deadline_limit_ns(&sfs[1], 2), 200 * MS);
	/* 2 x 60 ms too; 4 x 60 ms is not */
	cr_assert_eq(mps_deadline_limit_ns(&sfs[0], 2), 200 * MS);
	cr_assert_eq(mps_deadline_limit_ns(&sfs[0], 4), 240 * MS);
	/* a long path: its own RTTs, whatever the others' */
	sfs[0].srtt_us = 400000;
	cr_assert_eq(mps_deadline_limit_ns(&sfs[0], 2), 800 * MS);
	deadline_teardown();
}

/* A slow subflow that keeps making progress keeps its data, however old
 * its queued frames are: only a stall counts. */
Test(deadline, slow_but_moving_subflow_keeps_its_data)
{
	uint64_t s, e;

	deadline_setup();
	cr_assert_eq(mps_subflow_map_push(&sfs[0], 5000, 5000 + 16384, false, 16400), 0);
	cr_assert_eq(mps_subflow_map_push(&sfs[0], 40000, 40000 + 16384, false, 32800), 0);
	sfs[0].wire_sent = 32800;
	for (uint64_t t = 1 * MS, held = 32800; held; t += 100 * MS, held -= 4100) {
		mps_deadline_progress(&sfs[0], t, held);
		cr_assert_not(mps_deadline_pick(&meta, &sfs[0], t, 200 * MS, &s, &e),
			      "reinjected at %llu ms while the subflow moved",
			      (unsigned long long)(t / MS));
	}
	deadline_teardown();
}

/* A stalled subflow: its first map the peer's TCP has not acked goes again,
 * from where its unacked part begins, once, at most 64 KiB; a map acked at
 * the TCP level (waiting in the peer's reorder buffer) never does. */
Test(deadline, stalled_subflow_sends_its_oldest_unacked_range_once)
{
	uint64_t s, e;

	deadline_setup();
	/* map A fully acked by TCP, map B half, map C not at all */
	cr_assert_eq(mps_subflow_map_push(&sfs[0], 5000, 5000 + 16384, false, 16400), 0);
	cr_assert_eq(mps_subflow_map_push(&sfs[0], 30000, 30000 + 100000, false, 116500), 0);
	cr_assert_eq(mps_subflow_map_push(&sfs[0], 150000, 150000 + 8000, false, 124510), 0);
	sfs[0].wire_sent = 124510;
	mps_deadline_progress(&sfs[0], 1 * MS, 124510 - 66400);	/* acked to 66400 */
	cr_assert_not(mps_deadline_pick(&meta, &sfs[0], 200 * MS, 200 * MS, &s, &e),
		      "before the limit");
	cr_assert(mps_deadline_pick(&meta, &sfs[0], 201 * MS, 200 * MS, &s, &e));
	/* B's unacked wire bytes are 116500 - 66400 = 50100: at least that
	 * much payload from its end */
	cr_assert_eq(e, 30000 + 100000);
	cr_assert_eq(s, 30000 + 100000 - 50100);
	cr_assert_not(mps_deadline_pick(&meta, &sfs[0], 900 * MS, 200 * MS, &s, &e),
		      "the same range twice");
	deadline_teardown();
}

Test(deadline, at_most_64_KiB_and_never_below_una)
{
	uint64_t s, e;

	deadline_setup();
	cr_assert_eq(mps_subflow_map_push(&sfs[0], 5000, 5000 + 180000, false, 180200), 0);
	sfs[0].wire_sent = 180200;
	mps_deadline_progress(&sfs[0], 1 * MS, 180200);	/* nothing acked */
	meta.snd.una = 5000 + 1000;			/* the peer has a little */
	cr_assert(mps_deadline_pick(&meta, &sfs[0], 300 * MS, 200 * MS, &s, &e));
	cr_assert_eq(s, 5000 + 1000);
	cr_assert_eq(e, s + 64 * 1024);
	deadline_teardown();
}

Test(deadline, nothing_when_no_other_subflow_can_carry_it)
{
	uint64_t s, e;

	deadline_setup();
	sfs[1].state = MPS_SF_DEAD;
	cr_assert_eq(mps_subflow_map_push(&sfs[0], 5000, 5000 + 16384, false, 16400), 0);
	sfs[0].wire_sent = 16400;
	mps_deadline_progress(&sfs[0], 1 * MS, 16400);
	cr_assert_not(mps_deadline_pick(&meta, &sfs[0], 300 * MS, 200 * MS, &s, &e));
	/* and the range was not used up: it goes once another path exists */
	sfs[1].state = MPS_SF_ACTIVE;
	cr_assert(mps_deadline_pick(&meta, &sfs[0], 300 * MS, 200 * MS, &s, &e));
	deadline_teardown();
}

/* ---- loss-limited paths grow (lossy.c) ---- */

TestSuite(lossy, .init = setup);

static struct mps_config lossy_cfg;

/* A server: sfs 0 and 1 on path A (60 ms, no queue), sf 2 on path B
 * (10 ms least, 95 ms now: a standing queue); all full, data waiting. */
static void lossy_setup(long cap)
{
	static const char *const local[] = { "10.0.0.1:443", "10.0.0.1:443", "10.0.0.1:443" };
	static const char *const remote[] = { "10.1.0.1:4001", "10.1.0.1:4002", "10.2.0.1:4003" };
	static const uint32_t srtt[] = { 60000, 61000, 95000 };
	static const uint32_t least[] = { 58000, 59000, 10000 };

	mps_config_defaults(&lossy_cfg);
	lossy_cfg.lossy_subflows = cap;
	meta.cfg = &lossy_cfg;
	meta.role = MPS_ROLE_S;
	meta.state = MPS_META_ESTABLISHED;
	meta.frame_size = 16384;
	meta.snd.end = 1 << 20;		/* a megabyte waits */
	for (unsigned i = 0; i < 3; i++) {
		add_sf(i, srtt[i], 0, false, MPS_SF_ACTIVE);
		sfs[i].min_srtt_us = least[i];
		cr_assert_eq(mps_addr_parse(local[i], &sfs[i].local), 0);
		cr_assert_eq(mps_addr_parse(remote[i], &sfs[i].remote), 0);
		/* a frame waits in user space: the kernel takes no more */
		sfs[i].ocap = 65536;
		sfs[i].obuf = malloc(sfs[i].ocap);
		sfs[i].olen = 20000;
	}
}

static void lossy_teardown(void)
{
	for (unsigned i = 0; i < 3; i++)
		free(sfs[i].obuf);
}

/* n liveness checks; each subflow retransmits `loss` segments per check. */
static void lossy_ticks(unsigned n, unsigned loss)
{
	for (unsigned t = 0; t < n; t++) {
		for (unsigned i = 0; i < 3; i++)
			sfs[i].total_retrans += loss;
		mps_lossy_check(&meta, mps_clock_ns());
	}
}

/* The GROW frames sf holds after its first 20000 queued bytes. */
static unsigned grows_sent(unsigned i, unsigned *want)
{
	size_t off = 20000;
	unsigned n = 0;
	struct mps_frame f;
	int r;

	while (off < sfs[i].olen &&
	       (r = mps_frame_parse(sfs[i].obuf + off, sfs[i].olen - off, 0, &f)) > 0) {
		if (f.type == MPS_FT_GROW) {
			n++;
			*want = f.u.grow.subflows;
		}
		off += (size_t)r;
	}
	return n;
}

Test(lossy, loss_without_a_queue_asks_for_one_more_subflow)
{
	unsigned want = 0;

	lossy_setup(4);
	lossy_ticks(4, 1);
	cr_assert_eq(grows_sent(0, &want), 0, "before a whole window");
	lossy_ticks(1, 1);
	cr_assert_eq(grows_sent(0, &want) + grows_sent(1, &want), 1);
	cr_assert_eq(grows_sent(0, &want), 1, "asked on the path's first subflow");
	cr_assert_eq(want, 3, "two subflows there, a third asked for");
	cr_assert_eq(grows_sent(2, &want), 0, "a path with a standing queue grew");
	cr_assert_eq(meta.lossy_grows, 1);
	/* the new subflow ramps up before the path may grow again */
	lossy_ticks(5, 1);
	cr_assert_eq(grows_sent(0, &want), 1, "grew again within the settle time");
	lossy_teardown();
}

Test(lossy, no_loss_no_growth)
{
	unsigned want;

	lossy_setup(4);
	lossy_ticks(20, 0);
	cr_assert_eq(grows_sent(0, &want) + grows_sent(1, &want), 0);
	lossy_teardown();
}

Test(lossy, nothing_waiting_no_growth)
{
	unsigned want;

	lossy_setup(4);
	meta.snd.end = meta.snd.nxt;	/* the app offers no more than is sent */
	lossy_ticks(20, 1);
	cr_assert_eq(grows_sent(0, &want) + grows_sent(1, &want), 0);
	lossy_teardown();
}

Test(lossy, subflows_with_room_are_not_limited_by_the_path)
{
	unsigned want;

	lossy_setup(4);
	sfs[0].olen = sfs[1].olen = 0;
	lossy_ticks(20, 1);
	cr_assert_eq(grows_sent(0, &want) + grows_sent(1, &want), 0);
	lossy_teardown();
}

Test(lossy, stops_at_lossy_subflows)
{
	unsigned want;

	lossy_setup(2);		/* path A has 2 already */
	lossy_ticks(20, 1);
	cr_assert_eq(grows_sent(0, &want) + grows_sent(1, &want), 0);
	lossy_teardown();
	memset(&meta, 0, sizeof(meta));
	lossy_setup(1);		/* off */
	sfs[1].state = MPS_SF_DEAD;
	lossy_ticks(20, 1);
	cr_assert_eq(grows_sent(0, &want), 0);
	lossy_teardown();
}

Test(lossy, redundant_copies_are_not_capacity)
{
	unsigned want;

	lossy_setup(4);
	meta.sched = &mps_sched_redundant;
	lossy_ticks(20, 1);
	cr_assert_eq(grows_sent(0, &want) + grows_sent(1, &want), 0);
	lossy_teardown();
}

Test(lossy, queue_is_judged_against_the_least_rtt)
{
	struct mps_subflow sf = { .min_srtt_us = 60000 };

	sf.srtt_us = 75000;
	cr_assert(mps_lossy_no_queue(&sf), "a quarter above the least is jitter");
	sf.srtt_us = 75001;
	cr_assert_not(mps_lossy_no_queue(&sf));
	sf.min_srtt_us = 1000;		/* short paths: 2 ms of slack */
	sf.srtt_us = 3000;
	cr_assert(mps_lossy_no_queue(&sf));
	sf.srtt_us = 3001;
	cr_assert_not(mps_lossy_no_queue(&sf));
}

/* ---- DATA frames fit the flight that carries them (subflow.c) ---- */

Test(lowat, frames_are_a_quarter_of_the_window_in_whole_segments)
{
	struct mps_subflow sf = { .mss = 1448, .cwnd = 10 };

	/* TCP's initial window of ten: two segments a frame, header in */
	cr_assert_eq(mps_subflow_frame_for(&sf, 16384), 2 * 1448 - MPS_DATA_HDR_LEN);
	/* a window of three still sends one segment a frame */
	sf.cwnd = 3;
	cr_assert_eq(mps_subflow_frame_for(&sf, 16384), 1448 - MPS_DATA_HDR_LEN);
	/* a grown window: the configured frame size */
	sf.cwnd = 100;
	cr_assert_eq(mps_subflow_frame_for(&sf, 16384), 16384);
	/* loopback's 64 KiB segments: the frame size from the first */
	sf.mss = 65483;
	sf.cwnd = 10;
	cr_assert_eq(mps_subflow_frame_for(&sf, 16384), 16384);
	/* nothing measured yet: the frame size */
	sf.cwnd = 0;
	cr_assert_eq(mps_subflow_frame_for(&sf, 16384), 16384);
	/* past the first flights: the frame size, whatever the window */
	sf.mss = 1448;
	sf.cwnd = 10;
	sf.bytes_sent = MPS_FRAME_RAMP_BYTES;
	cr_assert_eq(mps_subflow_frame_for(&sf, 16384), 16384);
}

/* ---- TCP_NOTSENT_LOWAT follows the subflow's rate (subflow.c) ---- */

Test(lowat, about_5_ms_of_the_rate_within_a_frame_and_the_cap)
{
	/* 3.3 Mbit/s (cwnd 17, 60 ms): 2 KiB would be 5 ms; one frame */
	cr_assert_eq(mps_subflow_lowat_for(17, 1448, 60000, 65536), MPS_LOWAT_MIN);
	/* 50 Mbit/s (cwnd 432, 100 ms of queue): 5 ms is 31276 bytes */
	cr_assert_eq(mps_subflow_lowat_for(432, 1448, 100000, 65536), 31276);
	/* a 10 Gbit/s veth: the configured bound */
	cr_assert_eq(mps_subflow_lowat_for(1000, 65483, 50, 65536), 65536);
	/* nothing measured yet: the bound */
	cr_assert_eq(mps_subflow_lowat_for(10, 1448, UINT32_MAX, 65536), 65536);
	/* a bound below a frame is the bound */
	cr_assert_eq(mps_subflow_lowat_for(17, 1448, 60000, 8192), 8192);
}
