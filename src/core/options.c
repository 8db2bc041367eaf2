/*
 * options.c - the options table: every configuration key of mpshim.
 *
 * Owns mps_options[]: one entry per key with its file name, environment
 * variable, type, bounds, default (as text, parsed like user input), the
 * choices of CHOICE keys, where the value lives in struct mps_config, and
 * the help line.  Adding a key means adding a field to struct mps_config,
 * an entry here and a paragraph in man/mpshim.conf.5; the unit test fails
 * if the man page does not know the key.
 */
#include "config.h"
#include <stddef.h>

#define K	1024L
#define M	(1024L * 1024L)
#define G	(1024L * 1024L * 1024L)

/* Where a key lives in struct mps_config. */
#define CFG_FIELD(f) \
	.offset = offsetof(struct mps_config, f), \
	.size = sizeof(((struct mps_config *)0)->f)

static const char *const scheduler_choices[] = {
	"minrtt", "ecf", "roundrobin", "redundant", NULL
};
static const char *const path_manager_choices[] = {
	"auto", "ndiffports", "fullmesh", NULL
};
static const char *const loop_choices[] = { "auto", "uring", "epoll", NULL };
static const char *const proxy_fallback_choices[] = { "direct", "fail", NULL };
static const char *const early_data_choices[] = { "auto", "yes", "no", NULL };
static const char *const fastopen_choices[] = { "auto", "yes", "no", NULL };

