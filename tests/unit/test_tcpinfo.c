/*
 * test_tcpinfo.c - the TCP_INFO an application reads on a multipath
 * connection: how the subflows' structs are merged (tcpopt.h) and which
 * TCP state a meta shows.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <string.h>
#include "meta.h"
#include "subflow.h"
#include "tcpopt.h"

static struct tcp_info sf_info(uint32_t rtt, uint32_t cwnd, uint32_t mss,
			       uint32_t last_recv, uint32_t retrans)
{
	struct tcp_info ti;

	memset(&ti, 0, sizeof(ti));
	ti.tcpi_rtt = rtt;
	ti.tcpi_rttvar = rtt / 2;
	ti.tcpi_snd_cwnd = cwnd;
	ti.tcpi_snd_mss = mss;
	ti.tcpi_unacked = cwnd / 2;
	ti.tcpi_last_data_recv = last_recv;
	ti.tcpi_total_retrans = retrans;
	ti.tcpi_bytes_sent = 1000 * cwnd;
	ti.tcpi_pmtu = mss + 52;
	ti.tcpi_reordering = 3 + retrans;
	ti.tcpi_max_pacing_rate = UINT64_MAX;
	return ti;
}

Test(tcpinfo, best_path_sums_and_least)
{
	struct tcp_info agg, slow = sf_info(40000, 10, 1448, 7, 2),
			fast = sf_info(9000, 20, 1400, 300, 5);
	bool best = false;

	memset(&agg, 0, sizeof(agg));
	mps_tcpinfo_merge(&agg, &slow, &best);
	mps_tcpinfo_merge(&agg, &fast, &best);
	/* the path of the lowest RTT describes the connection */
	cr_assert_eq(agg.tcpi_rtt, 9000);
	cr_assert_eq(agg.tcpi_rttvar, 4500);
	cr_assert_eq(agg.tcpi_snd_mss, 1400);
	/* what is in flight and allowed adds up */
	cr_assert_eq(agg.tcpi_snd_cwnd, 30);
	cr_assert_eq(agg.tcpi_unacked, 15);
	cr_assert_eq(agg.tcpi_total_retrans, 7);
	cr_assert_eq(agg.tcpi_bytes_sent, 30000);
	/* times since the last event and path limits: the least */
	cr_assert_eq(agg.tcpi_last_data_recv, 7);
	cr_assert_eq(agg.tcpi_pmtu, 1452);
	cr_assert_eq(agg.tcpi_reordering, 8);
	/* an unlimited pacing rate stays unlimited */
	cr_assert_eq(agg.tcpi_max_pacing_rate, UINT64_MAX);
}

Test(tcpinfo, unmeasured_rtt_is_not_best)
{
	struct tcp_info agg, fresh = sf_info(0, 10, 1000, 0, 0),
			measured = sf_info(20000, 10, 1448, 0, 0);
	bool best = false;

	memset(&agg, 0, sizeof(agg));
	mps_tcpinfo_merge(&agg, &fresh, &best);
	cr_assert(best);
	mps_tcpinfo_merge(&agg, &measured, &best);
	cr_assert_eq(agg.tcpi_rtt, 20000);
	cr_assert_eq(agg.tcpi_snd_mss, 1448);
	/* a zero "time since" means never, not now */
	cr_assert_eq(agg.tcpi_last_data_recv, 0);
}

Test(tcpinfo, closed_subflows_keep_their_counters)
{
	struct tcp_info agg, live = sf_info(10000, 10, 1448, 1, 4), dead = sf_info(1, 1, 1, 1, 6);
	struct mps_sf_totals t;
	bool best = false;

	memset(&agg, 0, sizeof(agg));
	mps_tcpinfo_totals_of(&dead, &t);
	mps_tcpinfo_totals_add(&agg, &t);
	mps_tcpinfo_merge(&agg, &live, &best);
	cr_assert_eq(agg.tcpi_total_retrans, 10);
	cr_assert_eq(agg.tcpi_bytes_sent, 11000);
	/* but not their path: cwnd and rtt are the live one's */
	cr_assert_eq(agg.tcpi_snd_cwnd, 10);
	cr_assert_eq(agg.tcpi_rtt, 10000);
}

Test(tcpinfo, state_follows_the_meta)
{
	struct mps_meta m;

	memset(&m, 0, sizeof(m));
	m.state = MPS_META_CONNECTING;
	m.role = MPS_ROLE_C;
	cr_assert_eq(mps_tcpinfo_state(&m), 2 /* SYN_SENT */);
	m.state = MPS_META_ESTABLISHED;
	cr_assert_eq(mps_tcpinfo_state(&m), 1 /* ESTABLISHED */);
	m.rcv.fin = true;
	cr_assert_eq(mps_tcpinfo_state(&m), 8 /* CLOSE_WAIT */);
	m.rcv.fin = false;
	m.snd.fin_queued = true;
	cr_assert_eq(mps_tcpinfo_state(&m), 4 /* FIN_WAIT1 */);
	m.snd.fin_acked = true;
	cr_assert_eq(mps_tcpinfo_state(&m), 5 /* FIN_WAIT2 */);
	m.rcv.fin = true;
	cr_assert_eq(mps_tcpinfo_state(&m), 7 /* CLOSE */);
	m.snd.fin_acked = false;
	cr_assert_eq(mps_tcpinfo_state(&m), 11 /* CLOSING */);
	m.state = MPS_META_CLOSED;
	cr_assert_eq(mps_tcpinfo_state(&m), 7 /* CLOSE */);
}
