/*
 * test_via_proxyd.c - unmodified Debian clients under the shim, through
 * mpshim-proxyd, to plain servers.
 *
 * The client program runs in the test bed's client namespace under
 * `mpshim run` with one subflow per path; proxyd listens on the server's
 * path-1 address and carries each connection to a plain server on the
 * server host's loopback.  Every case checks that the program succeeded,
 * that the bytes arrived intact, and that its connection carried data on
 * both paths; its _path1_killed twin kills path 1 in the middle of the
 * transfer (blackhole: packets vanish, the link stays up; down: the
 * client's interface goes down) and must complete just as intact.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "apps.h"

#define MB (1024u * 1024u)

TestSuite(via_proxyd, .fini = app_fini, .timeout = 300);

/* ---- HTTP downloads from nginx: curl, wget, python3 urllib ---------- */

static void http_download(enum app_http_client client, bool kill, const char *how)
{
	const char *const needs[] = { "/usr/sbin/nginx", app_http_client_prog(client), NULL };
	char url[128], out[512];
	const char *blob;
	struct app_shim shim;
	struct app_proc p;

	app_bed_up(needs);
	blob = app_www_blob(kill ? 16 * MB : 8 * MB, 10 + client);
	app_nginx(NULL, "127.0.0.1", 8080);
	app_proxyd(8443, 8080);
	shim = app_client_shim(8443);
	snprintf(url, sizeof(url), "http://%s:8443/blob", bed.srv_addr[0]);
	snprintf(out, sizeof(out), "%s", app_path("download"));
	p = app_http_get(client, &shim, url, out);
	if (kill)
		app_kill_path1(&p, 2 * MB, how);
	app_wait_ok(&p, 180);
	app_assert_same(blob, out);
	app_assert_multipath(shim.stats, kill);
}

Test(via_proxyd, curl_from_nginx) { http_download(APP_CURL, false, NULL); }
Test(via_proxyd, curl_from_nginx_path1_killed) { http_download(APP_CURL, true, "blackhole"); }
Test(via_proxyd, wget_from_nginx) { http_download(APP_WGET, false, NULL); }
Test(via_proxyd, wget_from_nginx_path1_killed) { http_download(APP_WGET, true, "down"); }
Test(via_proxyd, python_urllib_from_nginx) { http_download(APP_URLLIB, false, NULL); }
Test(via_proxyd, python_urllib_from_nginx_path1_killed)
{
	http_download(APP_URLLIB, true, "blackhole");
}

/* ---- python3 http.server, downloaded by python3 urllib ------------- */

static void python_http_server(bool kill)
{
	const char *const needs[] = { "/usr/bin/python3", NULL };
	char url[128], out[512];
	const char *blob;
	struct app_shim shim;
	struct app_proc p;

	app_bed_up(needs);
	blob = app_www_blob(kill ? 16 * MB : 8 * MB, 13);
	app_http_server(NULL, "127.0.0.1", 8000);
	app_proxyd(8000, 8000);
	shim = app_client_shim(8000);
	snprintf(url, sizeof(url), "http://%s:8000/blob", bed.srv_addr[0]);
	snprintf(out, sizeof(out), "%s", app_path("download"));
	p = app_http_get(APP_URLLIB, &shim, url, out);
	if (kill)
		app_kill_path1(&p, 2 * MB, "blackhole");
	app_wait_ok(&p, 180);
	app_assert_same(blob, out);
	app_assert_multipath(shim.stats, kill);
}

Test(via_proxyd, python_urllib_from_python_http_server) { python_http_server(false); }
Test(via_proxyd, python_urllib_from_python_http_server_path1_killed)
{
	python_http_server(true);
}

/* ---- python3 socket client: sendfile, half-close, wait for the end -- */

static const char socket_put[] =
	"import socket, sys\n"
	"s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=120)\n"
	"with open(sys.argv[3], 'rb') as f:\n"
	"    s.sendfile(f)\n"
	"s.shutdown(socket.SHUT_WR)\n"
	"while s.recv(65536):\n"
	"    pass\n"
	"s.close()\n";

