/*
 * test_shimmed_server.c - unmodified Debian servers under the shim.
 *
 * The server program runs in the test bed's server namespace under
 * `mpshim run --accept *:PORT`, listening on the server's path-1 address
 * (or on every address): the shim takes its listener over, hands it a
 * relay for each multipath client and its own TCP socket for each plain
 * one.  Multipath clients run under the shim in the client namespace with
 * one subflow per path; plain ones run as they are.  Checked: every
 * program succeeded, the bytes arrived intact, multipath connections
 * carried data on both paths and the server's shim counted exactly the
 * multipath ones; each multipath case has a _path1_killed twin that kills
 * path 1 in the middle of the transfer and must complete just as intact.
 *
 * Also the suite's own C programs: an epoll edge-triggered echo server and
 * client (mps-epoll-et) and a pre-fork server (mps-prefork).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "apps.h"

#define MB (1024u * 1024u)

TestSuite(shimmed_server, .fini = app_fini, .timeout = 300);

/* ---- nginx ------------------------------------------------------------ */

static void nginx_download(enum app_http_client client, bool kill, const char *how)
{
	const char *const needs[] = { "/usr/sbin/nginx", app_http_client_prog(client), NULL };
	char url[128], out[512];
	const char *blob;
	struct app_shim srv, cli;
	struct app_proc p;

	app_bed_up(needs);
	blob = app_www_blob(kill ? 16 * MB : 8 * MB, 20 + client);
	srv = app_server_shim(80);
	app_nginx(&srv, bed.srv_addr[0], 80);
	cli = app_client_shim(80);
	snprintf(url, sizeof(url), "http://%s/blob", bed.srv_addr[0]);
	snprintf(out, sizeof(out), "%s", app_path("download"));
	p = app_http_get(client, &cli, url, out);
	if (kill)
		app_kill_path1(&p, 2 * MB, how);
	app_wait_ok(&p, 180);
	app_assert_same(blob, out);
	app_assert_multipath(cli.stats, kill);
	app_assert_served(srv.stats, 1);
}

Test(shimmed_server, nginx_to_curl) { nginx_download(APP_CURL, false, NULL); }
Test(shimmed_server, nginx_to_curl_path1_killed) { nginx_download(APP_CURL, true, "blackhole"); }
Test(shimmed_server, nginx_to_wget) { nginx_download(APP_WGET, false, NULL); }
Test(shimmed_server, nginx_to_wget_path1_killed) { nginx_download(APP_WGET, true, "down"); }

/* A shimmed nginx serves plain clients as before, while a multipath one
 * downloads at the same time. */
Test(shimmed_server, nginx_plain_clients_beside_a_multipath_one)
{
	const char *const needs[] = { "/usr/sbin/nginx", "curl", "wget", NULL };
	char url[128], out[3][512];
	const char *blob;
	struct app_shim srv, cli;
	struct app_proc p[3];

	app_bed_up(needs);
	blob = app_www_blob(8 * MB, 23);
	srv = app_server_shim(80);
	app_nginx(&srv, bed.srv_addr[0], 80);
	cli = app_client_shim(80);
	snprintf(url, sizeof(url), "http://%s/blob", bed.srv_addr[0]);
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "download%d", i);
		snprintf(out[i], sizeof(out[i]), "%s", app_path(name));
	}
	p[0] = app_http_get(APP_CURL, &cli, url, out[0]);
	p[1] = app_http_get(APP_CURL, NULL, url, out[1]);
	p[2] = app_http_get(APP_WGET, NULL, url, out[2]);
	for (int i = 0; i < 3; i++) {
		app_wait_ok(&p[i], 180);
		app_assert_same(blob, out[i]);
	}
	app_assert_multipath(cli.stats, false);
	/* only the multipath client went through the shim's engine */
	app_assert_served(srv.stats, 1);
}

/* ---- redis ------------------------------------------------------------ */

static void redis_benchmark(bool kill)
{
	const char *const needs[] = { "redis-server", "redis-benchmark", "redis-cli", NULL };
	struct app_shim srv, cli;

	app_bed_up(needs);
	srv = app_server_shim(6379);
	app_redis(&srv, bed.srv_addr[0], 6379);
	cli = app_client_shim(6379);
	/* the call counts come from a plain redis-cli: a plain client of
	 * the shimmed server */
	app_assert_served(srv.stats, app_redis_benchmark(&cli, bed.srv_addr[0], kill));
}

