/*
 * tcpopt.c - a multipath connection seen by its application as one TCP
 * socket: the TCP_INFO it reads, merged from its subflows' (tcpopt.h),
 * and the congestion control it sets, which every subflow gets.
 *
 * The shim asks on the application's thread; the answer is built on the
 * engine thread (mps_engine_call), where the metas and subflows live, so
 * it describes one instant.  The field-by-field rules are in tcpopt.h and
 * in mpshim(7).
 */
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "engine_int.h"
#include "tcpopt.h"

/* TCP states as TCP_INFO reports them (the values of <netinet/tcp.h>,
 * which cannot be included beside <linux/tcp.h>; fixed by the ABI) */
enum {
	ST_ESTABLISHED = 1, ST_SYN_SENT, ST_SYN_RECV, ST_FIN_WAIT1, ST_FIN_WAIT2,
	ST_TIME_WAIT, ST_CLOSE, ST_CLOSE_WAIT, ST_LAST_ACK, ST_LISTEN, ST_CLOSING,
};

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint32_t add_sat32(uint32_t a, uint32_t b)
{
	return a + b < a ? UINT32_MAX : a + b;
}

static uint32_t min_nz(uint32_t a, uint32_t b)
{
	return a && (!b || a < b) ? a : b;
}

void mps_tcpinfo_totals_add(struct tcp_info *agg, const struct mps_sf_totals *t)
{
	agg->tcpi_total_retrans = add_sat32(agg->tcpi_total_retrans, t->total_retrans);
	agg->tcpi_segs_out = add_sat32(agg->tcpi_segs_out, t->segs_out);
	agg->tcpi_segs_in = add_sat32(agg->tcpi_segs_in, t->segs_in);
	agg->tcpi_data_segs_out = add_sat32(agg->tcpi_data_segs_out, t->data_segs_out);
	agg->tcpi_data_segs_in = add_sat32(agg->tcpi_data_segs_in, t->data_segs_in);
	agg->tcpi_delivered = add_sat32(agg->tcpi_delivered, t->delivered);
	agg->tcpi_delivered_ce = add_sat32(agg->tcpi_delivered_ce, t->delivered_ce);
	agg->tcpi_dsack_dups = add_sat32(agg->tcpi_dsack_dups, t->dsack_dups);
	agg->tcpi_reord_seen = add_sat32(agg->tcpi_reord_seen, t->reord_seen);
	agg->tcpi_rcv_ooopack = add_sat32(agg->tcpi_rcv_ooopack, t->rcv_ooopack);
	agg->tcpi_bytes_sent = add_sat(agg->tcpi_bytes_sent, t->bytes_sent);
	agg->tcpi_bytes_retrans = add_sat(agg->tcpi_bytes_retrans, t->bytes_retrans);
}

void mps_tcpinfo_totals_of(const struct tcp_info *ti, struct mps_sf_totals *t)
{
	t->total_retrans = ti->tcpi_total_retrans;
	t->segs_out = ti->tcpi_segs_out;
	t->segs_in = ti->tcpi_segs_in;
	t->data_segs_out = ti->tcpi_data_segs_out;
	t->data_segs_in = ti->tcpi_data_segs_in;
	t->delivered = ti->tcpi_delivered;
	t->delivered_ce = ti->tcpi_delivered_ce;
	t->dsack_dups = ti->tcpi_dsack_dups;
	t->reord_seen = ti->tcpi_reord_seen;
	t->rcv_ooopack = ti->tcpi_rcv_ooopack;
	t->bytes_sent = ti->tcpi_bytes_sent;
	t->bytes_retrans = ti->tcpi_bytes_retrans;
}

