/*
 * test_lb.c - mpshim-proxyd instances behind an L4 load balancer.
 *
 * Suite lb_wire (loopback, no root): what an instance with `advertise`
 * says on the wire (HELLO_ACK's NOJOIN, ADD_ADDR of its own address), a
 * shimmed client that then joins the advertised address only, and a JOIN
 * with an unknown token refused and counted by reason.
 *
 * Suite lb (root, network namespaces): the test bed's client with two
 * paths; its server namespace is the load balancer, HAProxy in TCP mode
 * on SERVER_ADDR_1:7000 in front of two proxyd instances, each in a
 * namespace of its own behind it:
 *
 *   NAME-srv  b<k> 10.230.<k>.1/24   HAProxy, the backend (httpd) on 10.230.1.1:8080
 *   NAME-i<k> e0   10.230.<k>.2/24   proxyd on 0.0.0.0:7000 (HAProxy's server k)
 *             lo   10.240.<k>.1/32   the address instance k advertises,
 *                                    routed by NAME-srv, not balanced
 *
 * Every test makes its own topology (named after the pid) and the fini
 * removes it, with every process it started, also when an assertion fails.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "crypto.h"
#include "frame.h"
#include "harness.h"

#define LB_PORT		7000	/* the VIP's and every instance's */
#define LB_BACKEND	"10.230.1.1:8080"
#define LB_CONNS	8
#define METRICS_PORT	9100	/* each instance's, on its own loopback */

/* ---- common ------------------------------------------------------------- */

/* A proxyd config file in the scratch directory. */
static const char *write_conf(const char *name, const char *text)
{
	static char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", h_tmpdir(), name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* One metric ("name{labels}") of the proxyd whose metrics listen on
 * 127.0.0.1:port in namespace ns (NULL: this one); -1 when absent. */
static long metric(const char *ns, int port, const char *name)
{
	char cmd[300], line[512], want[200];
	long v = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s%s curl -sS --max-time 5 http://127.0.0.1:%d/metrics",
		 ns ? "ip netns exec " : "", ns ? ns : "", port);
	snprintf(want, sizeof(want), "%s ", name);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, want, strlen(want)))
			v = strtol(line + strlen(want), NULL, 10);
	pclose(p);
	return v;
}

/* curl under the shim (in namespace ns, or here when NULL) fetching url
 * into out; its connection record goes to stats.  extra: more "K=V"
 * settings (NULL-terminated, may be NULL). */
static pid_t shim_curl(const char *ns, const char *url, const char *upgrade,
		       const char *out, const char *stats, char *const extra[],
		       const char *log)
{
	static char pre[600], up[96], st[600];
	char *argv[32];
	int n = 0;

	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=%s", upgrade);
	snprintf(st, sizeof(st), "MPSHIM_STATS_FILE=%s", stats);
	if (ns) {
		argv[n++] = "ip";
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = (char *)ns;
	}
	argv[n++] = "env";
	argv[n++] = pre;
	argv[n++] = up;
	argv[n++] = st;
	argv[n++] = "MPSHIM_LOG=info";
	for (int i = 0; extra && extra[i] && n < 24; i++)
		argv[n++] = extra[i];
	argv[n++] = "curl";
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = "60";
	argv[n++] = "-o";
	argv[n++] = (char *)out;
	argv[n++] = (char *)url;
	argv[n] = NULL;
	return h_spawn(argv, NULL, log);
}

static void assert_same_file(const char *a, const char *b)
{
	char ha[65], hb[65];

	cr_assert(h_sha256_file(a, ha));
	cr_assert(h_sha256_file(b, hb), "no output %s", b);
	cr_assert_str_eq(ha, hb, "%s: bytes differ", b);
}

/* ---- on the wire, over loopback ----------------------------------------- */

static int wire_port, wire_backend_port, wire_backend_fd = -1;
static char wire_log[600];

static void wire_fini(void)
{
	h_cleanup();
	if (wire_backend_fd >= 0)
		close(wire_backend_fd);
	wire_backend_fd = -1;
}

