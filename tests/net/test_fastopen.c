/*
 * test_fastopen.c - TCP Fast Open (key fastopen): HELLO and the request
 * in the first subflow's SYN.
 *
 * The kernel sends data in a SYN only with a cookie from the server, got
 * on an earlier connection, and a server accepts it only where its host
 * allows it (net.ipv4.tcp_fastopen with 2 set): so the test bed's server
 * namespace allows it, and curl under the shim fetches three times
 * through proxyd.  The first connection fetches the cookie; from the
 * second on, the stats of both ends say that the SYN carried HELLO
 * (tcpi_options' SYN_DATA), and the bytes are intact.  fastopen = no, and
 * auto on a port that is not TLS's, keep every SYN empty.  What rides in
 * the SYN under auto is measured by a server of the test's own: a SYN's
 * data is all it can have read 10 ms after the accept over a 100 ms
 * round trip; a TLS ClientHello (curl https) rides with HELLO, an HTTP request
 * does not.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

#define PROXY_PORT	7443
#define FETCHES		3

static struct h_testbed tb;

static void fini(void)
{
	h_cleanup();
	if (!h_testbed_down(&tb))
		cr_log_warn("mps-testbed down failed for %s", tb.name);
}

TestSuite(fastopen, .fini = fini, .timeout = 120);

/* The test bed with both paths as spec, its server allowing Fast Open. */
static void bed_up(const char *spec)
{
	char cmd[256];

	if (!h_netns_ok())
		cr_skip_test("needs root and network namespaces");
	cr_assert(h_testbed_up(&tb, "mpstfo", spec, spec), "mps-testbed up failed");
	snprintf(cmd, sizeof(cmd), "ip netns exec %s sysctl -qw net.ipv4.tcp_fastopen=3",
		 tb.srv_ns);
	cr_assert_eq(h_run(cmd), 0, "cannot allow Fast Open in %s", tb.srv_ns);
}

/* Test bed up, Fast Open allowed on its server, httpd on 127.0.0.1:8080
 * and proxyd on SERVER_ADDR_1:PROXY_PORT (its stats to proxyd_stats). */
static void servers_up(const char *proxyd_stats)
{
	char listen[64], log[600];
	char *httpd[] = { "ip", "netns", "exec", tb.srv_ns, "python3", (char *)h_httpd(),
			  "--bind", "127.0.0.1", "--port", "8080", "--dir",
			  (char *)h_tmpdir(), NULL };
	char *proxyd[] = { "ip", "netns", "exec", tb.srv_ns, (char *)h_proxyd(),
			   "--listen", listen, "--backend", "127.0.0.1:8080",
			   "--stats-file", (char *)proxyd_stats, "--log-level", "info", NULL };

	bed_up("rate=100mbit,delay=1ms");
	snprintf(listen, sizeof(listen), "%s:%d", tb.srv_addr[0], PROXY_PORT);
	snprintf(log, sizeof(log), "%s/proxyd.log", h_tmpdir());
	cr_assert_gt(h_spawn(httpd, NULL, NULL), 0);
	cr_assert_gt(h_spawn(proxyd, NULL, log), 0);
	cr_assert(h_netns_wait_port(tb.srv_ns, PROXY_PORT, 5000) &&
		  h_netns_wait_port(tb.srv_ns, 8080, 5000), "servers did not start");
}

/* curl under the shim in the client namespace, FETCHES times one after
 * another, from scheme://SERVER_ADDR_1:port/blob (upgraded, fastopen as
 * given).  With blob set, every fetch must succeed and be the blob; else
 * they only run (the test's own server answers nothing). */