Test(shimmed_server, redis_server_to_redis_benchmark) { redis_benchmark(false); }
Test(shimmed_server, redis_server_to_redis_benchmark_path1_killed) { redis_benchmark(true); }

/* A plain redis-cli stores a binary value in the shimmed redis-server and
 * reads it back byte for byte. */
Test(shimmed_server, redis_server_to_plain_redis_cli)
{
	const char *const needs[] = { "redis-server", "redis-cli", NULL };
	const long long size = 4 * MB;
	char set_cmd[1024], get_cmd[1024], value[512], got[512];
	char *set[] = { "sh", "-c", set_cmd, NULL };
	char *get[] = { "sh", "-c", get_cmd, NULL };
	struct app_shim srv;
	struct app_proc p;
	char *out;

	app_bed_up(needs);
	snprintf(value, sizeof(value), "%s", app_blob("value", (size_t)size, 24));
	snprintf(got, sizeof(got), "%s", app_path("got"));
	srv = app_server_shim(6379);
	app_redis(&srv, bed.srv_addr[0], 6379);
	snprintf(set_cmd, sizeof(set_cmd), "exec redis-cli -h %s -x SET blob < '%s'",
		 bed.srv_addr[0], value);
	snprintf(get_cmd, sizeof(get_cmd), "exec redis-cli -h %s --raw GET blob > '%s'",
		 bed.srv_addr[0], got);
	p = app_start(APP_CLI, NULL, app_path("redis-set.log"), set);
	app_wait_ok(&p, 120);
	out = h_slurp(p.log);
	cr_assert(out && !strcmp(out, "OK\n"), "SET said: %s", out ? out : "(nothing)");
	free(out);
	p = app_start(APP_CLI, NULL, app_path("redis-get.log"), get);
	app_wait_ok(&p, 120);
	app_strip_raw_newline(got, size);
	app_assert_same(value, got);
	app_assert_served(srv.stats, 0);
}

/* ---- OpenSSH ---------------------------------------------------------- */

static const char *const ssh_opts[] = {
	"-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
	"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
	"-o", "ConnectTimeout=60", NULL,
};

/* sshd re-executes itself for each connection: the new program must see
 * the client's address on the relay it inherited, and accept the options
 * sshd sets on it. */
static void assert_sshd_log(const struct app_proc *sshd)
{
	char want[96], *log = h_slurp(sshd->log);

	snprintf(want, sizeof(want), "Accepted publickey for root from %s port ",
		 bed.cli_addr[0]);
	cr_assert(log && strstr(log, want), "sshd did not log \"%s\":\n%s", want,
		  log ? log : "");
	cr_assert_null(strstr(log, "setsockopt"), "sshd:\n%s", log);
	free(log);
}

static void scp_upload(bool kill)
{
	const char *const needs[] = { "/usr/sbin/sshd", "scp", "ssh", "ssh-keygen", NULL };
	char target[600], blob[512], key[512];
	char *argv[32] = { "scp", "-q", "-i", key };
	struct app_shim srv, cli;
	struct app_proc sshd, p;
	int n = 4;

	app_bed_up(needs);
	snprintf(blob, sizeof(blob), "%s", app_blob("upload", 50 * MB, 25));
	srv = app_server_shim(22);
	sshd = app_sshd(&srv, bed.srv_addr[0], 22);
	snprintf(key, sizeof(key), "%s", app_ssh_key());
	cli = app_client_shim(22);
	snprintf(target, sizeof(target), "root@%s:%s", bed.srv_addr[0], app_path("received"));
	for (int i = 0; ssh_opts[i]; i++)
		argv[n++] = (char *)ssh_opts[i];
	argv[n++] = blob;
	argv[n++] = target;
	argv[n] = NULL;
	p = app_start(APP_CLI, &cli, NULL, argv);
	if (kill)
		app_kill_path1(&p, 8 * MB, "blackhole");
	app_wait_ok(&p, 240);
	app_assert_same(blob, app_path("received"));
	app_assert_multipath(cli.stats, kill);
	app_assert_served(srv.stats, 1);
	assert_sshd_log(&sshd);
}