TestSuite(lb_wire, .fini = wire_fini, .timeout = 60);

/*
 * proxyd on 127.0.0.1:P (standing for the balancer's side), 127.0.0.2:P
 * (its own address) and 127.0.0.3:P (a listener it does not advertise),
 * advertising 127.0.0.2:P, metrics on metrics_port, records in
 * proxyd.json; backend: the given one, or a socket of this process that
 * only listens.
 */
static void wire_proxyd(const char *backend, int metrics_port)
{
	char l1[64], l2[64], l3[64], conf[128], mport[64], be[64], stats[600];
	char *argv[] = { (char *)h_proxyd(), "--config", NULL, "--listen", l1,
			 "--listen", l2, "--listen", l3, "--backend", be, "--metrics",
			 mport, "--stats-file", stats, "--log-level", "info", NULL };

	wire_port = h_free_port();
	snprintf(l1, sizeof(l1), "127.0.0.1:%d", wire_port);
	snprintf(l2, sizeof(l2), "127.0.0.2:%d", wire_port);
	snprintf(l3, sizeof(l3), "127.0.0.3:%d", wire_port);
	snprintf(stats, sizeof(stats), "%s/proxyd.json", h_tmpdir());
	snprintf(mport, sizeof(mport), "127.0.0.1:%d", metrics_port);
	if (backend) {
		snprintf(be, sizeof(be), "%s", backend);
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof(sin);

		wire_backend_fd = socket(AF_INET, SOCK_STREAM, 0);
		sin.sin_addr.s_addr = htonl(0x7f000001);
		cr_assert_eq(bind(wire_backend_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		cr_assert_eq(listen(wire_backend_fd, 16), 0);
		cr_assert_eq(getsockname(wire_backend_fd, (struct sockaddr *)&sin, &len), 0);
		wire_backend_port = ntohs(sin.sin_port);
		snprintf(be, sizeof(be), "127.0.0.1:%d", wire_backend_port);
	}
	snprintf(conf, sizeof(conf), "advertise = 127.0.0.2:%d\n", wire_port);
	argv[2] = (char *)write_conf("proxyd.conf", conf);
	snprintf(wire_log, sizeof(wire_log), "%s/proxyd.log", h_tmpdir());
	cr_assert_gt(h_spawn(argv, NULL, wire_log), 0);
	cr_assert(h_wait_port(wire_port, 5000), "proxyd did not start:\n%s",
		  h_slurp(wire_log));
}

/* HELLO to addr:wire_port; the HELLO_ACK into *ack, the join key out. */
static int wire_hello(const char *addr, struct h_frames *rd, struct mps_frame *ack,
		      uint8_t join_key[32])
{
	struct mps_frame f = { .type = MPS_FT_HELLO };
	struct mps_x25519 kx;
	uint8_t shared[MPS_X25519_LEN];
	uint64_t key_c;
	int fd = h_tcp_connect(addr, wire_port);

	cr_assert_geq(fd, 0, "connect to %s:%d", addr, wire_port);
	cr_assert_eq(mps_crypto_x25519_new(&kx), 0);
	cr_assert_eq(mps_crypto_key_new(&key_c), 0);
	f.u.hello.version = MPS_PROTO_VERSION;
	f.u.hello.key = key_c;
	memcpy(f.u.hello.pub, kx.pub, MPS_X25519_LEN);
	cr_assert(h_frame_send(fd, &f));
	rd->have = 0;
	cr_assert_gt(h_frame_next_skip_ping(fd, rd, ack, 5000), 0, "no answer to HELLO");
	cr_assert_eq(ack->type, MPS_FT_HELLO_ACK, "answer is %s",
		     mps_frame_type_name(ack->type));
	cr_assert_eq(mps_crypto_x25519_shared(&kx, ack->u.hello_ack.pub, shared), 0);
	cr_assert_eq(mps_crypto_join_key(shared, key_c, ack->u.hello_ack.key, join_key), 0);
	return fd;
}

Test(lb_wire, balanced_address_gets_nojoin_and_the_instance_address)
{
	static struct h_frames rd;
	struct mps_frame ack, f;
	uint8_t jk[32], mac[32];
	int fd;

	wire_proxyd(NULL, h_free_port());

	/* through the balancer's address: join elsewhere, here is where */
	fd = wire_hello("127.0.0.1", &rd, &ack, jk);
	cr_assert(ack.flags & MPS_HELLO_F_NOJOIN, "HELLO_ACK lacks NOJOIN");
	cr_assert_gt(h_frame_next_skip_ping(fd, &rd, &f, 3000), 0, "no ADD_ADDR");
	cr_assert_eq(f.type, MPS_FT_ADD_ADDR, "got %s", mps_frame_type_name(f.type));
	cr_assert_eq(f.u.add_addr.addr.family, 4);
	cr_assert_eq(f.u.add_addr.addr.port, wire_port);
	cr_assert_eq(memcmp(f.u.add_addr.addr.addr, "\x7f\x00\x00\x02", 4), 0,
		     "advertised another address than 127.0.0.2");
	cr_assert_eq(mps_crypto_addr_hmac(jk, f.u.add_addr.addr_id, 4, f.u.add_addr.addr.port,
					  f.u.add_addr.addr.addr, mac), 0);
	cr_assert_eq(memcmp(mac, f.u.add_addr.hmac, MPS_HMAC_TRUNC_LEN), 0,
		     "ADD_ADDR does not verify with the join key");

	/* only the advertised address: not 127.0.0.3, a listener too */
	cr_assert_lt(h_frame_next_skip_ping(fd, &rd, &f, 400), 0,
		     "unexpected %s after the ADD_ADDR", mps_frame_type_name(f.type));
	close(fd);

	/* at the advertised address itself: joins may follow it there, and
	 * there is nothing else to advertise */
	fd = wire_hello("127.0.0.2", &rd, &ack, jk);
	cr_assert_not(ack.flags & MPS_HELLO_F_NOJOIN, "NOJOIN at the advertised address");
	cr_assert_lt(h_frame_next_skip_ping(fd, &rd, &f, 400), 0,
		     "unexpected %s after HELLO_ACK", mps_frame_type_name(f.type));
	close(fd);
}

/* ndiffports under NOJOIN: the extra subflows go to the advertised
 * address, none to the address the connection reached. */
Test(lb_wire, client_joins_the_advertised_address_only)
{
	char backend[64], url[128], up[64], out[600], stats[600], log[600];
	char *extra[] = { "MPSHIM_SUBFLOWS=3", "MPSHIM_PATH_MANAGER=ndiffports", NULL };
	char *httpd[] = { "python3", (char *)h_httpd(), "--bind", "127.0.0.1", "--port",
			  NULL, "--dir", (char *)h_tmpdir(), NULL };
	char hport[16], first[64], adv[64];
	const char *file = h_make_file("blob", 2u << 20, 81);
	struct h_stats s;

	snprintf(hport, sizeof(hport), "%d", h_free_port());
	httpd[5] = hport;
	cr_assert_gt(h_spawn(httpd, NULL, NULL), 0);
	cr_assert(h_wait_port(atoi(hport), 5000), "httpd did not start");
	snprintf(backend, sizeof(backend), "127.0.0.1:%s", hport);
	wire_proxyd(backend, h_free_port());
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/blob", wire_port);
	snprintf(up, sizeof(up), "127.0.0.1:%d", wire_port);
	snprintf(out, sizeof(out), "%s/out", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/client.json", h_tmpdir());
	snprintf(log, sizeof(log), "%s/curl.log", h_tmpdir());
	cr_assert_eq(h_wait(shim_curl(NULL, url, up, out, stats, extra, log), 30000), 0,
		     "curl failed:\n%s", h_slurp(log));
	assert_same_file(file, out);
	cr_assert_eq(h_stats_read(stats, &s, 1), 1, "no client record");
	snprintf(first, sizeof(first), "127.0.0.1:%d", wire_port);
	snprintf(adv, sizeof(adv), "127.0.0.2:%d", wire_port);
	cr_assert_eq(s.n_sf, 3, "want the initial subflow and 2 joins, got %d", s.n_sf);
	cr_assert_str_eq(s.sf[0].remote, first);
	for (int i = 1; i < s.n_sf; i++)
		cr_assert_str_eq(s.sf[i].remote, adv, "subflow %d went to %s", i,
				 s.sf[i].remote);
	/* proxyd's side: the subflow through the "balancer" is a backup, the
	 * direct ones carry the data */
	snprintf(stats, sizeof(stats), "%s/proxyd.json", h_tmpdir());
	for (int t = 0; t < 30 && h_stats_read(stats, &s, 1) != 1; t++)
		usleep(100 * 1000);
	cr_assert_eq(h_stats_read(stats, &s, 1), 1, "no proxyd record");
	cr_assert_eq(s.n_sf, 3);
	cr_assert(s.sf[0].backup, "the subflow through the balancer is not a backup");
	cr_assert(!s.sf[1].backup && !s.sf[2].backup, "a direct subflow is a backup");
	cr_assert_gt(s.sf[1].sent + s.sf[2].sent, 0, "the direct subflows carried nothing");
}

Test(lb_wire, join_with_unknown_token_is_refused_and_counted)
{
	static struct h_frames rd;
	struct mps_frame f = { .type = MPS_FT_JOIN }, r;
	int mport = h_free_port(), fd;

	wire_proxyd(NULL, mport);
	cr_assert_eq(metric(NULL, mport,
			    "mpshim_join_refusals_total{reason=\"unknown_token\"}"), 0);
	/* a token no connection of this instance has: what a JOIN balanced to
	 * another instance than its connection's carries */
	fd = h_tcp_connect("127.0.0.1", wire_port);
	cr_assert_geq(fd, 0);
	f.u.join.token = 0x5eed1234;
	f.u.join.nonce = 42;
	f.u.join.addr_id = 1;
	cr_assert(h_frame_send(fd, &f));
	cr_assert_lt(h_frame_next(fd, &rd, &r, 3000), 0, "proxyd answered a stray JOIN");
	cr_assert(h_closed_by_peer(fd), "proxyd kept the stray JOIN's connection");
	usleep(100 * 1000);
	cr_assert_eq(metric(NULL, mport,
			    "mpshim_join_refusals_total{reason=\"unknown_token\"}"), 1);
	cr_assert_eq(metric(NULL, mport, "mpshim_refusals_total{reason=\"join\"}"), 1);
	cr_assert_eq(metric(NULL, mport,
			    "mpshim_join_refusals_total{reason=\"bad_hmac\"}"), 0);
}

/* ---- behind HAProxy, in namespaces --------------------------------------- */

static struct h_testbed tb;
static char inst_ns[2][64];
static bool inst_made[2];

static void lb_fini(void)
{
	char cmd[200];

	/* haproxy, the instances, the backend and the clients first: a
	 * namespace with a process in it would outlive its deletion */
	h_cleanup();
	for (int k = 0; k < 2; k++) {
		if (!inst_made[k])
			continue;
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", inst_ns[k]);
		if (h_run(cmd) != 0)
			cr_log_warn("cannot delete namespace %s", inst_ns[k]);
		inst_made[k] = false;
	}
	if (!h_testbed_down(&tb))
		cr_log_warn("mps-testbed down failed for %s", tb.name);
}

TestSuite(lb, .fini = lb_fini, .timeout = 150);

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run one command made from fmt; the test fails if it does. */
static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(h_run(cmd), 0, "failed: %s", cmd);
}

/* Instance k's namespace, its link to the balancer, its own address. */
static void instance_net(int k)
{
	const char *srv = tb.srv_ns, *ns = inst_ns[k];
	int n = k + 1;

	snprintf(inst_ns[k], sizeof(inst_ns[k]), "%s-i%d", tb.name, n);
	sh("ip netns add %s", ns);
	inst_made[k] = true;
	sh("ip -n %s link set lo up", ns);
	sh("ip -n %s link add b%d type veth peer name e0 netns %s", srv, n, ns);
	sh("ip -n %s addr add 10.230.%d.1/24 dev b%d && ip -n %s link set b%d up",
	   srv, n, n, srv, n);
	sh("ip -n %s addr add 10.230.%d.2/24 dev e0 && ip -n %s link set e0 up", ns, n, ns);
	sh("ip -n %s addr add 10.240.%d.1/32 dev lo", ns, n);
	sh("ip -n %s route add default via 10.230.%d.1", ns, n);
	/* the instance's own address is routed, not balanced */
	sh("ip -n %s route add 10.240.%d.1/32 via 10.230.%d.2", srv, n, n);
}

/* Wait until something listens on :port in namespace ns. */
static void wait_listen(const char *ns, int port, const char *what)
{
	cr_assert(h_netns_wait_port(ns, port, 5000), "%s did not start", what);
}

/*
 * The whole deployment: test bed, instance namespaces, backend, two
 * proxyd instances (with `advertise` when advertise is true) and HAProxy
 * balancing round robin over them on SERVER_ADDR_1:7000.
 */
static void lb_up(bool advertise)
{
	char conf[512], path[600], log[600], stats[600], listen[32], mport[32];
	char *httpd[] = { "ip", "netns", "exec", tb.srv_ns, "python3", (char *)h_httpd(),
			  "--bind", "10.230.1.1", "--port", "8080", "--dir",
			  (char *)h_tmpdir(), NULL };

	if (!h_netns_ok())
		cr_skip_test("needs root and network namespaces");
	if (h_run("command -v haproxy >/dev/null") != 0)
		cr_skip_test("haproxy is not installed (scripts/deps.sh)");
	cr_assert(h_testbed_up(&tb, "mpslb", "rate=20mbit,delay=5ms",
			       "rate=20mbit,delay=5ms"), "mps-testbed up failed");
	sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", tb.srv_ns);
	for (int k = 0; k < 2; k++)
		instance_net(k);
	cr_assert_gt(h_spawn(httpd, NULL, NULL), 0);
	wait_listen(tb.srv_ns, 8080, "the backend");

	snprintf(listen, sizeof(listen), "0.0.0.0:%d", LB_PORT);
	snprintf(mport, sizeof(mport), "127.0.0.1:%d", METRICS_PORT);
	for (int k = 0; k < 2; k++) {
		char name[32];
		char *argv[] = { "ip", "netns", "exec", inst_ns[k], (char *)h_proxyd(),
				 "--config", path, "--listen", listen, "--stats-file", stats,
				 "--metrics", mport, "--log-level", "info", NULL };

		snprintf(conf, sizeof(conf), "backend = %s\n", LB_BACKEND);
		if (advertise)
			snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
				 "advertise = 10.240.%d.1:%d\n", k + 1, LB_PORT);
		snprintf(name, sizeof(name), "proxyd%d.conf", k + 1);
		snprintf(path, sizeof(path), "%s", write_conf(name, conf));
		snprintf(stats, sizeof(stats), "%s/proxyd%d.json", h_tmpdir(), k + 1);
		snprintf(log, sizeof(log), "%s/proxyd%d.log", h_tmpdir(), k + 1);
		cr_assert_gt(h_spawn(argv, NULL, log), 0);
		wait_listen(inst_ns[k], LB_PORT, "proxyd");
	}

	/* HAProxy in TCP mode, one process, in the foreground (-db): the
	 * harness kills it and waits for it like any helper */
	snprintf(conf, sizeof(conf),
		 "global\n\tnbthread 1\n\tmaxconn 512\n"
		 "defaults\n\tmode tcp\n\ttimeout connect 5s\n"
		 "\ttimeout client 60s\n\ttimeout server 60s\n"
		 "frontend vip\n\tbind %s:%d\n\tdefault_backend proxyd\n"
		 "backend proxyd\n\tbalance roundrobin\n"
		 "\tserver i1 10.230.1.2:%d\n\tserver i2 10.230.2.2:%d\n",
		 tb.srv_addr[0], LB_PORT, LB_PORT, LB_PORT);
	snprintf(path, sizeof(path), "%s", write_conf("haproxy.cfg", conf));
	snprintf(log, sizeof(log), "%s/haproxy.log", h_tmpdir());
	{
		char *argv[] = { "ip", "netns", "exec", tb.srv_ns, "haproxy", "-db",
				 "-f", path, NULL };

		cr_assert_gt(h_spawn(argv, NULL, log), 0);
	}
	wait_listen(tb.srv_ns, LB_PORT, "haproxy");
}

/* n shimmed curls in the client namespace, each fetching its own blob
 * through the VIP, one subflow per path; parallel or one after another. */
static void lb_fetch(int n, size_t size, bool parallel, char *const extra[])
{
	char url[128], up[64], out[600], stats[600], log[600], name[32];
	char *env[8] = { "MPSHIM_SUBFLOW_RETRY_MIN=100ms", NULL };
	static char local[96];
	pid_t pid[LB_CONNS];
	int ne = 1;

	snprintf(local, sizeof(local), "MPSHIM_LOCAL=%s,%s", tb.cli_if[0], tb.cli_if[1]);
	env[ne++] = local;
	for (int i = 0; extra && extra[i] && ne < 7; i++)
		env[ne++] = extra[i];
	env[ne] = NULL;
	snprintf(up, sizeof(up), "%s:%d", tb.srv_addr[0], LB_PORT);
	snprintf(stats, sizeof(stats), "%s/client.json", h_tmpdir());
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "blob%d", i);
		cr_assert_not_null(h_make_file(name, size, 100u + (unsigned)i));
		snprintf(url, sizeof(url), "http://%s:%d/%s", tb.srv_addr[0], LB_PORT, name);
		snprintf(out, sizeof(out), "%s/out%d", h_tmpdir(), i);
		snprintf(log, sizeof(log), "%s/curl%d.log", h_tmpdir(), i);
		pid[i] = shim_curl(tb.cli_ns, url, up, out, stats, env, log);
		cr_assert_gt(pid[i], 0);
		if (!parallel)
			cr_assert_eq(h_wait(pid[i], 60000), 0, "curl %d failed:\n%s", i,
				     h_slurp(log));
	}
	for (int i = 0; parallel && i < n; i++) {
		snprintf(log, sizeof(log), "%s/curl%d.log", h_tmpdir(), i);
		cr_assert_eq(h_wait(pid[i], 90000), 0, "curl %d failed:\n%s", i,
			     h_slurp(log));
	}
	for (int i = 0; i < n; i++) {
		char blob[600];

		snprintf(blob, sizeof(blob), "%s/blob%d", h_tmpdir(), i);
		snprintf(out, sizeof(out), "%s/out%d", h_tmpdir(), i);
		assert_same_file(blob, out);
	}
}