void mps_tcpinfo_merge(struct tcp_info *agg, const struct tcp_info *sf, bool *have_best)
{
	struct mps_sf_totals t;

	/* the subflow the scheduler prefers describes the path: the one
	 * with the lowest smoothed RTT (0 = none measured yet, last) */
	if (!*have_best || (sf->tcpi_rtt && (!agg->tcpi_rtt || sf->tcpi_rtt < agg->tcpi_rtt))) {
		*have_best = true;
		agg->tcpi_ca_state = sf->tcpi_ca_state;
		agg->tcpi_retransmits = sf->tcpi_retransmits;
		agg->tcpi_probes = sf->tcpi_probes;
		agg->tcpi_backoff = sf->tcpi_backoff;
		agg->tcpi_options = sf->tcpi_options;
		agg->tcpi_snd_wscale = sf->tcpi_snd_wscale;
		agg->tcpi_rcv_wscale = sf->tcpi_rcv_wscale;
		agg->tcpi_delivery_rate_app_limited = sf->tcpi_delivery_rate_app_limited;
		agg->tcpi_fastopen_client_fail = sf->tcpi_fastopen_client_fail;
		agg->tcpi_rto = sf->tcpi_rto;
		agg->tcpi_ato = sf->tcpi_ato;
		agg->tcpi_snd_mss = sf->tcpi_snd_mss;
		agg->tcpi_rcv_mss = sf->tcpi_rcv_mss;
		agg->tcpi_rtt = sf->tcpi_rtt;
		agg->tcpi_rttvar = sf->tcpi_rttvar;
		agg->tcpi_advmss = sf->tcpi_advmss;
		agg->tcpi_rcv_rtt = sf->tcpi_rcv_rtt;
	}
	/* what is in flight and how much may be: the connection's is the
	 * sum of its paths' */
	agg->tcpi_unacked = add_sat32(agg->tcpi_unacked, sf->tcpi_unacked);
	agg->tcpi_sacked = add_sat32(agg->tcpi_sacked, sf->tcpi_sacked);
	agg->tcpi_lost = add_sat32(agg->tcpi_lost, sf->tcpi_lost);
	agg->tcpi_retrans = add_sat32(agg->tcpi_retrans, sf->tcpi_retrans);
	agg->tcpi_fackets = add_sat32(agg->tcpi_fackets, sf->tcpi_fackets);
	agg->tcpi_snd_cwnd = add_sat32(agg->tcpi_snd_cwnd, sf->tcpi_snd_cwnd);
	agg->tcpi_snd_ssthresh = add_sat32(agg->tcpi_snd_ssthresh, sf->tcpi_snd_ssthresh);
	agg->tcpi_rcv_ssthresh = add_sat32(agg->tcpi_rcv_ssthresh, sf->tcpi_rcv_ssthresh);
	agg->tcpi_rcv_space = add_sat32(agg->tcpi_rcv_space, sf->tcpi_rcv_space);
	agg->tcpi_notsent_bytes = add_sat32(agg->tcpi_notsent_bytes, sf->tcpi_notsent_bytes);
	agg->tcpi_pacing_rate = add_sat(agg->tcpi_pacing_rate, sf->tcpi_pacing_rate);
	agg->tcpi_max_pacing_rate = add_sat(agg->tcpi_max_pacing_rate,
					    sf->tcpi_max_pacing_rate);
	agg->tcpi_delivery_rate = add_sat(agg->tcpi_delivery_rate, sf->tcpi_delivery_rate);
	/* times since something happened: the connection's last event */
	agg->tcpi_last_data_sent = min_nz(agg->tcpi_last_data_sent, sf->tcpi_last_data_sent);
	agg->tcpi_last_data_recv = min_nz(agg->tcpi_last_data_recv, sf->tcpi_last_data_recv);
	agg->tcpi_last_ack_recv = min_nz(agg->tcpi_last_ack_recv, sf->tcpi_last_ack_recv);
	/* path properties: the narrowest, the fastest, the worst */
	agg->tcpi_pmtu = min_nz(agg->tcpi_pmtu, sf->tcpi_pmtu);
	agg->tcpi_min_rtt = min_nz(agg->tcpi_min_rtt, sf->tcpi_min_rtt);
	if (sf->tcpi_reordering > agg->tcpi_reordering)
		agg->tcpi_reordering = sf->tcpi_reordering;
	/* durations overlap in time, so they do not add up */
	if (sf->tcpi_busy_time > agg->tcpi_busy_time)
		agg->tcpi_busy_time = sf->tcpi_busy_time;
	if (sf->tcpi_rwnd_limited > agg->tcpi_rwnd_limited)
		agg->tcpi_rwnd_limited = sf->tcpi_rwnd_limited;
	if (sf->tcpi_sndbuf_limited > agg->tcpi_sndbuf_limited)
		agg->tcpi_sndbuf_limited = sf->tcpi_sndbuf_limited;
	mps_tcpinfo_totals_of(sf, &t);
	mps_tcpinfo_totals_add(agg, &t);
}

