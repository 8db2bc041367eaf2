/*
 * stats.c - connection records and live snapshots (see stats.h).
 *
 * Each end-of-connection record is built in one buffer and written with
 * one write(2) on an O_APPEND descriptor, so records from several
 * processes (a shimmed app that forks) or threads never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "engine_int.h"
#include "log.h"
#include "pm.h"
#include "sched.h"
#include "stats.h"
#include "text.h"

/* A record holds at most 16 subflows of a few hundred bytes each. */
#define MPS_STATS_RECORD_MAX	(64 * 1024)

static const char *sf_state_name(enum mps_sf_state s)
{
	static const char *const names[] = {
		"connecting", "hello_sent", "join_sent", "classify",
		"join_acked", "active", "closing", "closed", "auth_sent",
		"auth_wait",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static const char *meta_state_name(enum mps_meta_state s)
{
	static const char *const names[] = {
		"connecting", "established", "plain", "closed",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* "" for an address not known yet (a subflow still connecting). */
static const char *addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		buf[0] = '\0';
		return buf;
	}
	return mps_addr_str(sa, buf, len);
}

static void sf_json(struct mps_text *t, const struct mps_subflow *sf)
{
	char a[MPS_ADDRSTRLEN], b[MPS_ADDRSTRLEN];

	mps_text_printf(t, "{\"local\": ");
	mps_text_json_str(t, addr_text(&sf->local.sa, a, sizeof(a)));
	mps_text_printf(t, ", \"remote\": ");
	mps_text_json_str(t, addr_text(&sf->remote.sa, b, sizeof(b)));
	mps_text_printf(t, ", \"bytes_sent\": %llu, \"bytes_recv\": %llu, "
			"\"reinjected_bytes\": %llu, \"srtt_us\": %u, \"end\": ",
			(unsigned long long)sf->bytes_sent,
			(unsigned long long)sf->bytes_recv,
			(unsigned long long)sf->reinjected_bytes,
			sf->srtt_us == UINT32_MAX ? 0 : sf->srtt_us);
	mps_text_json_str(t, sf->why ? sf->why : "");
	mps_text_printf(t, ", \"addr_id\": %u, \"state\": \"%s\", \"backup\": %s, "
			"\"rttvar_us\": %u, \"cwnd\": %u}",
			sf->addr_id, sf_state_name(sf->state),
			sf->backup ? "true" : "false",
			sf->srtt_us == UINT32_MAX ? 0 : sf->rttvar_us, sf->cwnd);
}

/*
 * The connection object of records and snapshots.  The fields of the
 * first version of the record come first and in their old order: simple
 * readers (tests/net/harness.c) find the meta's counters before any
 * subflow's.
 */
void mps_stats_meta_json(struct mps_text *t, const struct mps_meta *meta)
{
	char a[MPS_ADDRSTRLEN];
	uint64_t ms = (mps_clock_ns() - meta->t_start_ns) / 1000000u;
	/* before the handshake the sequence spaces do not exist yet */
	bool seq = meta->was_established;

	mps_text_printf(t, "{\"role\": \"%s\", \"peer\": ",
			meta->role == MPS_ROLE_C ? "client" : "server");
	/* through a forward proxy, the peer is the destination */
	mps_text_json_str(t, addr_text(meta->fwd.on ? &meta->fwd.target.sa :
				       &meta->dest.sa, a, sizeof(a)));
	mps_text_printf(t, ", \"fallback\": null, \"duration_ms\": %llu, "
			"\"bytes_sent\": %llu, \"bytes_recv\": %llu, "
			"\"reinjected_bytes\": %llu, \"error\": %d, \"id\": %u, "
			"\"state\": \"%s\", \"scheduler\": ",
			(unsigned long long)ms,
			(unsigned long long)(seq ? meta->snd.end - meta->idsn_local : 0),
			(unsigned long long)(seq ? meta->rcv.q.base - meta->idsn_peer : 0),
			(unsigned long long)meta->snd.reinjected_bytes, -meta->err,
			meta->id, meta_state_name(meta->state));
	mps_text_json_str(t, meta->sched ? meta->sched->name : "");
	if (meta->role == MPS_ROLE_C) {
		/* the path manager runs on the client only */
		mps_text_printf(t, ", \"path_manager\": ");
		mps_text_json_str(t, meta->pm ? meta->pm->name : "");
	}
	/* sent (client) or received (server) before HELLO_ACK was seen */
	mps_text_printf(t, ", \"early_bytes\": %llu, \"early_fin\": %s, \"syn_data\": %s",
			(unsigned long long)meta->early.bytes,
			meta->early.fin ? "true" : "false",
			meta->early.syn_data ? "true" : "false");
	/* what made reinjected_bytes: a stalled subflow, a blocked window */
	mps_text_printf(t, ", \"deadline_bytes\": %llu, \"opp_retrans_bytes\": %llu",
			(unsigned long long)meta->deadline_bytes,
			(unsigned long long)meta->opp_retrans_bytes);
	mps_text_printf(t, ", \"lossy_grows\": %u, \"rcv_window\": %llu", meta->lossy_grows,
			(unsigned long long)meta->rcv.wnd);
	mps_text_printf(t, ", \"subflows\": [");
	for (unsigned i = 0; i < meta->n_sf; i++) {
		if (i)
			mps_text_printf(t, ", ");
		sf_json(t, meta->sf[i]);
	}
	mps_text_printf(t, "]}");
}

void mps_stats_plain_json(struct mps_text *t, const char *role, const char *state,
			  const struct sockaddr *peer, const struct sockaddr *local,
			  const struct sockaddr *remote, uint64_t sent, uint64_t recv,
			  const char *why)
{
	char a[MPS_ADDRSTRLEN], b[MPS_ADDRSTRLEN];

	mps_text_printf(t, "{\"role\": \"%s\", \"peer\": ", role);
	mps_text_json_str(t, addr_text(peer, a, sizeof(a)));
	addr_text(local, a, sizeof(a));
	addr_text(remote, b, sizeof(b));
	mps_text_printf(t, ", \"fallback\": ");
	mps_text_json_str(t, why);
	mps_text_printf(t, ", \"bytes_sent\": %llu, \"bytes_recv\": %llu, "
			"\"reinjected_bytes\": 0, \"state\": \"%s\", "
			"\"subflows\": [{\"local\": ",
			(unsigned long long)sent, (unsigned long long)recv, state);
	mps_text_json_str(t, a);
	mps_text_printf(t, ", \"remote\": ");
	mps_text_json_str(t, b);
	mps_text_printf(t, ", \"bytes_sent\": %llu, \"bytes_recv\": %llu}]}",
			(unsigned long long)sent, (unsigned long long)recv);
}

static void stats_write(struct mps_engine *eng, struct mps_text *t)
{
	if (eng->stats_fd < 0)
		return;
	mps_text_printf(t, "\n");
	if (t->full)
		mps_warn("stats file: record too large or out of memory, dropped");
	else if (write(eng->stats_fd, t->buf, t->len) != (ssize_t)t->len)
		mps_warn("stats file: short write");
}

void mps_stats_meta_closed(struct mps_engine *eng, const struct mps_meta *meta)
{
	char logline[1024], b[MPS_ADDRSTRLEN];
	size_t lo = 0;
	struct mps_text t;

	lo += (size_t)snprintf(logline + lo, sizeof(logline) - lo,
		"meta %u closed: %u subflows, reinjected %llu bytes:", meta->id,
		meta->n_sf, (unsigned long long)meta->snd.reinjected_bytes);
	for (unsigned i = 0; i < meta->n_sf && lo < sizeof(logline) - 128; i++) {
		const struct mps_subflow *sf = meta->sf[i];

		lo += (size_t)snprintf(logline + lo, sizeof(logline) - lo,
			" [%s %s sent %llu recv %llu]", sf_state_name(sf->state),
			mps_addr_str(&sf->remote.sa, b, sizeof(b)),
			(unsigned long long)sf->bytes_sent,
			(unsigned long long)sf->bytes_recv);
	}
	mps_info("%s", logline);
	if (eng->stats_fd < 0)
		return;
	mps_text_init(&t, MPS_STATS_RECORD_MAX);
	mps_stats_meta_json(&t, meta);
	stats_write(eng, &t);
	mps_text_free(&t);
}

void mps_stats_plain_closed(struct mps_engine *eng, const struct sockaddr *local,
			    const struct sockaddr *remote, uint64_t sent,
			    uint64_t recv, const char *why)
{
	char b[MPS_ADDRSTRLEN];
	struct mps_text t;

	mps_info("plain connection to %s closed (fallback: %s): sent %llu recv %llu",
		 mps_addr_str(remote, b, sizeof(b)), why, (unsigned long long)sent,
		 (unsigned long long)recv);
	if (eng->stats_fd < 0)
		return;
	mps_text_init(&t, MPS_STATS_RECORD_MAX);
	mps_stats_plain_json(&t, "client", "closed", remote, local, remote, sent, recv,
			     why);
	stats_write(eng, &t);
	mps_text_free(&t);
}

/* ------------------------------------------------------------------ */
/* live snapshot                                                       */

/* The kernel's latest RTT and window, not the scheduler's last look. */
static void refresh_tcp_info(struct mps_meta *meta, uint64_t now)
{
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (sf->state != MPS_SF_DEAD && !sf->released)
			mps_subflow_info_refresh(sf, now, 0);
	}
}

/*
 * The process's name as ps shows it.  Not PR_GET_NAME: in the shim that
 * is the engine thread's name, inherited from whichever application
 * thread happened to start it.
 */
static void process_comm(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/comm", "re");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	if (!buf[0])
		snprintf(buf, len, "%s", program_invocation_short_name);
}

void mps_stats_snapshot(struct mps_engine *eng, struct mps_text *t)
{
	/* room kept for the closing members, whatever the entries took */
	const size_t tail = 64;
	size_t max = t->max, mark;
	uint64_t now = mps_clock_ns();
	char comm[32] = "";
	bool truncated = false;
	unsigned n = 0;

	process_comm(comm, sizeof(comm));
	t->max = max > tail ? max - tail : 0;
	mps_text_printf(t, "{\"mpshim_stats\": %d, \"pid\": %ld, \"comm\": ",
			MPS_STATS_VERSION, (long)getpid());
	mps_text_json_str(t, comm);
	mps_text_printf(t, ", \"uid\": %u, \"loop\": \"%s\", \"uptime_ms\": %llu, "
			"\"connections_total\": %lu, \"fallbacks\": %lu, "
			"\"connections\": [",
			(unsigned)geteuid(), mps_engine_loop_name(eng),
			(unsigned long long)((now - eng->t_start_ns) / 1000000u),
			eng->cnt.metas_total, eng->cnt.fallbacks);
	for (struct mps_meta *meta = eng->metas; meta && !t->full; meta = meta->next) {
		/* a fallback's meta shows up as its relay, below */
		if (meta->state == MPS_META_PLAIN || meta->fallback[0])
			continue;
		refresh_tcp_info(meta, now);
		mark = t->len;
		if (n)
			mps_text_printf(t, ", ");
		mps_stats_meta_json(t, meta);
		if (t->full) {
			mps_text_cut(t, mark);
			truncated = true;
			break;
		}
		n++;
	}
	if (!truncated && !mps_pump_snapshot(eng, t, n))
		truncated = true;
	t->max = max;
	mps_text_printf(t, "], \"truncated\": %s}\n", truncated ? "true" : "false");
}