/* Records of a stats file, waiting (bounded) until there are want. */
static int records(const char *file, struct h_stats *s, int max, int want)
{
	char path[600];
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", h_tmpdir(), file);
	for (int t = 0; t < 50; t++) {
		n = h_stats_read(path, s, max);
		if (n >= want)
			break;
		usleep(100 * 1000);
	}
	return n < 0 ? 0 : n;
}

/* Both instances' records, waiting (bounded) until they hold every
 * connection between them. */
static void instance_records(struct h_stats ps[2][LB_CONNS], int np[2])
{
	char path[2][600];

	for (int k = 0; k < 2; k++)
		snprintf(path[k], sizeof(path[k]), "%s/proxyd%d.json", h_tmpdir(), k + 1);
	for (int t = 0; t < 50; t++) {
		for (int k = 0; k < 2; k++) {
			np[k] = h_stats_read(path[k], ps[k], LB_CONNS);
			if (np[k] < 0)
				np[k] = 0;
		}
		if (np[0] + np[1] >= LB_CONNS)
			return;
		usleep(100 * 1000);
	}
}

/* Did the client's connection c carry data from both of its paths? */
static void assert_both_paths(const struct h_stats *c, int i)
{
	uint64_t got[2] = { 0, 0 };

	for (int j = 0; j < c->n_sf; j++)
		for (int p = 0; p < 2; p++)
			if (!strncmp(c->sf[j].local, tb.cli_addr[p], strlen(tb.cli_addr[p])) &&
			    c->sf[j].local[strlen(tb.cli_addr[p])] == ':')
				got[p] += c->sf[j].recv;
	cr_assert(got[0] && got[1], "connection %d: path 1 carried %llu bytes, path 2 %llu",
		  i, (unsigned long long)got[0], (unsigned long long)got[1]);
}