uint8_t mps_tcpinfo_state(const struct mps_meta *meta)
{
	bool fin_out = meta->snd.fin_queued, fin_in = meta->rcv.fin;

	switch (meta->state) {
	case MPS_META_CONNECTING:
		/* after early data the app's connect() has succeeded */
		if (!meta->early.reported)
			return meta->role == MPS_ROLE_C ? ST_SYN_SENT : ST_SYN_RECV;
		break;
	case MPS_META_ESTABLISHED:
		break;
	default:
		return ST_CLOSE;
	}
	/* the two DATA_FINs play TCP's FINs */
	if (fin_out && fin_in)
		return meta->snd.fin_acked ? ST_CLOSE : ST_CLOSING;
	if (fin_out)
		return meta->snd.fin_acked ? ST_FIN_WAIT2 : ST_FIN_WAIT1;
	if (fin_in)
		return ST_CLOSE_WAIT;
	return ST_ESTABLISHED;
}

size_t mps_tcpinfo_size(void)
{
	return sizeof(struct tcp_info);
}

static bool sf_live(const struct mps_subflow *sf)
{
	return sf->sfd >= 0 && (sf->state == MPS_SF_ACTIVE || sf->state == MPS_SF_CLOSING);
}

/* A subflow about to close its socket: keep what it counted. */
void mps_tcpinfo_subflow_final(struct mps_subflow *sf)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (sf->meta && sf->was_active && sf->sfd >= 0 &&
	    !getsockopt(sf->sfd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		mps_tcpinfo_totals_of(&ti, &sf->totals);
}

static void meta_tcp_info(const struct mps_meta *meta, struct tcp_info *agg)
{
	bool have_best = false;
	uint64_t sent_end;

	agg->tcpi_state = mps_tcpinfo_state(meta);
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (sf_live(sf)) {
			memset(&ti, 0, sizeof(ti));
			if (!getsockopt(sf->sfd, IPPROTO_TCP, TCP_INFO, &ti, &len))
				mps_tcpinfo_merge(agg, &ti, &have_best);
		} else if (sf->released) {
			mps_tcpinfo_totals_add(agg, &sf->totals);
		}
	}
	if (meta->state == MPS_META_CONNECTING)
		return;
	/* the application's bytes, not the subflows' (frame headers,
	 * redundant copies and reinjections are not its data) */
	sent_end = meta->snd.una < meta->snd.end ? meta->snd.una : meta->snd.end;
	agg->tcpi_bytes_acked = sent_end - meta->idsn_local;
	agg->tcpi_bytes_received = meta->rcv.nxt - meta->idsn_peer;
	agg->tcpi_notsent_bytes = add_sat32(agg->tcpi_notsent_bytes,
					    (uint32_t)(meta->snd.end - meta->snd.nxt));
	agg->tcpi_snd_wnd = (uint32_t)(meta->snd.wnd_end - meta->snd.una);
}

struct info_call {
	unsigned id;
	struct tcp_info ti;
	int rc;
};

/* The live meta with that id (not one that fell back), or NULL. */
static struct mps_meta *meta_find(struct mps_engine *eng, unsigned id)
{
	struct mps_meta *m = mps_engine_meta_by_id(eng, id);

	return m && !m->fallback[0] ? m : NULL;
}