static void python_socket_upload(bool kill)
{
	const char *const needs[] = { "/usr/bin/python3", "socat", NULL };
	char port[16], sink[600], blob[512];
	char *srv[] = { "socat", "-u", "TCP-LISTEN:9000,bind=127.0.0.1,reuseaddr", sink, NULL };
	char *cli[] = { "/usr/bin/python3", "-c", (char *)socket_put, bed.srv_addr[0], port,
			blob, NULL };
	struct app_shim shim;
	struct app_proc server, p;

	app_bed_up(needs);
	snprintf(blob, sizeof(blob), "%s", app_blob("upload", kill ? 16 * MB : 8 * MB, 14));
	snprintf(sink, sizeof(sink), "OPEN:%s,creat,trunc", app_path("received"));
	snprintf(port, sizeof(port), "%d", 9000);
	server = app_start(APP_SRV, NULL, NULL, srv);
	app_wait_listen(APP_SRV, 9000);
	app_proxyd(9000, 9000);
	shim = app_client_shim(9000);
	p = app_start(APP_CLI, &shim, NULL, cli);
	if (kill)
		app_kill_path1(&p, 2 * MB, "down");
	app_wait_ok(&p, 180);
	/* the sink closes once it has seen the end of the upload */
	app_wait_ok(&server, 30);
	app_assert_same(blob, app_path("received"));
	app_assert_multipath(shim.stats, kill);
}

Test(via_proxyd, python_socket_upload) { python_socket_upload(false); }
Test(via_proxyd, python_socket_upload_path1_killed) { python_socket_upload(true); }

/* ---- redis-benchmark and redis-cli against redis-server ------------ */

static void redis_benchmark(bool kill)
{
	const char *const needs[] = { "redis-server", "redis-benchmark", "redis-cli", NULL };
	struct app_shim shim;

	app_bed_up(needs);
	app_redis(NULL, "127.0.0.1", 6379);
	app_proxyd(6379, 6379);
	shim = app_client_shim(6379);
	app_redis_benchmark(&shim, "127.0.0.1", kill);
}

Test(via_proxyd, redis_benchmark) { redis_benchmark(false); }
Test(via_proxyd, redis_benchmark_path1_killed) { redis_benchmark(true); }

static void redis_cli_roundtrip(bool kill)
{
	const char *const needs[] = { "redis-server", "redis-cli", NULL };
	const long long size = kill ? 16 * MB : 8 * MB;
	char set_cmd[1024], get_cmd[1024], value[512];
	char *set[] = { "sh", "-c", set_cmd, NULL };
	char *get[] = { "sh", "-c", get_cmd, NULL };
	struct app_shim shim;
	struct app_proc p;
	char *out;

	app_bed_up(needs);
	snprintf(value, sizeof(value), "%s", app_blob("value", (size_t)size, 15));
	app_redis(NULL, "127.0.0.1", 6379);
	app_proxyd(6379, 6379);
	shim = app_client_shim(6379);
	/* the binary value goes in through -x (stdin) and back with --raw */
	snprintf(set_cmd, sizeof(set_cmd), "exec redis-cli -h %s -p 6379 -x SET blob < '%s'",
		 bed.srv_addr[0], value);
	snprintf(get_cmd, sizeof(get_cmd), "exec redis-cli -h %s -p 6379 --raw GET blob > '%s'",
		 bed.srv_addr[0], app_path("got"));
	p = app_start(APP_CLI, &shim, app_path("redis-set.log"), set);
	app_wait_ok(&p, 120);
	out = h_slurp(p.log);
	cr_assert(out && !strcmp(out, "OK\n"), "SET said: %s", out ? out : "(nothing)");
	free(out);
	p = app_start(APP_CLI, &shim, app_path("redis-get.log"), get);
	if (kill)
		app_kill_path1(&p, 2 * MB, "down");
	app_wait_ok(&p, 120);
	app_strip_raw_newline(app_path("got"), size);
	app_assert_same(value, app_path("got"));
	cr_assert_eq(app_assert_multipath(shim.stats, kill), 2, "one line per redis-cli");
}

Test(via_proxyd, redis_cli_set_get_binary) { redis_cli_roundtrip(false); }
Test(via_proxyd, redis_cli_set_get_binary_path1_killed) { redis_cli_roundtrip(true); }

/* ---- OpenSSH: scp of 50 MB to a plain sshd ------------------------- */