/* The instance record (index into ps[k]) holding the subflow whose client
 * end is addr:port, or -1. */
static int record_with_peer(const struct h_stats *ps, int n, const char *peer)
{
	for (int r = 0; r < n; r++)
		for (int j = 0; j < ps[r].n_sf; j++)
			if (!strcmp(ps[r].sf[j].remote, peer))
				return r;
	return -1;
}

Test(lb, subflows_of_a_connection_land_on_one_instance)
{
	static struct h_stats cs[LB_CONNS], ps[2][LB_CONNS];
	int np[2], claimed[2][LB_CONNS] = { { 0 } };
	char vip[64], adv[2][64], bal[2][32];

	lb_up(true);
	lb_fetch(LB_CONNS, 2u << 20, true, NULL);

	cr_assert_eq(records("client.json", cs, LB_CONNS, LB_CONNS), LB_CONNS);
	instance_records(ps, np);
	cr_log_info("instance 1: %d connections, instance 2: %d", np[0], np[1]);
	cr_assert(np[0] > 0 && np[1] > 0, "the balancer used one instance only");
	cr_assert_eq(np[0] + np[1], LB_CONNS);

	snprintf(vip, sizeof(vip), "%s:%d", tb.srv_addr[0], LB_PORT);
	for (int k = 0; k < 2; k++) {
		snprintf(adv[k], sizeof(adv[k]), "10.240.%d.1:%d", k + 1, LB_PORT);
		snprintf(bal[k], sizeof(bal[k]), "10.230.%d.1:", k + 1);
	}
	for (int i = 0; i < LB_CONNS; i++) {
		const struct h_stats *c = &cs[i];
		const struct h_stats *p;
		int k = -1, rec = -1;

		cr_assert_not(c->fallback, "connection %d fell back", i);
		cr_assert_geq(c->n_sf, 2, "connection %d: no subflow joined", i);
		cr_assert_str_eq(c->sf[0].remote, vip, "connection %d: first subflow", i);
		for (int j = 1; j < c->n_sf; j++) {
			int kj = !strcmp(c->sf[j].remote, adv[0]) ? 0 :
				 !strcmp(c->sf[j].remote, adv[1]) ? 1 : -1;
			int r;

			cr_assert_geq(kj, 0, "connection %d: subflow %d went to %s, "
				      "not to an instance's own address", i, j, c->sf[j].remote);
			cr_assert(k < 0 || kj == k, "connection %d joined both instances", i);
			k = kj;
			/* a JOIN is in that instance's record of this connection
			 * (unless it came after the connection ended there), and in
			 * no record of the other instance */
			cr_assert_lt(record_with_peer(ps[!k], np[!k], c->sf[j].local), 0,
				     "connection %d: subflow %s on both instances", i,
				     c->sf[j].local);
			r = record_with_peer(ps[k], np[k], c->sf[j].local);
			if (r < 0)
				continue;
			cr_assert(rec < 0 || r == rec, "connection %d: split over records", i);
			rec = r;
		}
		cr_assert_geq(rec, 0, "connection %d: instance %d has no record of it", i, k + 1);
		/* that record is this connection whole: the first subflow came
		 * from the balancer, every other one from this client */
		p = &ps[k][rec];
		cr_assert(!strncmp(p->sf[0].remote, bal[k], strlen(bal[k])),
			  "connection %d: first subflow at instance %d from %s", i, k + 1,
			  p->sf[0].remote);
		cr_assert(p->sf[0].backup, "connection %d: the balanced subflow is not "
			  "a backup at instance %d", i, k + 1);
		for (int j = 1; j < p->n_sf; j++) {
			bool mine = false;

			for (int m = 1; m < c->n_sf; m++)
				mine = mine || !strcmp(p->sf[j].remote, c->sf[m].local);
			cr_assert(mine, "connection %d: instance %d holds a foreign subflow %s",
				  i, k + 1, p->sf[j].remote);
		}
		cr_assert_not(claimed[k][rec], "two connections in one record");
		claimed[k][rec] = 1;
		assert_both_paths(c, i);
	}
	/* and no JOIN came through the balancer, refused or not: a refusal
	 * there would be a JOIN that missed its instance.  (A JOIN the client
	 * sends to its instance's own address just after the connection ended
	 * there is refused too, as unknown_token: that is not one.) */
	for (int k = 0; k < 2; k++) {
		char path[600], want[96];
		char *log;

		snprintf(path, sizeof(path), "%s/proxyd%d.log", h_tmpdir(), k + 1);
		snprintf(want, sizeof(want), "JOIN refused from %s", bal[k]);
		log = h_slurp(path);
		cr_assert_not_null(log);
		cr_assert_null(strstr(log, want), "instance %d: a JOIN came through the "
			       "balancer:\n%s", k + 1, log);
		free(log);
		cr_log_info("instance %d: %ld JOINs refused (unknown token)", k + 1,
			    metric(inst_ns[k], METRICS_PORT,
				   "mpshim_join_refusals_total{reason=\"unknown_token\"}"));
	}
}

