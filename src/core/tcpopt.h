/*
 * tcpopt.h - what an application's TCP-level socket options mean for a
 * multipath connection (tcpopt.c).
 *
 * Owns: the application's TCP_CONGESTION (meta->congestion), given to
 * every subflow the connection has and opens later; the merge of the subflows' TCP_INFO into the one struct tcp_info
 * (<linux/tcp.h>) the application reads.  Field by field:
 *  - state: from the meta (CONNECTING: SYN_SENT or SYN_RECV; the
 *    DATA_FINs as TCP's FINs: FIN_WAIT1/2, CLOSE_WAIT, CLOSING; CLOSED:
 *    CLOSE);
 *  - of the live subflow with the lowest smoothed RTT: ca_state,
 *    retransmits, probes, backoff, options, window scales, rto, ato,
 *    snd_mss, rcv_mss, rtt, rttvar, advmss, rcv_rtt;
 *  - summed over live subflows: unacked, sacked, lost, retrans, fackets,
 *    snd_cwnd, snd_ssthresh, rcv_ssthresh, rcv_space, pacing rates,
 *    delivery_rate, notsent_bytes (plus the meta's unsent bytes);
 *  - the least over live subflows: last_data_sent, last_data_recv,
 *    last_ack_recv, pmtu, min_rtt; the largest: reordering, busy_time,
 *    rwnd_limited, sndbuf_limited;
 *  - summed over every subflow the connection had (a closed one as last
 *    read): total_retrans, segs_in/out, data_segs_in/out, delivered(_ce),
 *    bytes_sent, bytes_retrans, dsack_dups, reord_seen, rcv_ooopack;
 *  - at the data level: bytes_acked, bytes_received (the application's
 *    bytes), snd_wnd (the peer's data-level window).
 */
#ifndef MPS_TCPOPT_H
#define MPS_TCPOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tcp_info;
struct mps_meta;
struct mps_subflow;
struct mps_sf_totals;

/* Fold one live subflow's TCP_INFO into agg (zeroed before the first);
 * *have_best says whether agg already holds a best subflow's fields. */
void mps_tcpinfo_merge(struct tcp_info *agg, const struct tcp_info *sf, bool *have_best);
/* The counters of a closed subflow, as last read. */
void mps_tcpinfo_totals_add(struct tcp_info *agg, const struct mps_sf_totals *t);
void mps_tcpinfo_totals_of(const struct tcp_info *ti, struct mps_sf_totals *t);
/* TCP state (TCP_ESTABLISHED...) of a meta as the application sees it. */
uint8_t mps_tcpinfo_state(const struct mps_meta *meta);
/* Give sf its meta's congestion control, if the application chose one:
 * when it has a socket and a meta (client: at connect; server: at JOIN). */
void mps_tcpopt_subflow_apply(struct mps_subflow *sf);
/* sizeof(struct tcp_info) of <linux/tcp.h>, which the shim, built
 * with <netinet/tcp.h>, cannot take itself. */
size_t mps_tcpinfo_size(void);
/* Before a subflow of a meta closes its socket: keep its counters. */
void mps_tcpinfo_subflow_final(struct mps_subflow *sf);

#endif