static void fetch_url(const char *blob, const char *stats, const char *fastopen,
		      const char *scheme, int port)
{
	char pre[600], up[96], st[600], fo[64], url[128], out[600], log[600];
	char want[65], got[65];
	char *argv[] = { "ip", "netns", "exec", tb.cli_ns, "env", pre, up, st, fo,
			 "MPSHIM_LOG=info", "MPSHIM_SUBFLOWS=1", "MPSHIM_FALLBACK=no",
			 "curl", "-sSk", "--max-time",
			 "30", "-o", out, url, NULL };

	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=%s:%d", tb.srv_addr[0], port);
	snprintf(st, sizeof(st), "MPSHIM_STATS_FILE=%s", stats);
	snprintf(fo, sizeof(fo), "MPSHIM_FASTOPEN=%s", fastopen);
	snprintf(url, sizeof(url), "%s://%s:%d/blob", scheme, tb.srv_addr[0], port);
	if (blob)
		cr_assert(h_sha256_file(blob, want));
	for (int i = 0; i < FETCHES; i++) {
		int rc;

		snprintf(out, sizeof(out), "%s/out%d", h_tmpdir(), i);
		snprintf(log, sizeof(log), "%s/curl-%s-%d.log", h_tmpdir(), scheme, i);
		rc = h_wait(h_spawn(argv, NULL, log), 60000);
		if (!blob)
			continue;
		cr_assert_eq(rc, 0, "curl %d: exit %d: %s", i, rc, h_slurp(log));
		cr_assert(h_sha256_file(out, got));
		cr_assert_str_eq(got, want, "fetch %d: the bytes differ", i);
	}
}

static void fetch(const char *blob, const char *stats, const char *fastopen)
{
	fetch_url(blob, stats, fastopen, "http", PROXY_PORT);
}

/* The stats file's lines, waiting (bounded) for want of them. */
static int lines(const char *path, struct h_stats *s, int want)
{
	int n = 0;

	for (int t = 0; t < 50 && n < want; t++) {
		n = h_stats_read(path, s, want);
		if (n < want)
			usleep(100 * 1000);
	}
	return n;
}

Test(fastopen, hello_and_the_request_ride_in_the_syn_from_the_second_connection)
{
	char cstats[600], pstats[600];
	const char *blob = h_make_file("blob", 300000, 5);
	struct h_stats c[FETCHES], p[FETCHES];
	int with_data = 0;

	snprintf(cstats, sizeof(cstats), "%s/client.json", h_tmpdir());
	snprintf(pstats, sizeof(pstats), "%s/proxyd.json", h_tmpdir());
	servers_up(pstats);
	fetch(blob, cstats, "yes");
	cr_assert_eq(lines(cstats, c, FETCHES), FETCHES);
	cr_assert_eq(lines(pstats, p, FETCHES), FETCHES);
	for (int i = 0; i < FETCHES; i++) {
		cr_assert(!c[i].fallback, "connection %d fell back: %s", i, c[i].fallback_reason);
		with_data += p[i].syn_data;
	}
	/* no cookie yet: the first SYN asks for one and carries nothing */
	cr_assert_not(c[0].syn_data, "the first connection had a cookie already");
	cr_assert(c[1].syn_data && c[2].syn_data,
		  "HELLO did not ride in the SYN (connections 2 and 3: %d %d)",
		  c[1].syn_data, c[2].syn_data);
	cr_assert_eq(with_data, FETCHES - 1, "proxyd took %d SYNs with data", with_data);
}

Test(fastopen, off_keeps_every_syn_empty)
{
	char cstats[600], pstats[600];
	const char *blob = h_make_file("blob", 100000, 6);
	struct h_stats c[FETCHES], p[FETCHES];

	snprintf(cstats, sizeof(cstats), "%s/client.json", h_tmpdir());
	snprintf(pstats, sizeof(pstats), "%s/proxyd.json", h_tmpdir());
	servers_up(pstats);
	fetch(blob, cstats, "no");
	cr_assert_eq(lines(cstats, c, FETCHES), FETCHES);
	cr_assert_eq(lines(pstats, p, FETCHES), FETCHES);
	for (int i = 0; i < FETCHES; i++)
		cr_assert(!c[i].syn_data && !p[i].syn_data, "connection %d: data in its SYN", i);
}


