/*
 * stats.c - end-of-connection records (see stats.h).
 *
 * Each record is built in one buffer and written with one write(2) on an
 * O_APPEND descriptor, so records from several processes (a shimmed app
 * that forks) or threads never interleave.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "engine_int.h"
#include "log.h"
#include "stats.h"

void mps_stats_json_escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; *src && o + 7 < len; src++) {
		unsigned char c = (unsigned char)*src;

		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(dst + o, len - o, "\\u%04x", c);
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
}

static const char *sf_state_name(enum mps_sf_state s)
{
	static const char *const names[] = {
		"connecting", "hello_sent", "join_sent", "classify",
		"join_acked", "active", "closing", "closed", "auth_sent",
		"auth_wait",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void stats_write(struct mps_engine *eng, const char *buf, size_t len)
{
	if (eng->stats_fd < 0)
		return;
	if (write(eng->stats_fd, buf, len) != (ssize_t)len)
		mps_warn("stats file: short write");
}

void mps_stats_meta_closed(struct mps_engine *eng, const struct mps_meta *meta)
{
	char buf[8192], a[MPS_ADDRSTRLEN], b[MPS_ADDRSTRLEN], why[128];
	char logline[1024];
	size_t o = 0, lo = 0;
	uint64_t ms = (mps_clock_ns() - meta->t_start_ns) / 1000000u;

	o += (size_t)snprintf(buf + o, sizeof(buf) - o,
		"{\"role\": \"%s\", \"peer\": \"%s\", \"fallback\": null, "
		"\"duration_ms\": %llu, \"bytes_sent\": %llu, \"bytes_recv\": %llu, "
		"\"reinjected_bytes\": %llu, \"error\": %d, \"subflows\": [",
		meta->role == MPS_ROLE_C ? "client" : "server",
		/* through a forward proxy, the peer is the destination */
		mps_addr_str(meta->fwd.on ? &meta->fwd.target.sa : &meta->dest.sa,
			     a, sizeof(a)),
		(unsigned long long)ms,
		(unsigned long long)(meta->snd.end - meta->idsn_local),
		(unsigned long long)(meta->rcv.q.base - meta->idsn_peer),
		(unsigned long long)meta->snd.reinjected_bytes, -meta->err);
	lo += (size_t)snprintf(logline + lo, sizeof(logline) - lo,
		"meta %u closed: %u subflows, reinjected %llu bytes:", meta->id,
		meta->n_sf, (unsigned long long)meta->snd.reinjected_bytes);
	for (unsigned i = 0; i < meta->n_sf && o < sizeof(buf) - 512; i++) {
		const struct mps_subflow *sf = meta->sf[i];

		mps_stats_json_escape(why, sizeof(why), sf->why ? sf->why : "");
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			"%s{\"local\": \"%s\", \"remote\": \"%s\", \"bytes_sent\": %llu, "
			"\"bytes_recv\": %llu, \"reinjected_bytes\": %llu, "
			"\"srtt_us\": %u, \"end\": \"%s\"}",
			i ? ", " : "", mps_addr_str(&sf->local.sa, a, sizeof(a)),
			mps_addr_str(&sf->remote.sa, b, sizeof(b)),
			(unsigned long long)sf->bytes_sent,
			(unsigned long long)sf->bytes_recv,
			(unsigned long long)sf->reinjected_bytes,
			sf->srtt_us == UINT32_MAX ? 0 : sf->srtt_us, why);
		if (lo < sizeof(logline) - 128)
			lo += (size_t)snprintf(logline + lo, sizeof(logline) - lo,
				" [%s %s sent %llu recv %llu]", sf_state_name(sf->state),
				b, (unsigned long long)sf->bytes_sent,
				(unsigned long long)sf->bytes_recv);
	}
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "]}\n");
	mps_info("%s", logline);
	stats_write(eng, buf, o);
}

void mps_stats_plain_closed(struct mps_engine *eng, const struct sockaddr *local,
			    const struct sockaddr *remote, uint64_t sent,
			    uint64_t recv, const char *why)
{
	char buf[1024], a[MPS_ADDRSTRLEN], b[MPS_ADDRSTRLEN], w[128];
	int n;

	mps_stats_json_escape(w, sizeof(w), why);
	mps_addr_str(local, a, sizeof(a));
	mps_addr_str(remote, b, sizeof(b));
	mps_info("plain connection to %s closed (fallback: %s): sent %llu recv %llu",
		 b, why, (unsigned long long)sent, (unsigned long long)recv);
	n = snprintf(buf, sizeof(buf),
		"{\"role\": \"client\", \"peer\": \"%s\", \"fallback\": \"%s\", "
		"\"bytes_sent\": %llu, \"bytes_recv\": %llu, \"reinjected_bytes\": 0, "
		"\"subflows\": [{\"local\": \"%s\", \"remote\": \"%s\", "
		"\"bytes_sent\": %llu, \"bytes_recv\": %llu}]}\n",
		b, w, (unsigned long long)sent, (unsigned long long)recv, a, b,
		(unsigned long long)sent, (unsigned long long)recv);
	stats_write(eng, buf, (size_t)n);
}