Test(shimmed_server, sshd_to_scp_50mb) { scp_upload(false); }
Test(shimmed_server, sshd_to_scp_50mb_path1_killed) { scp_upload(true); }

/* A plain ssh client runs a command on the shimmed sshd: cat of a file,
 * which must come back byte for byte. */
Test(shimmed_server, sshd_to_plain_ssh)
{
	const char *const needs[] = { "/usr/sbin/sshd", "ssh", "ssh-keygen", NULL };
	char cmd[2048], blob[512], got[512];
	char *argv[] = { "sh", "-c", cmd, NULL };
	struct app_shim srv;
	struct app_proc sshd, p;
	int len;

	app_bed_up(needs);
	snprintf(blob, sizeof(blob), "%s", app_blob("file", 4 * MB, 26));
	snprintf(got, sizeof(got), "%s", app_path("got"));
	srv = app_server_shim(22);
	sshd = app_sshd(&srv, bed.srv_addr[0], 22);
	len = snprintf(cmd, sizeof(cmd), "exec ssh -i '%s'", app_ssh_key());
	for (int i = 0; ssh_opts[i]; i++)
		len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " %s", ssh_opts[i]);
	snprintf(cmd + len, sizeof(cmd) - (size_t)len, " root@%s cat '%s' > '%s'",
		 bed.srv_addr[0], blob, got);
	p = app_start(APP_CLI, NULL, NULL, argv);
	app_wait_ok(&p, 120);
	app_assert_same(blob, got);
	app_assert_served(srv.stats, 0);
	assert_sshd_log(&sshd);
}

/* ---- python3 http.server ---------------------------------------------- */

static void python_http_server(bool kill)
{
	const char *const needs[] = { "/usr/bin/python3", NULL };
	char url[128], out[512];
	const char *blob;
	struct app_shim srv, cli;
	struct app_proc p;

	app_bed_up(needs);
	blob = app_www_blob(kill ? 16 * MB : 8 * MB, 27);
	srv = app_server_shim(8000);
	app_http_server(&srv, bed.srv_addr[0], 8000);
	cli = app_client_shim(8000);
	snprintf(url, sizeof(url), "http://%s:8000/blob", bed.srv_addr[0]);
	snprintf(out, sizeof(out), "%s", app_path("download"));
	p = app_http_get(APP_URLLIB, &cli, url, out);
	if (kill)
		app_kill_path1(&p, 2 * MB, "blackhole");
	app_wait_ok(&p, 180);
	app_assert_same(blob, out);
	app_assert_multipath(cli.stats, kill);
	app_assert_served(srv.stats, 1);
}

Test(shimmed_server, python_http_server_to_urllib) { python_http_server(false); }
Test(shimmed_server, python_http_server_to_urllib_path1_killed) { python_http_server(true); }

/* ---- socat ------------------------------------------------------------ */

/*
 * socat under the shim on both ends: an upload into a file.  The server
 * forks a child per connection and keeps listening, which the client's
 * second subflow needs: a JOIN arrives at the listener (socat without
 * fork closes it after its one accept, and the connection stays on one
 * subflow).
 */
static void socat_upload(bool kill)
{
	const char *const needs[] = { "socat", NULL };
	char listen[128], sink[600], from[600], to[128], got[512];
	char *srv_argv[] = { "socat", "-u", listen, sink, NULL };
	char *cli_argv[] = { "socat", "-u", from, to, NULL };
	const char *blob;
	long long size = kill ? 16 * MB : 8 * MB;
	struct app_shim srv, cli;
	struct app_proc p;

	app_bed_up(needs);
	blob = app_blob("upload", (size_t)size, 28);
	snprintf(got, sizeof(got), "%s", app_path("received"));
	snprintf(from, sizeof(from), "OPEN:%s,rdonly", blob);
	snprintf(listen, sizeof(listen), "TCP-LISTEN:9000,bind=%s,reuseaddr,fork",
		 bed.srv_addr[0]);
	snprintf(sink, sizeof(sink), "OPEN:%s,creat,trunc", got);
	snprintf(to, sizeof(to), "TCP:%s:9000", bed.srv_addr[0]);
	srv = app_server_shim(9000);
	app_start(APP_SRV, &srv, app_path("socat-server.log"), srv_argv);
	app_wait_listen(APP_SRV, 9000);
	cli = app_client_shim(9000);
	p = app_start(APP_CLI, &cli, app_path("socat-client.log"), cli_argv);
	if (kill)
		app_kill_path1(&p, 2 * MB, "down");
	app_wait_ok(&p, 180);
	/* the server's child writes the last bytes after the client is done */
	for (int waited = 0; app_file_size(got) < size && waited < 30000; waited += 50)
		usleep(50 * 1000);
	app_assert_same(blob, got);
	app_assert_multipath(cli.stats, kill);
	app_assert_served(srv.stats, 1);
}