static void cmd_tcp_info(struct mps_engine *eng, void *arg)
{
	struct info_call *c = arg;
	struct mps_meta *meta = meta_find(eng, c->id);
	socklen_t len = sizeof(c->ti);
	int sfd;

	if (meta) {
		meta_tcp_info(meta, &c->ti);
		c->rc = 0;
		return;
	}
	/* a meta that fell back lingers CLOSED for a while: its pump answers */
	sfd = mps_pump_sock(eng, c->id);
	if (sfd >= 0 && !getsockopt(sfd, IPPROTO_TCP, TCP_INFO, &c->ti, &len))
		c->rc = 0;
}

int mps_engine_tcp_info(struct mps_engine *eng, unsigned id, void *buf, size_t *len)
{
	struct info_call c = { .id = id, .rc = -ENOENT };
	int rc;

	rc = mps_engine_call(eng, cmd_tcp_info, &c);
	if (!rc)
		rc = c.rc;
	if (rc)
		return rc;
	if (*len > sizeof(c.ti))
		*len = sizeof(c.ti);
	if (*len)
		memcpy(buf, &c.ti, *len);
	return 0;
}

void mps_tcpopt_subflow_apply(struct mps_subflow *sf)
{
	const char *cc = sf->meta ? sf->meta->congestion : "";

	/* validated by the shim on a socket of its own: cannot fail but
	 * for a module unloaded since */
	if (cc[0] && sf->sfd >= 0)
		setsockopt(sf->sfd, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc));
}

struct cc_call {
	unsigned id;
	char name[16];
	int rc;
};

static void cmd_cc_set(struct mps_engine *eng, void *arg)
{
	struct cc_call *c = arg;
	struct mps_meta *meta = meta_find(eng, c->id);
	socklen_t len = (socklen_t)strlen(c->name);
	int sfd;

	if (meta) {
		memcpy(meta->congestion, c->name, sizeof(meta->congestion));
		for (unsigned i = 0; i < meta->n_sf; i++)
			if (meta->sf[i]->state != MPS_SF_DEAD)
				mps_tcpopt_subflow_apply(meta->sf[i]);
		c->rc = 0;
	} else if ((sfd = mps_pump_sock(eng, c->id)) >= 0) {
		c->rc = setsockopt(sfd, IPPROTO_TCP, TCP_CONGESTION, c->name, len) ? -errno : 0;
	}
}

static void cmd_cc_get(struct mps_engine *eng, void *arg)
{
	struct cc_call *c = arg;
	struct mps_meta *meta = meta_find(eng, c->id);
	socklen_t len = sizeof(c->name);
	int sfd = -1;

	if (meta && meta->congestion[0]) {
		memcpy(c->name, meta->congestion, sizeof(c->name));
		c->rc = 0;
		return;
	}
	/* the system's default, as the subflows got it */
	for (unsigned i = 0; meta && i < meta->n_sf && sfd < 0; i++)
		if (meta->sf[i]->sfd >= 0 && meta->sf[i]->state != MPS_SF_DEAD)
			sfd = meta->sf[i]->sfd;
	if (!meta)
		sfd = mps_pump_sock(eng, c->id);
	if (sfd >= 0 && !getsockopt(sfd, IPPROTO_TCP, TCP_CONGESTION, c->name, &len))
		c->rc = 0;
}

int mps_engine_congestion_set(struct mps_engine *eng, unsigned meta_id, const char *name)
{
	struct cc_call c = { .id = meta_id, .rc = -ENOENT };
	int rc;

	snprintf(c.name, sizeof(c.name), "%s", name);
	rc = mps_engine_call(eng, cmd_cc_set, &c);
	return rc ? rc : c.rc;
}

int mps_engine_congestion_get(struct mps_engine *eng, unsigned meta_id, char name[16])
{
	struct cc_call c = { .id = meta_id, .rc = -ENOENT };
	int rc;

	rc = mps_engine_call(eng, cmd_cc_get, &c);
	if (!rc)
		rc = c.rc;
	if (!rc)
		memcpy(name, c.name, sizeof(c.name));
	return rc;
}