/*
 * Instances without `advertise`: the client joins through the VIP, and the
 * balancer hands the JOIN to the other instance.  It is refused (unknown
 * token) and counted; the client loses nothing, tries again, lands on the
 * right instance, and the transfers complete intact over both paths.
 */
Test(lb, join_at_the_wrong_instance_is_refused_and_the_connection_completes)
{
	static struct h_stats cs[2];
	long refused = 0;
	bool via_lb = false;

	lb_up(false);
	lb_fetch(2, 3u << 20, false, NULL);
	cr_assert_eq(records("client.json", cs, 2, 2), 2);
	for (int k = 0; k < 2; k++) {
		long v = metric(inst_ns[k], METRICS_PORT,
				"mpshim_join_refusals_total{reason=\"unknown_token\"}");

		cr_assert_geq(v, 0, "instance %d: no join refusal metric", k + 1);
		refused += v;
	}
	cr_log_info("JOINs refused at the wrong instance: %ld", refused);
	cr_assert_geq(refused, 1, "no JOIN reached the wrong instance");
	/* and those came through the balancer */
	for (int k = 0; k < 2; k++) {
		char path[600], want[96];
		char *log;

		snprintf(path, sizeof(path), "%s/proxyd%d.log", h_tmpdir(), k + 1);
		snprintf(want, sizeof(want), "JOIN refused from 10.230.%d.1:", k + 1);
		log = h_slurp(path);
		via_lb = via_lb || (log && strstr(log, want));
		free(log);
	}
	cr_assert(via_lb, "no refusal of a JOIN that came through the balancer");
	for (int i = 0; i < 2; i++) {
		cr_assert_not(cs[i].fallback);
		/* the JOIN tried again reached the right instance */
		assert_both_paths(&cs[i], i);
	}
}