/* auto on a port that is not TLS's: an ordinary handshake */
Test(fastopen, auto_leaves_other_ports_alone)
{
	char cstats[600], pstats[600];
	const char *blob = h_make_file("blob", 100000, 7);
	struct h_stats c[FETCHES];

	snprintf(cstats, sizeof(cstats), "%s/client.json", h_tmpdir());
	snprintf(pstats, sizeof(pstats), "%s/proxyd.json", h_tmpdir());
	servers_up(pstats);
	fetch(blob, cstats, "auto");
	cr_assert_eq(lines(cstats, c, FETCHES), FETCHES);
	for (int i = 0; i < FETCHES; i++)
		cr_assert(!c[i].syn_data, "connection %d: HELLO in its SYN", i);
}

/*
 * The test's own Fast Open server on SERVER_ADDR_1:port, over paths of
 * 100 ms round trip: for each connection, what it can read 10 ms after the
 * accept (only a SYN's data can be there by then; FIONREAD says 0 until the
 * handshake completes, a read does not) goes as a line into
 * out; it then reads what came and closes the connection, and the shim,
 * fallback off, gives up.
 */
static void syn_meter_up(int port, const char *out)
{
	static const char script[] =
		"import socket, sys, time\n"
		"ls = socket.socket()\n"
		"ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
		"ls.bind((sys.argv[1], int(sys.argv[2])))\n"
		"ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)\n"
		"ls.listen(16)\n"
		"while True:\n"
		"    c, _ = ls.accept()\n"
		"    time.sleep(0.01)\n"
		"    c.setblocking(False)\n"
		"    try:\n"
		"        n = len(c.recv(65536))\n"
		"    except OSError:\n"
		"        n = 0\n"
		"    with open(sys.argv[3], 'a') as f:\n"
		"        f.write('%d\\n' % n)\n"
		"    try:\n"
		"        while c.recv(65536):\n"
		"            pass\n"
		"    except OSError:\n"
		"        pass\n"
		"    c.shutdown(socket.SHUT_RDWR)\n"
		"    c.close()\n";
	char path[600], portstr[16];
	char *argv[] = { "ip", "netns", "exec", tb.srv_ns, "python3", path, tb.srv_addr[0],
			 portstr, (char *)out, NULL };
	FILE *f;

	bed_up("rate=100mbit,delay=50ms");
	snprintf(path, sizeof(path), "%s/synmeter.py", h_tmpdir());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(script, f);
	fclose(f);
	snprintf(portstr, sizeof(portstr), "%d", port);
	cr_assert_gt(h_spawn(argv, NULL, NULL), 0);
	cr_assert(h_netns_wait_port(tb.srv_ns, port, 5000), "the SYN meter did not start");
}

/* The SYN meter's lines as numbers; their count. */
static int syn_bytes(const char *path, long *n, int max)
{
	FILE *f = fopen(path, "r");
	int k = 0;

	if (!f)
		return 0;
	while (k < max && fscanf(f, "%ld", &n[k]) == 1)
		k++;
	fclose(f);
	return k;
}

/*
 * auto on a TLS port: with a cookie, HELLO and curl's TLS ClientHello
 * ride in the SYN; an HTTP request to the same port does not, HELLO
 * (49 bytes) goes alone.
 */
Test(fastopen, auto_lets_only_a_tls_client_hello_ride)
{
	char tls[600], plain[600], stats[600];
	long n[FETCHES];

	snprintf(tls, sizeof(tls), "%s/syn-tls", h_tmpdir());
	snprintf(plain, sizeof(plain), "%s/syn-plain", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/client.json", h_tmpdir());
	syn_meter_up(8443, tls);
	fetch_url(NULL, stats, "auto", "https", 8443);
	cr_assert_eq(syn_bytes(tls, n, FETCHES), FETCHES);
	/* the first connection fetched the cookie */
	for (int i = 1; i < FETCHES; i++)
		cr_assert_gt(n[i], 49 + 12 + 5, "connection %d: %ld bytes in its SYN, "
			     "not HELLO and a ClientHello", i, n[i]);

	rename(tls, plain);
	fetch_url(NULL, stats, "auto", "http", 8443);
	cr_assert_eq(syn_bytes(tls, n, FETCHES), FETCHES);
	for (int i = 0; i < FETCHES; i++)
		cr_assert_eq(n[i], 49, "connection %d: %ld bytes in its SYN, not HELLO alone",
			     i, n[i]);
}