Test(shimmed_server, socat_to_socat) { socat_upload(false); }
Test(shimmed_server, socat_to_socat_path1_killed) { socat_upload(true); }

/* ---- iperf3 ----------------------------------------------------------- */

/* Both ends shimmed; what is checked is as in test_via_proxyd.c. */
static void iperf3_both(bool kill)
{
	const char *const needs[] = { "iperf3", "jq", NULL };
	const unsigned long long bytes = kill ? 32ull * MB : 16ull * MB;
	char n[32], json[512];
	char *argv[] = { "iperf3", "-c", bed.srv_addr[0], "-p", "5201", "-n", n, "-J",
			 "--logfile", json, NULL };
	struct app_shim srv, cli;
	struct app_proc server, p;

	app_bed_up(needs);
	snprintf(n, sizeof(n), "%llu", bytes);
	snprintf(json, sizeof(json), "%s", app_path("iperf3.json"));
	srv = app_server_shim(5201);
	server = app_iperf3_server(&srv, bed.srv_addr[0], 5201);
	cli = app_client_shim(5201);
	p = app_start(APP_CLI, &cli, NULL, argv);
	if (kill)
		app_kill_path1(&p, 3 * MB, "blackhole");
	app_wait_ok(&p, 180);
	app_wait_ok(&server, 60);	/* -1: one test, then it exits */
	cr_assert_eq(app_sh("jq -e '.error == null and .end.sum_sent.bytes == %llu and "
			    ".end.sum_received.bytes > 0' '%s' >/dev/null", bytes, json), 0,
		     "iperf3 results: %s", h_slurp(json));
	cr_log_info("iperf3 %s", app_capture("jq -r '\"sent \\(.end.sum_sent.bytes), server "
					    "counted \\(.end.sum_received.bytes)\"' '%s'", json));
	cr_assert_eq(app_assert_multipath(cli.stats, kill), 2, "control and data connection");
	app_assert_served(srv.stats, 2);
}

Test(shimmed_server, iperf3_server_to_iperf3_client) { iperf3_both(false); }
Test(shimmed_server, iperf3_server_to_iperf3_client_path1_killed) { iperf3_both(true); }

/* ---- the suite's own programs ----------------------------------------- */

/*
 * Both listen on every address: the multipath client connects to
 * SERVER_ADDR_1 (its subflows take both paths), the plain client beside it
 * to SERVER_ADDR_2, over path 2 only, which no kill touches.
 */