const struct mps_option mps_options[] = {
	{
		.name = "upgrade",
		.env = "MPSHIM_UPGRADE",
		.type = MPS_OPT_DESTS,
		.def = "",
		CFG_FIELD(upgrade),
		.help = "Destinations whose outgoing connections become multipath: "
			"comma list of *, ADDR:PORT, ADDR:*, *:PORT, "
			"[V6ADDR]:PORT, ADDR/PREFIX:PORT, localhost:PORT. "
			"Empty: none.",
	},
	{
		.name = "accept",
		.env = "MPSHIM_ACCEPT",
		.type = MPS_OPT_DESTS,
		.def = "",
		CFG_FIELD(accept),
		.help = "Shim: listening sockets that accept multipath clients, "
			"matched against the address the app listens on (same "
			"syntax as upgrade; *:PORT matches a wildcard bind). "
			"Plain TCP clients of these listeners still get a native "
			"socket. Empty: none.",
	},
	{
		.name = "accept_plain",
		.env = "MPSHIM_ACCEPT_PLAIN",
		.type = MPS_OPT_DESTS,
		.def = "",
		CFG_FIELD(accept_plain),
		.help = "Shim: listening sockets left alone even when accept "
			"matches them, for protocols where the server speaks "
			"first and must not wait (SMTP, FTP banners).",
	},
	{
		.name = "accept_wait",
		.env = "MPSHIM_ACCEPT_WAIT",
		.type = MPS_OPT_MS,
		.min = 1, .max = 10000,
		.def = "200ms",
		CFG_FIELD(accept_wait_ms),
		.help = "Shim server side: longest wait for a new client's "
			"first bytes before it is handed to the app as plain TCP. "
			"The wait is twice the connection's handshake RTT, at "
			"least 50 ms, at most this.",
	},
	{
		.name = "subflows",
		.env = "MPSHIM_SUBFLOWS",
		.type = MPS_OPT_INT,
		.min = 1, .max = 8,
		.def = "2",
		CFG_FIELD(subflows),
		.help = "Subflows per connection (ndiffports path manager; "
			"fullmesh ignores it).",
	},
	{
		.name = "path_subflows",
		.env = "MPSHIM_PATH_SUBFLOWS",
		.type = MPS_OPT_INT,
		.min = 1, .max = 4,
		.def = "1",
		CFG_FIELD(path_subflows),
		.help = "fullmesh: subflows per pair of local entry and server "
			"address. Above 1, a lossy path carries several "
			"loss-limited flows (more aggressive than one TCP "
			"flow there).",
	},
	{
		.name = "lossy_subflows",
		.env = "MPSHIM_LOSSY_SUBFLOWS",
		.type = MPS_OPT_INT,
		.min = 1, .max = 8,
		.def = "6",
		CFG_FIELD(lossy_subflows),
		.help = "Most subflows one path grows to while the sending side "
			"finds it loss-limited: it loses packets, builds no "
			"queue, and more data waits than it takes. Each step "
			"adds one subflow from another source port. 1: off.",
	},
	{
		.name = "local",
		.env = "MPSHIM_LOCAL",
		.type = MPS_OPT_LOCALS,
		.def = "",
		CFG_FIELD(local),
		.help = "Local addresses or interface names to open subflows "
			"from (comma list). Empty: the kernel picks the source "
			"address (one path). One: ndiffports binds every "
			"subflow to it. Two or more: auto selects fullmesh.",
	},
	{
		.name = "backup",
		.env = "MPSHIM_BACKUP",
		.type = MPS_OPT_LOCALS,
		.def = "",
		CFG_FIELD(backup),
		.help = "Entries of local (addresses or interface names) whose "
			"subflows are backups: they carry data only while no "
			"regular subflow is usable.",
	},
	{
		.name = "policy",
		.env = "MPSHIM_POLICY",
		.type = MPS_OPT_POLICY,
		.def = "",
		CFG_FIELD(policy),
		.help = "Settings per destination: 'DEST key=value ... | DEST ...'; "
			"the first entry whose DEST (as in upgrade) matches sets "
			"scheduler, path_manager, subflows, local, backup, "
			"checksum, proxy, proxy_fallback or early_data for that "
			"connection.",
	},
	{
		.name = "scheduler",
		.env = "MPSHIM_SCHEDULER",
		.type = MPS_OPT_CHOICE,
		.def = "ecf",	/* bench S2, 1 MB: 0.81x kernel MPTCP; minrtt 1.10x */
		.choices = scheduler_choices,
		CFG_FIELD(scheduler),
		.help = "Packet scheduler: which subflow carries the next "
			"frame. minrtt: lowest RTT with room, with opportunistic "
			"retransmission; ecf: like minrtt, but waits for the "
			"fastest path when it would deliver sooner; roundrobin; "
			"redundant: every frame on every subflow.",
	},
	{
		.name = "path_manager",
		.env = "MPSHIM_PATH_MANAGER",
		.type = MPS_OPT_CHOICE,
		.def = "auto",
		.choices = path_manager_choices,
		CFG_FIELD(path_manager),
		.help = "How subflows are created: fullmesh (one per local "
			"entry, all to the one destination address), "
			"ndiffports (several on one path), or auto (fullmesh "
			"with two or more local entries, else ndiffports).",
	},
	{
		.name = "loop",
		.env = "MPSHIM_LOOP",
		.type = MPS_OPT_CHOICE,
		.def = "auto",
		.choices = loop_choices,
		CFG_FIELD(loop),
		.help = "Event loop backend of the engine thread; auto tries "
			"io_uring and falls back to epoll.",
	},
	{
		.name = "log_level",
		.env = "MPSHIM_LOG",
		.type = MPS_OPT_LEVEL,
		.def = "warn",
		CFG_FIELD(log_level),
		.help = "Least severe message logged: debug, info, warn, "
			"error or none.",
	},
	{
		.name = "log_file",
		.env = "MPSHIM_LOG_FILE",
		.type = MPS_OPT_STRING,
		.def = "",
		CFG_FIELD(log_file),
		.help = "Append log lines to this file. Empty: standard "
			"error as it was when mpshim started.",
	},
	{
		.name = "stats_file",
		.env = "MPSHIM_STATS_FILE",
		.type = MPS_OPT_STRING,
		.def = "",
		CFG_FIELD(stats_file),
		.help = "Append one JSON line per closed connection to this "
			"file (created with mode 0644). Empty: no statistics.",
	},
	{
		.name = "stats_socket",
		.env = "MPSHIM_STATS_SOCKET",
		.type = MPS_OPT_BOOL,
		.def = "yes",
		CFG_FIELD(stats_socket),
		.help = "Serve a live snapshot of the connections (RTT, bytes, "
			"reinjections, state) to `mpshim stats` on the abstract "
			"socket @mpshim/stats/PID, for the same user and root "
			"only.",
	},
	{
		.name = "sndbuf",
		.env = "MPSHIM_SNDBUF",
		.type = MPS_OPT_SIZE,
		.min = 64 * K, .max = 1 * G,
		.def = "4M",
		CFG_FIELD(sndbuf),
		.help = "Bound of the meta send buffer per connection: data "
			"kept until acknowledged at the data level. A maximum: "
			"the buffer grows with the traffic and is freed when idle.",
	},
	{
		.name = "rcvbuf",
		.env = "MPSHIM_RCVBUF",
		.type = MPS_OPT_SIZE,
		.min = 64 * K, .max = 1 * G,
		.def = "4M",
		CFG_FIELD(rcvbuf),
		.help = "Bound of the meta receive buffer per connection and of "
			"the advertised data-level window; both grow with the "
			"traffic (the window from 128K), memory is freed when idle.",
	},
	{
		.name = "frame_size",
		.env = "MPSHIM_FRAME_SIZE",
		.type = MPS_OPT_SIZE,
		.min = 1024, .max = 65519,
		.def = "16K",
		CFG_FIELD(frame_size),
		.help = "Largest DATA frame payload.",
	},
	{
		.name = "notsent_lowat",
		.env = "MPSHIM_NOTSENT_LOWAT",
		.type = MPS_OPT_SIZE,
		.min = 0, .max = 64 * M,
		.def = "64K",
		CFG_FIELD(notsent_lowat),
		.help = "Bound of TCP_NOTSENT_LOWAT on subflows, so the "
			"scheduler decides late; below it the value follows "
			"each subflow's rate (about 5 ms of sending, at least "
			"16K). 0: leave the kernel default.",
	},
	{
		.name = "connect_timeout",
		.env = "MPSHIM_CONNECT_TIMEOUT",
		.type = MPS_OPT_MS,
		.min = 100, .max = 600000,
		.def = "30s",
		CFG_FIELD(connect_timeout_ms),
		.help = "Bound on each TCP connect: subflows, the plain "
			"connection of a fallback, proxyd's backend (ETIMEDOUT); "
			"also the JOIN waits and the HELLO_ACK wait after the "
			"server's PING.",
	},
	{
		.name = "connect_stagger",
		.env = "MPSHIM_CONNECT_STAGGER",
		.type = MPS_OPT_MS,
		.min = 0, .max = 60000,
		.def = "250ms",
		CFG_FIELD(connect_stagger_ms),
		.help = "Shim: when the first subflow has not connected after "
			"this long, also try it from the next local entry; the "
			"first to connect carries the connection (Happy Eyeballs "
			"across paths). 0: the next entry only after a failure.",
	},
	{
		.name = "hello_timeout",
		.env = "MPSHIM_HELLO_TIMEOUT",
		.type = MPS_OPT_MS,
		.min = 10, .max = 60000,
		.def = "1s",
		CFG_FIELD(hello_timeout_ms),
		.help = "Shim: wait this long for the server's first answer "
			"to HELLO before falling back to plain TCP (after "
			"proxyd's PING, connect_timeout applies). proxyd: wait "
			"this long for a client to identify itself before "
			"relaying it as plain.",
	},
	{
		.name = "hello_hold",
		.env = "MPSHIM_HELLO_HOLD",
		.type = MPS_OPT_MS,
		.min = 0, .max = 10000,
		.def = "2ms",
		CFG_FIELD(hello_hold_ms),
		.help = "proxyd: after a client's early data, HELLO_ACK waits "
			"up to this long for the backend's first answer and "
			"leaves in the same segments, which saves slots of TCP's "
			"initial window; past it, the client gets HELLO_ACK (or, "
			"before the backend connected, a PING) alone. 0: at once. "
			"Keep it far below the clients' hello_timeout.",
	},
	{
		.name = "subflow_timeout",
		.env = "MPSHIM_SUBFLOW_TIMEOUT",
		.type = MPS_OPT_MS,
		.min = 0, .max = 600000,
		.def = "5s",
		CFG_FIELD(subflow_timeout_ms),
		.help = "TCP_USER_TIMEOUT on subflows: a subflow with data "
			"unacknowledged this long is dead. 0: off.",
	},
	{
		.name = "subflow_fail_min",
		.env = "MPSHIM_SUBFLOW_FAIL_MIN",
		.type = MPS_OPT_MS,
		.min = 50, .max = 600000,
		.def = "500ms",
		CFG_FIELD(fail_min_ms),
		.help = "A subflow with data in flight and no TCP ACK for "
			"max(subflow_fail_min, subflow_fail_rtts x SRTT) has "
			"failed: its data goes out on the others at once.",
	},
	{
		.name = "subflow_fail_rtts",
		.env = "MPSHIM_SUBFLOW_FAIL_RTTS",
		.type = MPS_OPT_INT,
		.min = 2, .max = 100,
		.def = "4",
		CFG_FIELD(fail_rtts),
		.help = "The no-ACK time that fails a subflow, in smoothed "
			"round-trip times (see subflow_fail_min).",
	},
	{
		.name = "heartbeat",
		.env = "MPSHIM_HEARTBEAT",
		.type = MPS_OPT_MS,
		.min = 0, .max = 600000,
		.def = "1s",
		CFG_FIELD(heartbeat_ms),
		.help = "Send a PING on a subflow that sent nothing for this "
			"long, so a dead idle path is found before data needs "
			"it. 0: off.",
	},
	{
		.name = "subflow_retry_min",
		.env = "MPSHIM_SUBFLOW_RETRY_MIN",
		.type = MPS_OPT_MS,
		.min = 10, .max = 600000,
		.def = "500ms",
		CFG_FIELD(retry_min_ms),
		.help = "First wait before a failed subflow is opened again; "
			"doubled after each failed attempt.",
	},
	{
		.name = "subflow_retry_max",
		.env = "MPSHIM_SUBFLOW_RETRY_MAX",
		.type = MPS_OPT_MS,
		.min = 10, .max = 3600000,
		.def = "2s",
		CFG_FIELD(retry_max_ms),
		.help = "Longest wait between attempts to open a failed "
			"subflow again, so a path that comes back is used again "
			"within about this long.",
	},
	{
		.name = "reinject_rtts",
		.env = "MPSHIM_REINJECT_RTTS",
		.type = MPS_OPT_INT,
		.min = 0, .max = 1000,
		.def = "2",
		CFG_FIELD(reinject_rtts),
		.help = "Deadline reinjection: when a subflow's TCP makes no "
			"progress for this many of its SRTTs (and 200 ms), its "
			"oldest unacknowledged data is also sent on another "
			"subflow. 0: off.",
	},
	{
		.name = "exit_linger",
		.env = "MPSHIM_EXIT_LINGER",
		.type = MPS_OPT_MS,
		.min = 0,
		.max = 600000,
		.def = "10s",
		CFG_FIELD(exit_linger_ms),
		.help = "When a shimmed program exits, how long it waits for the "
			"data it wrote to be acknowledged by the peer, as the "
			"kernel would for TCP, then up to 1s more for closing "
			"handshakes. 0: do not wait.",
	},
	{
		.name = "checksum",
		.env = "MPSHIM_CHECKSUM",
		.type = MPS_OPT_BOOL,
		.def = "no",
		CFG_FIELD(checksum),
		.help = "Protect DATA payloads with CRC32C. The server "
			"decides: on when either side asks.",
	},
	{
		.name = "fallback",
		.env = "MPSHIM_FALLBACK",
		.type = MPS_OPT_BOOL,
		.def = "yes",
		CFG_FIELD(fallback),
		.help = "When the peer does not speak mpshim, open a new plain "
			"TCP connection to it (the destination is remembered); "
			"no: fail the connect() with ECONNREFUSED.",
	},
	{
		.name = "early_data",
		.env = "MPSHIM_EARLY_DATA",
		.type = MPS_OPT_CHOICE,
		.def = "auto",
		.choices = early_data_choices,
		CFG_FIELD(early_data),
		.help = "Shim: let connect() succeed once the first subflow's TCP "
			"connection is up and send the first 64K of data right "
			"after HELLO, saving a round trip. auto: to destinations "
			"that answered HELLO_ACK before and to upgrade entries "
			"naming one address and port; yes: every upgraded "
			"destination; no: never. A server that fails its backend "
			"then resets the connection instead of refusing the "
			"connect(). Never through a proxy.",
	},
	{
		.name = "fastopen",
		.env = "MPSHIM_FASTOPEN",
		.type = MPS_OPT_CHOICE,
		.def = "auto",
		.choices = fastopen_choices,
		CFG_FIELD(fastopen),
		.help = "TCP Fast Open, once the kernel holds a cookie from the "
			"server (an earlier connection got it). Shim, with early "
			"data: the first subflow's SYN carries HELLO and the "
			"app's first bytes, which reach the server a round trip "
			"sooner. The network or an attacker may deliver a SYN's "
			"data twice: auto asks for it only on TLS ports (443, "
			"853, 993 ...) and lets only a TLS ClientHello ride, "
			"whose replay does nothing; yes: any destination, any "
			"bytes. proxyd: auto and yes accept such SYNs "
			"(TCP_FASTOPEN on its listeners; the host must allow it: "
			"sysctl net.ipv4.tcp_fastopen=3). no: never.",
	},
	{
		.name = "fastopen_wait",
		.env = "MPSHIM_FASTOPEN_WAIT",
		.type = MPS_OPT_MS,
		.min = 0, .max = 1000,
		.def = "100ms",
		CFG_FIELD(fastopen_wait_ms),
		.help = "Shim, with fastopen: how long HELLO waits in the "
			"deferred SYN for the app's first bytes (a TLS client's "
			"ClientHello can take milliseconds in a new process); "
			"then the SYN leaves with HELLO alone. Waiting costs "
			"nothing when the app writes first: its request would "
			"have waited for the handshake anyway.",
	},
	{
		.name = "proxy",
		.env = "MPSHIM_PROXY",
		.type = MPS_OPT_ADDR,
		.def = "",
		CFG_FIELD(proxy),
		.help = "Carry upgraded connections through mpshim-proxyd in forward "
			"mode at ADDR:PORT or [V6ADDR]:PORT: the subflows go to the "
			"proxy, which connects to the destination the program asked "
			"for. Usually set per destination in policy. Empty or none: "
			"connect to the destination itself.",
	},
	{
		.name = "proxy_fallback",
		.env = "MPSHIM_PROXY_FALLBACK",
		.type = MPS_OPT_CHOICE,
		.def = "direct",
		.choices = proxy_fallback_choices,
		CFG_FIELD(proxy_fallback),
		.help = "When the proxy cannot be reached or does not speak forward "
			"mode (or proxy_key_file is unusable): direct opens a plain "
			"TCP connection to the destination itself; fail makes the "
			"connect() fail with ECONNREFUSED. A proxy that refuses the "
			"client or the destination always makes it fail.",
	},
	{
		.name = "proxy_key_file",
		.env = "MPSHIM_PROXY_KEY_FILE",
		.type = MPS_OPT_STRING,
		.def = "",
		CFG_FIELD(proxy_key_file),
		.help = "The pre-shared key that authenticates this client to the "
			"proxy: the first 'ID HEXKEY' line of this file, which must "
			"be accessible by its owner only. Required with proxy.",
	},
	{
		.name = "listen",
		.env = NULL,
		.type = MPS_OPT_STRING,
		.def = "",
		CFG_FIELD(listen),
		.help = "mpshim-proxyd: address to accept connections on, "
			"ADDR:PORT or [V6ADDR]:PORT, when no --listen is given.",
	},
	{
		.name = "backend",
		.env = NULL,
		.type = MPS_OPT_STRING,
		.def = "",
		CFG_FIELD(backend),
		.help = "mpshim-proxyd: plain TCP service to relay to, "
			"ADDR:PORT or [V6ADDR]:PORT. Required unless forward is on; "
			"in forward mode it serves clients that name no "
			"destination.",
	},
	{
		.name = "advertise",
		.env = NULL,
		.type = MPS_OPT_ADDRS,
		.def = "",
		CFG_FIELD(advertise),
		.help = "mpshim-proxyd behind an L4 load balancer: this instance's "
			"own directly reachable addresses, comma list of ADDR:PORT "
			"or [V6ADDR]:PORT. Clients are told them (ADD_ADDR) instead "
			"of the other listen addresses, and, when they came in "
			"through another address (the balancer's), not to open "
			"subflows to that one: their subflows then all reach this "
			"instance. Empty or none: advertise the other listen "
			"addresses.",
	},
	{
		.name = "forward",
		.env = NULL,
		.type = MPS_OPT_BOOL,
		.def = "no",
		CFG_FIELD(forward),
		.help = "mpshim-proxyd: forward mode, where each client names its "
			"destination in HELLO and proves a pre-shared key of "
			"forward_key_file. The proxy refuses to start without "
			"that file.",
	},
	{
		.name = "forward_key_file",
		.env = NULL,
		.type = MPS_OPT_STRING,
		.def = "",
		CFG_FIELD(forward_key_file),
		.help = "mpshim-proxyd: the clients' pre-shared keys, one "
			"'ID HEXKEY' line each, in a file accessible by its owner "
			"only.",
	},
	{
		.name = "forward_allow",
		.env = NULL,
		.type = MPS_OPT_NETS,
		.def = "",
		CFG_FIELD(forward_allow),
		.help = "mpshim-proxyd: destinations forward mode may connect to "
			"even when forward_deny matches them: comma list of *, "
			"ADDR[/PREFIX][:PORTS], [V6ADDR][/PREFIX][:PORTS], *:PORTS; "
			"PORTS is N, N-M or *.",
	},
	{
		.name = "forward_deny",
		.env = NULL,
		.type = MPS_OPT_NETS,
		.def = "127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "
		       "169.254.0.0/16, 0.0.0.0/8, [::1], [::], [fc00::]/7, [fe80::]/10",
		CFG_FIELD(forward_deny),
		.help = "mpshim-proxyd: destinations forward mode refuses unless "
			"forward_allow matches them, same syntax. The default "
			"keeps clients off the proxy's own host and private, "
			"link-local and unspecified addresses; * refuses all but "
			"forward_allow.",
	},
};

const size_t mps_options_count = sizeof(mps_options) / sizeof(mps_options[0]);