static void scp_upload(bool kill)
{
	const char *const needs[] = { "/usr/sbin/sshd", "scp", "ssh", "ssh-keygen", NULL };
	char target[600], blob[512], key[512];
	char *argv[] = { "scp", "-q", "-F", "/dev/null", "-i", key,
			 "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			 "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			 "-o", "ConnectTimeout=60", "-P", "2222", blob, target, NULL };
	struct app_shim shim;
	struct app_proc p;

	app_bed_up(needs);
	snprintf(blob, sizeof(blob), "%s", app_blob("upload", 50 * MB, 16));
	app_sshd(NULL, "127.0.0.1", 2222);
	snprintf(key, sizeof(key), "%s", app_ssh_key());
	app_proxyd(2222, 2222);
	shim = app_client_shim(2222);
	snprintf(target, sizeof(target), "root@%s:%s", bed.srv_addr[0], app_path("received"));
	p = app_start(APP_CLI, &shim, NULL, argv);
	if (kill)
		app_kill_path1(&p, 8 * MB, "blackhole");
	app_wait_ok(&p, 240);
	app_assert_same(blob, app_path("received"));
	app_assert_multipath(shim.stats, kill);
}

Test(via_proxyd, scp_50mb_to_sshd) { scp_upload(false); }
Test(via_proxyd, scp_50mb_to_sshd_path1_killed) { scp_upload(true); }

/* ---- socat relay: plain curl -> socat under the shim -> proxyd ----- */

static void socat_relay(bool kill)
{
	const char *const needs[] = { "/usr/sbin/nginx", "socat", "curl", NULL };
	char to[128], out[512];
	char *relay[] = { "socat", "TCP-LISTEN:7000,bind=127.0.0.1,reuseaddr,fork", to, NULL };
	char *curl[] = { "curl", "-sS", "--max-time", "150", "-o", out,
			 "http://127.0.0.1:7000/blob", NULL };
	const char *blob;
	struct app_shim shim;
	struct app_proc p;

	app_bed_up(needs);
	blob = app_www_blob(kill ? 16 * MB : 8 * MB, 17);
	app_nginx(NULL, "127.0.0.1", 8080);
	app_proxyd(8443, 8080);
	shim = app_client_shim(8443);
	snprintf(to, sizeof(to), "TCP:%s:8443", bed.srv_addr[0]);
	snprintf(out, sizeof(out), "%s", app_path("download"));
	app_start(APP_CLI, &shim, NULL, relay);
	app_wait_listen(APP_CLI, 7000);
	p = app_start(APP_CLI, NULL, NULL, curl);
	if (kill)
		app_kill_path1(&p, 2 * MB, "down");
	app_wait_ok(&p, 180);
	app_assert_same(blob, out);
	app_assert_multipath(shim.stats, kill);
}

Test(via_proxyd, socat_relay) { socat_relay(false); }
Test(via_proxyd, socat_relay_path1_killed) { socat_relay(true); }

/* ---- iperf3 client to a plain iperf3 server ------------------------ */

/*
 * iperf3 -n: the client must send exactly the bytes asked for and the
 * server must have received data; iperf3 stops counting at the server
 * when the client reports the end, so what the server counts is less
 * than what was sent, through the shim as over plain TCP.
 */
static void iperf3_upload(bool kill)
{
	const char *const needs[] = { "iperf3", "jq", NULL };
	const unsigned long long bytes = kill ? 32ull * MB : 16ull * MB;
	char n[32], json[512];
	char *argv[] = { "iperf3", "-c", bed.srv_addr[0], "-p", "5201", "-n", n, "-J",
			 "--logfile", json, NULL };
	struct app_shim shim;
	struct app_proc p;

	app_bed_up(needs);
	snprintf(n, sizeof(n), "%llu", bytes);
	snprintf(json, sizeof(json), "%s", app_path("iperf3.json"));
	app_iperf3_server(NULL, "127.0.0.1", 5201);
	app_proxyd(5201, 5201);
	shim = app_client_shim(5201);
	p = app_start(APP_CLI, &shim, NULL, argv);
	if (kill)
		app_kill_path1(&p, 3 * MB, "blackhole");
	app_wait_ok(&p, 180);
	cr_assert_eq(app_sh("jq -e '.error == null and .end.sum_sent.bytes == %llu and "
			    ".end.sum_received.bytes > 0' '%s' >/dev/null", bytes, json), 0,
		     "iperf3 results: %s", h_slurp(json));
	cr_log_info("iperf3 %s", app_capture("jq -r '\"sent \\(.end.sum_sent.bytes), server "
					    "counted \\(.end.sum_received.bytes)\"' '%s'", json));
	/* the control connection and the data connection */
	cr_assert_geq(app_assert_multipath(shim.stats, kill), 2);
}

Test(via_proxyd, iperf3_client) { iperf3_upload(false); }
Test(via_proxyd, iperf3_client_path1_killed) { iperf3_upload(true); }