static void epoll_et(bool kill)
{
	enum { CONNS = 4, PLAIN_CONNS = 2 };
	char conns[16], plain_conns[16], bytes[32], plain_bytes[32];
	char *srv_argv[] = { (char *)app_prog("mps-epoll-et"), "serve", "0.0.0.0", "9100",
			     NULL };
	char *cli_argv[] = { (char *)app_prog("mps-epoll-et"), "echo", bed.srv_addr[0],
			     "9100", conns, bytes, "31", NULL };
	char *plain_argv[] = { (char *)app_prog("mps-epoll-et"), "echo", bed.srv_addr[1],
			       "9100", plain_conns, plain_bytes, "32", NULL };
	const char *const needs[] = { app_prog("mps-epoll-et"), NULL };
	struct app_shim srv, cli;
	struct app_proc p, plain;

	app_bed_up(needs);
	snprintf(conns, sizeof(conns), "%d", CONNS);
	snprintf(plain_conns, sizeof(plain_conns), "%d", PLAIN_CONNS);
	snprintf(bytes, sizeof(bytes), "%u", (kill ? 6 : 3) * MB);
	snprintf(plain_bytes, sizeof(plain_bytes), "%u", MB);
	srv = app_server_shim(9100);
	app_start(APP_SRV, &srv, app_path("epoll-server.log"), srv_argv);
	app_wait_listen(APP_SRV, 9100);
	cli = app_client_shim(9100);
	p = app_start(APP_CLI, &cli, app_path("epoll-client.log"), cli_argv);
	plain = app_start(APP_CLI, NULL, app_path("epoll-plain.log"), plain_argv);
	if (kill) {
		/* a connection opened after path 1 died would wait for it */
		app_wait_output(&p, "connections open");
		app_kill_path1(&p, 2 * MB, "blackhole");
	}
	app_wait_ok(&p, 180);
	app_wait_ok(&plain, 180);
	cr_assert_eq(app_assert_multipath(cli.stats, kill), CONNS);
	app_assert_served(srv.stats, CONNS);
}

Test(shimmed_server, epoll_edge_triggered_echo) { epoll_et(false); }
Test(shimmed_server, epoll_edge_triggered_echo_path1_killed) { epoll_et(true); }

/* The workers each accept() on the listener the parent made; the engine
 * of the parent carries their multipath connections.  A worker holds its
 * connection until the client has a worker for each of its connections
 * (see mps-prefork.c), and there are more workers than connections: each
 * connection has a worker of its own. */
static void prefork(bool kill)
{
	enum { WORKERS = 8, CONNS = 4, PLAIN_CONNS = 2 };
	char workers[16], conns[16], plain_conns[16], bytes[32];
	char *srv_argv[] = { (char *)app_prog("mps-prefork"), "serve", "0.0.0.0", "9200",
			     workers, NULL };
	char *cli_argv[] = { (char *)app_prog("mps-prefork"), "fetch", bed.srv_addr[0],
			     "9200", conns, bytes, "41", NULL };
	char *plain_argv[] = { (char *)app_prog("mps-prefork"), "fetch", bed.srv_addr[1],
			       "9200", plain_conns, bytes, "42", NULL };
	struct app_shim srv, cli;
	struct app_proc p, plain;
	const char *const needs[] = { app_prog("mps-prefork"), NULL };
	int served_by = 0;
	char *out;

	app_bed_up(needs);
	snprintf(workers, sizeof(workers), "%d", WORKERS);
	snprintf(conns, sizeof(conns), "%d", CONNS);
	snprintf(plain_conns, sizeof(plain_conns), "%d", PLAIN_CONNS);
	snprintf(bytes, sizeof(bytes), "%u", (kill ? 4 : 2) * MB);
	srv = app_server_shim(9200);
	app_start(APP_SRV, &srv, app_path("prefork-server.log"), srv_argv);
	app_wait_listen(APP_SRV, 9200);
	cli = app_client_shim(9200);
	p = app_start(APP_CLI, &cli, app_path("prefork-client.log"), cli_argv);
	plain = app_start(APP_CLI, NULL, app_path("prefork-plain.log"), plain_argv);
	if (kill) {
		/* a connection opened after path 1 died would fail */
		app_wait_output(&p, "connections open");
		app_kill_path1(&p, 2 * MB, "down");
	}
	app_wait_ok(&p, 180);
	app_wait_ok(&plain, 180);
	out = h_slurp(p.log);
	cr_assert(out && strstr(out, "served by "), "no summary: %s", out ? out : "");
	served_by = atoi(strstr(out, "served by ") + strlen("served by "));
	cr_log_info("%s", out);
	free(out);
	cr_assert_eq(served_by, CONNS, "%d workers served %d connections", served_by, CONNS);
	cr_assert_eq(app_assert_multipath(cli.stats, kill), CONNS);
	app_assert_served(srv.stats, CONNS);
}

Test(shimmed_server, prefork_server) { prefork(false); }
Test(shimmed_server, prefork_server_path1_killed) { prefork(true); }
