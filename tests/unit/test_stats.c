/*
 * test_stats.c - what mpshim says about its connections: the text buffer,
 * the connection object shared by records and snapshots, the snapshot's
 * bound, the stats socket (answers, refusals, crowds, stop, fork), and
 * the `mpshim stats` pieces that do not need a running program (socket
 * discovery, column texts, the table).
 *
 * The engines made here run their loop on the test's thread, one
 * iteration at a time; nothing is preloaded.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clock.h"
#include "engine_int.h"
#include "pm.h"
#include "sched.h"
#include "stats.h"
#include "text.h"
#include "../../src/tools/json.h"
#include "../../src/tools/stats_cmd.h"

static struct mps_json *parse(const char *text, size_t len)
{
	struct mps_json *v = NULL;
	char err[128];

	cr_assert_eq(mps_json_parse(text, len, &v, err, sizeof(err)), 0,
		     "not JSON (%s): %.*s", err, (int)len, text);
	return v;
}

/* ---- text buffer ------------------------------------------------------- */

Test(text, grows_past_its_first_allocation)
{
	struct mps_text t;

	mps_text_init(&t, 1 << 20);
	for (int i = 0; i < 1000; i++)
		cr_assert(mps_text_printf(&t, "%04d,", i));
	cr_assert_eq(t.len, 5000);
	cr_assert_eq(strlen(t.buf), 5000);
	cr_assert(!strncmp(t.buf + 4995, "0999,", 5));
	cr_assert_not(t.full);
	mps_text_free(&t);
}

Test(text, ceiling_drops_a_whole_append_and_everything_after)
{
	struct mps_text t;

	mps_text_init(&t, 10);
	cr_assert(mps_text_printf(&t, "12345"));
	cr_assert_not(mps_text_printf(&t, "678901"), "11 bytes must not fit in 10");
	cr_assert(t.full);
	cr_assert_str_eq(t.buf, "12345");
	/* would fit, but the document already lost a piece */
	cr_assert_not(mps_text_printf(&t, "6"));
	cr_assert_str_eq(t.buf, "12345");
	mps_text_free(&t);
}

Test(text, cut_takes_back_and_reopens)
{
	struct mps_text t;
	size_t mark;

	mps_text_init(&t, 16);
	mps_text_printf(&t, "[1");
	mark = t.len;
	mps_text_printf(&t, ", 2222222222");
	mps_text_printf(&t, ", 3333333333");
	cr_assert(t.full);
	mps_text_cut(&t, mark);
	cr_assert_not(t.full);
	cr_assert(mps_text_printf(&t, "]"));
	cr_assert_str_eq(t.buf, "[1]");
	mps_text_free(&t);
}

Test(text, json_strings_are_always_valid)
{
	struct mps_text t;

	mps_text_init(&t, 4096);
	mps_text_json_str(&t, "a\"b\\c\n\x01\x7f");
	mps_text_printf(&t, " ");
	/* UTF-8 passes; a stray byte, an overlong form, a surrogate do not */
	mps_text_json_str(&t, "\xc3\xa9|\xff|\xc0\xaf|\xed\xa0\x80|\xf0\x9f\x98\x80|\xe2\x82");
	cr_assert_str_eq(t.buf, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\" "
			 "\"\xc3\xa9|?|??|???|\xf0\x9f\x98\x80|??\"");
	mps_text_free(&t);
}

/* ---- the connection object --------------------------------------------- */

static uint64_t fixed_clock(void)
{
	return 10ull * 1000000000u;
}

static struct mps_meta meta;
static struct mps_subflow sf0, sf1;

static void record_setup(void)
{
	mps_sched_init();
	mps_pm_init();
	mps_clock_inject(fixed_clock);
	memset(&meta, 0, sizeof(meta));
	memset(&sf0, 0, sizeof(sf0));
	memset(&sf1, 0, sizeof(sf1));
	meta.role = MPS_ROLE_C;
	meta.state = MPS_META_ESTABLISHED;
	meta.was_established = true;
	meta.id = 3;
	meta.t_start_ns = fixed_clock() - 2500ull * 1000000u;
	meta.idsn_local = 1000;
	meta.snd.end = 6000;
	meta.idsn_peer = 7;
	meta.rcv.q.base = 130;
	meta.snd.reinjected_bytes = 11;
	meta.sched = mps_sched_find("ecf");
	meta.pm = mps_pm_find("ndiffports");
	cr_assert_eq(mps_addr_parse("127.0.0.1:8443", &meta.dest), 0);

	cr_assert_eq(mps_addr_parse("10.0.0.1:4000", &sf0.local), 0);
	sf0.remote = meta.dest;
	sf0.state = MPS_SF_ACTIVE;
	sf0.bytes_sent = 100;
	sf0.bytes_recv = 200;
	sf0.srtt_us = 1500;
	sf0.rttvar_us = 300;
	sf0.cwnd = 10;
	cr_assert_eq(mps_addr_parse("10.0.0.2:4001", &sf1.local), 0);
	sf1.remote = meta.dest;
	sf1.state = MPS_SF_DEAD;
	sf1.addr_id = 1;
	sf1.backup = true;
	sf1.srtt_us = UINT32_MAX;	/* never measured */
	sf1.reinjected_bytes = 5;
	sf1.why = "no ACK (path dead)";
	meta.sf[0] = &sf0;
	meta.sf[1] = &sf1;
	meta.n_sf = 2;
}

static void record_teardown(void)
{
	mps_clock_inject(NULL);
}

TestSuite(record, .init = record_setup, .fini = record_teardown);

Test(record, meta_object_has_every_field)
{
	struct mps_text t;
	struct mps_json *v;
	const struct mps_json *sfs, *s;

	mps_text_init(&t, 65536);
	mps_stats_meta_json(&t, &meta);
	cr_assert_not(t.full);
	/* the first version's fields first, in their order: the harness and
	 * other line-oriented readers rely on it */
	cr_assert(!strncmp(t.buf, "{\"role\": \"client\", \"peer\": \"127.0.0.1:8443\", "
			   "\"fallback\": null, \"duration_ms\": 2500, \"bytes_sent\": 5000, "
			   "\"bytes_recv\": 123, \"reinjected_bytes\": 11, \"error\": 0, ",
			   strlen("{\"role\": \"client\", \"peer\": \"127.0.0.1:8443\", "
				  "\"fallback\": null, \"duration_ms\": 2500, \"bytes_sent\": 5000, "
				  "\"bytes_recv\": 123, \"reinjected_bytes\": 11, \"error\": 0, ")),
		  "%s", t.buf);
	v = parse(t.buf, t.len);
	cr_assert_eq(mps_json_u64(v, "id", 0), 3);
	cr_assert_str_eq(mps_json_str(v, "state"), "established");
	cr_assert_str_eq(mps_json_str(v, "scheduler"), "ecf");
	cr_assert_str_eq(mps_json_str(v, "path_manager"), "ndiffports");
	sfs = mps_json_get(v, "subflows");
	cr_assert_eq(sfs->n, 2);
	s = sfs->child;
	cr_assert_str_eq(mps_json_str(s, "local"), "10.0.0.1:4000");
	cr_assert_str_eq(mps_json_str(s, "remote"), "127.0.0.1:8443");
	cr_assert_str_eq(mps_json_str(s, "state"), "active");
	cr_assert_str_eq(mps_json_str(s, "end"), "");
	cr_assert_eq(mps_json_u64(s, "bytes_sent", 0), 100);
	cr_assert_eq(mps_json_u64(s, "bytes_recv", 0), 200);
	cr_assert_eq(mps_json_u64(s, "srtt_us", 0), 1500);
	cr_assert_eq(mps_json_u64(s, "rttvar_us", 0), 300);
	cr_assert_eq(mps_json_u64(s, "cwnd", 0), 10);
	cr_assert_not(mps_json_bool(s, "backup", true));
	s = s->next;
	cr_assert_str_eq(mps_json_str(s, "state"), "closed");
	cr_assert_str_eq(mps_json_str(s, "end"), "no ACK (path dead)");
	cr_assert_eq(mps_json_u64(s, "srtt_us", 99), 0, "unmeasured RTT is 0");
	cr_assert_eq(mps_json_u64(s, "addr_id", 0), 1);
	cr_assert_eq(mps_json_u64(s, "reinjected_bytes", 0), 5);
	cr_assert(mps_json_bool(s, "backup", false));
	mps_json_free(v);
	mps_text_free(&t);
}

/* Before the handshake the sequence numbers mean nothing yet. */
Test(record, connecting_meta_counts_no_bytes)
{
	struct mps_text t;
	struct mps_json *v;

	meta.state = MPS_META_CONNECTING;
	meta.was_established = false;
	meta.snd.end = 0;
	meta.rcv.q.base = 0;
	meta.role = MPS_ROLE_S;
	mps_text_init(&t, 65536);
	mps_stats_meta_json(&t, &meta);
	v = parse(t.buf, t.len);
	cr_assert_eq(mps_json_u64(v, "bytes_sent", 99), 0);
	cr_assert_eq(mps_json_u64(v, "bytes_recv", 99), 0);
	cr_assert_str_eq(mps_json_str(v, "role"), "server");
	cr_assert_str_eq(mps_json_str(v, "state"), "connecting");
	cr_assert_null(mps_json_get(v, "path_manager"), "servers run no path manager");
	mps_json_free(v);
	mps_text_free(&t);
}

Test(record, plain_relay_object)
{
	union mps_sockaddr a, b, c;
	struct mps_text t;
	struct mps_json *v;
	const struct mps_json *s;

	cr_assert_eq(mps_addr_parse("10.0.0.1:5000", &a), 0);
	cr_assert_eq(mps_addr_parse("[2001:db8::1]:80", &b), 0);
	cr_assert_eq(mps_addr_parse("127.0.0.1:8080", &c), 0);
	mps_text_init(&t, 65536);
	/* proxyd's plain client: the backend is the peer, the connection
	 * is the client's */
	mps_stats_plain_json(&t, "server", "plain", &c.sa, &a.sa, &b.sa, 10, 20,
			     "plain client");
	v = parse(t.buf, t.len);
	cr_assert_str_eq(mps_json_str(v, "role"), "server");
	cr_assert_str_eq(mps_json_str(v, "peer"), "127.0.0.1:8080");
	cr_assert_str_eq(mps_json_str(v, "fallback"), "plain client");
	cr_assert_str_eq(mps_json_str(v, "state"), "plain");
	cr_assert_eq(mps_json_u64(v, "bytes_recv", 0), 20);
	s = mps_json_get(v, "subflows")->child;
	cr_assert_str_eq(mps_json_str(s, "local"), "10.0.0.1:5000");
	cr_assert_str_eq(mps_json_str(s, "remote"), "[2001:db8::1]:80");
	cr_assert_eq(mps_json_u64(s, "bytes_sent", 0), 10);
	mps_json_free(v);
	mps_text_free(&t);
}

/* ---- the snapshot and the stats socket ---------------------------------- */

static struct mps_engine *eng;

static struct mps_engine *engine(bool stats_socket)
{
	struct mps_config cfg;

	mps_config_defaults(&cfg);
	cfg.stats_socket = stats_socket;
	cr_assert_eq(mps_engine_new(&eng, &cfg), 0);
	return eng;
}

static void engine_teardown(void)
{
	mps_engine_free(eng);
	eng = NULL;
}

TestSuite(snapshot, .fini = engine_teardown);
TestSuite(statsock, .fini = engine_teardown);

/* An established client meta with n_sf active subflows (no sockets),
 * owned by the engine from now on. */
static void add_meta(unsigned n_sf)
{
	struct mps_meta *m = calloc(1, sizeof(*m));

	cr_assert_not_null(m);
	cr_assert_eq(mps_meta_seq_init(m, 65536, 65536), 0);
	m->eng = eng;
	m->role = MPS_ROLE_C;
	m->state = MPS_META_ESTABLISHED;
	m->was_established = true;
	m->id = ++eng->next_meta_id;
	m->efd = -1;
	m->sched = eng->sched;
	m->pm = eng->pm;
	m->t_start_ns = mps_clock_ns();
	cr_assert_eq(mps_addr_parse("192.0.2.1:443", &m->dest), 0);
	for (unsigned i = 0; i < n_sf; i++) {
		struct mps_subflow *sf = mps_subflow_new(eng, -1);

		cr_assert_not_null(sf);
		sf->meta = m;
		sf->state = MPS_SF_ACTIVE;
		sf->addr_id = (uint8_t)i;
		sf->remote = m->dest;
		m->sf[m->n_sf++] = sf;
	}
	m->next = eng->metas;
	if (eng->metas)
		eng->metas->prev = m;
	eng->metas = m;
}

Test(snapshot, lists_every_connection)
{
	struct mps_text t;
	struct mps_json *v;

	engine(false);
	add_meta(2);
	add_meta(1);
	add_meta(3);
	mps_text_init(&t, 1 << 20);
	mps_stats_snapshot(eng, &t);
	cr_assert_eq(t.buf[t.len - 1], '\n', "one line");
	cr_assert_null(memchr(t.buf, '\n', t.len - 1), "one line");
	v = parse(t.buf, t.len);
	cr_assert_eq(mps_json_u64(v, "mpshim_stats", 0), MPS_STATS_VERSION);
	cr_assert_eq(mps_json_u64(v, "pid", 0), (uint64_t)getpid());
	cr_assert_eq(mps_json_u64(v, "uid", 99), (uint64_t)geteuid());
	cr_assert_not_null(mps_json_str(v, "comm"));
	cr_assert_str_eq(mps_json_str(v, "loop"), mps_engine_loop_name(eng));
	cr_assert_eq(mps_json_get(v, "connections")->n, 3);
	cr_assert_not(mps_json_bool(v, "truncated", true));
	mps_json_free(v);
	mps_text_free(&t);
}

/* A huge engine cannot make a huge answer: whole connections are left
 * out, the document still parses and says it is truncated. */
Test(snapshot, bounded_and_still_json)
{
	struct mps_text t;
	struct mps_json *v;
	size_t n;

	engine(false);
	for (int i = 0; i < 50; i++)
		add_meta(2);
	mps_text_init(&t, 4096);
	mps_stats_snapshot(eng, &t);
	cr_assert_leq(t.len, 4096);
	v = parse(t.buf, t.len);
	n = mps_json_get(v, "connections")->n;
	cr_assert(n > 0 && n < 50, "%zu connections in 4 KiB", n);
	cr_assert(mps_json_bool(v, "truncated", false));
	mps_json_free(v);
	mps_text_free(&t);
}

static int stats_connect(pid_t pid)
{
	struct sockaddr_un sun;
	socklen_t len = mps_stats_socket_addr(pid, &sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	if (connect(fd, (struct sockaddr *)&sun, len)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Run the engine's loop until every fd has been answered and closed; the
 * answers go to bufs (each cap bytes), their lengths to lens. */
static void run_until_answered(int *fds, char (*bufs)[8192], size_t *lens, int n)
{
	int open = n;

	for (int i = 0; i < n; i++)
		lens[i] = 0;
	for (int round = 0; open && round < 500; round++) {
		mps_loop_run_once(eng->loop, 10);
		for (int i = 0; i < n; i++) {
			ssize_t r;

			if (fds[i] < 0)
				continue;
			while ((r = recv(fds[i], bufs[i] + lens[i], 8191 - lens[i],
					 MSG_DONTWAIT)) > 0)
				lens[i] += (size_t)r;
			if (r == 0) {
				close(fds[i]);
				fds[i] = -1;
				bufs[i][lens[i]] = '\0';
				open--;
			}
		}
	}
	cr_assert_eq(open, 0, "%d reader(s) never got the end of an answer", open);
}

Test(statsock, answers_its_own_user)
{
	char buf[1][8192];
	size_t len;
	int fd;
	struct mps_json *v;

	engine(true);
	add_meta(2);
	fd = stats_connect(getpid());
	cr_assert_geq(fd, 0, "no stats socket: %s", strerror(errno));
	run_until_answered(&fd, buf, &len, 1);
	v = parse(buf[0], len);
	cr_assert_eq(mps_json_u64(v, "pid", 0), (uint64_t)getpid());
	cr_assert_null(mps_json_get(v, "error"));
	cr_assert_eq(mps_json_get(v, "connections")->n, 1);
	mps_json_free(v);
}

/* More readers at once than the engine answers at once: the rest wait in
 * the backlog and are taken as answers finish. */
Test(statsock, a_crowd_is_answered_in_turn)
{
	enum { N = 11 };
	static char bufs[N][8192];
	size_t lens[N];
	int fds[N];

	engine(true);
	for (int i = 0; i < N; i++) {
		fds[i] = stats_connect(getpid());
		cr_assert_geq(fds[i], 0);
	}
	run_until_answered(fds, bufs, lens, N);
	for (int i = 0; i < N; i++)
		cr_assert(strstr(bufs[i], "\"connections\": []"), "reader %d: %s", i, bufs[i]);
}

Test(statsock, stop_and_open_again)
{
	char buf[1][8192];
	size_t len;
	int fd;

	engine(true);
	mps_statsock_stop(eng);
	for (int i = 0; i < 5; i++)
		mps_loop_run_once(eng->loop, 10);
	cr_assert_lt(stats_connect(getpid()), 0, "still listening after stop");
	cr_assert_eq(errno, ECONNREFUSED);
	cr_assert_eq(mps_statsock_open(eng), 0);
	fd = stats_connect(getpid());
	cr_assert_geq(fd, 0);
	run_until_answered(&fd, buf, &len, 1);
	cr_assert(strstr(buf[0], "\"mpshim_stats\": 1"));
}

/* Abstract sockets have no permissions: the engine checks who asks. */
Test(statsock, another_user_is_refused)
{
	pid_t child;
	int status = -1;

	if (geteuid() != 0)
		cr_skip_test("needs root to become another user");
	engine(true);
	add_meta(2);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		char buf[8192];
		size_t len = 0;
		ssize_t r;
		struct pollfd p;
		int fd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(10);
		fd = stats_connect(getppid());
		if (fd < 0)
			_exit(11);
		p.fd = fd;
		p.events = POLLIN;
		while (poll(&p, 1, 5000) > 0 &&
		       (r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
			len += (size_t)r;
		buf[len] = '\0';
		if (!strstr(buf, "\"error\": \"EACCES\""))
			_exit(12);
		_exit(strstr(buf, "connections") ? 13 : 0);
	}
	for (int round = 0; round < 600; round++) {
		mps_loop_run_once(eng->loop, 10);
		if (waitpid(child, &status, WNOHANG) == child)
			break;
	}
	cr_assert(WIFEXITED(status), "reader did not finish");
	cr_assert_eq(WEXITSTATUS(status), 0,
		     "10-11: setup, 12: no refusal, 13: connections leaked to another user");
}

/*
 * A forked child keeps copies of the engine's sockets but never runs the
 * engine.  After mps_engine_atfork_child they are closed in the child, so
 * when the parent exits its name goes with it although the child lives.
 */
Test(statsock, name_dies_with_its_process_not_its_children)
{
	int ready[2], fd;
	pid_t parent, grandchild = 0;

	cr_assert_eq(pipe(ready), 0);
	parent = fork();
	cr_assert_geq(parent, 0);
	if (parent == 0) {
		int gready[2];
		pid_t g;
		char c;

		engine(true);
		if (pipe(gready))
			_exit(1);
		g = fork();
		if (g == 0) {
			mps_engine_atfork_child(eng);
			if (write(gready[1], "x", 1) != 1)
				_exit(1);
			sleep(10);
			_exit(0);
		}
		/* once the grandchild has closed its copies, tell the test
		 * who it is, then leave */
		if (g < 0 || read(gready[0], &c, 1) != 1 ||
		    write(ready[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(read(ready[0], &grandchild, sizeof(grandchild)), sizeof(grandchild),
		     "grandchild not ready");
	waitpid(parent, NULL, 0);
	fd = stats_connect(parent);
	kill(grandchild, SIGKILL);
	cr_assert_lt(fd, 0, "the exited parent's stats name is held by its child");
	cr_assert_eq(errno, ECONNREFUSED);
}

/* ---- the tool's pieces -------------------------------------------------- */

Test(tool, socket_names)
{
	struct sockaddr_un sun;
	socklen_t len = mps_stats_socket_addr(1234, &sun);

	cr_assert_eq(sun.sun_family, AF_UNIX);
	cr_assert_eq(sun.sun_path[0], '\0', "abstract");
	cr_assert_eq(len, offsetof(struct sockaddr_un, sun_path) + 1 + strlen("mpshim/stats/1234"));
	cr_assert(!memcmp(sun.sun_path + 1, "mpshim/stats/1234", 17));
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/1234"), 1234);
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/2147483647"), 2147483647);
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/2147483648"), -1);
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/99999999999999999999"), -1);
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/"), -1);
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/0"), -1);
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/012"), -1);
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/12a"), -1);
	cr_assert_eq(mps_stats_socket_pid("@mpshim/stats/-1"), -1);
	cr_assert_eq(mps_stats_socket_pid("mpshim/stats/12"), -1, "a file, not abstract");
	cr_assert_eq(mps_stats_socket_pid("@mpshim/statsX/12"), -1);
	cr_assert_eq(mps_stats_socket_pid(""), -1);
}

Test(tool, scan_finds_listening_stats_sockets_once)
{
	static const char text[] =
		"Num       RefCount Protocol Flags    Type St Inode Path\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1001 @mpshim/stats/300\n"
		/* a reader's accepted connection carries the same name */
		"0000000000000000: 00000003 00000000 00000000 0001 03 1002 @mpshim/stats/300\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1003 @mpshim/stats/20\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1004 /run/other.sock\n"
		/* a datagram socket with the name is not ours */
		"0000000000000000: 00000002 00000000 00000000 0002 01 1005 @mpshim/stats/7\n"
		"0000000000000000: 00000003 00000000 00000000 0001 03 1006\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1007 @mpshim/stats/20\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1008 @mpshim/stats/x1\n"
		"0000000000000000: 00000002 00000000 00010000 0005 01 1009 @mpshim/stats/9\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1010 @mpshim/stats/4000\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	pid_t pids[8];
	size_t n;

	cr_assert_not_null(f);
	n = mps_stats_cmd_scan(f, pids, 8);
	fclose(f);
	cr_assert_eq(n, 3);
	cr_assert_eq(pids[0], 20);
	cr_assert_eq(pids[1], 300);
	cr_assert_eq(pids[2], 4000);
}

static void assert_bytes(uint64_t n, const char *want)
{
	char buf[16];

	mps_stats_cmd_bytes(n, buf, sizeof(buf));
	cr_assert_str_eq(buf, want, "%llu", (unsigned long long)n);
}

static void assert_duration(uint64_t ms, const char *want)
{
	char buf[16];

	mps_stats_cmd_duration(ms, buf, sizeof(buf));
	cr_assert_str_eq(buf, want, "%llu ms", (unsigned long long)ms);
}

static void assert_rtt(uint64_t us, const char *want)
{
	char buf[16];

	mps_stats_cmd_rtt(us, buf, sizeof(buf));
	cr_assert_str_eq(buf, want, "%llu us", (unsigned long long)us);
}

Test(tool, column_texts)
{
	assert_bytes(0, "0B");
	assert_bytes(1023, "1023B");
	assert_bytes(1024, "1.0K");
	assert_bytes(1536, "1.5K");
	assert_bytes(1048575, "1.0M");
	assert_bytes(43200000, "41.2M");
	assert_bytes(5ull << 40, "5.0T");
	assert_bytes(UINT64_MAX, "16.0E");
	assert_duration(0, "0ms");
	assert_duration(999, "999ms");
	assert_duration(12345, "12.3s");
	assert_duration(59949, "59.9s");
	assert_duration(59950, "1m00s");
	assert_duration(245000, "4m05s");
	assert_duration(3599499, "59m59s");
	assert_duration(3599500, "1h00m");
	assert_duration(7980000, "2h13m");
	assert_rtt(0, "-");
	assert_rtt(50, "0.05ms");
	assert_rtt(9994, "9.99ms");
	assert_rtt(9995, "10.0ms");
	assert_rtt(12345, "12.3ms");
	assert_rtt(999949, "999.9ms");
	assert_rtt(999950, "1.00s");
}

Test(tool, table_of_a_snapshot)
{
	static const char snap[] =
		"{\"mpshim_stats\": 1, \"pid\": 4242, \"comm\": \"curl\", \"uid\": 1000, "
		"\"loop\": \"uring\", \"uptime_ms\": 3200, \"connections_total\": 2, "
		"\"fallbacks\": 1, \"connections\": ["
		"{\"role\": \"client\", \"peer\": \"192.0.2.1:443\", \"fallback\": null, "
		"\"duration_ms\": 3100, \"bytes_sent\": 83, \"bytes_recv\": 43200000, "
		"\"reinjected_bytes\": 2048, \"error\": 0, \"id\": 1, \"state\": \"established\", "
		"\"scheduler\": \"ecf\", \"path_manager\": \"fullmesh\", \"subflows\": ["
		"{\"local\": \"10.0.0.1:40000\", \"remote\": \"192.0.2.1:443\", \"bytes_sent\": 83, "
		"\"bytes_recv\": 40000000, \"reinjected_bytes\": 0, \"srtt_us\": 12345, \"end\": \"\", "
		"\"addr_id\": 0, \"state\": \"active\", \"backup\": false},"
		"{\"local\": \"10.0.1.1:40001\", \"remote\": \"192.0.2.1:443\", \"bytes_sent\": 0, "
		"\"bytes_recv\": 3200000, \"reinjected_bytes\": 2048, \"srtt_us\": 0, "
		"\"end\": \"interface down\", \"addr_id\": 1, \"state\": \"closed\", \"backup\": false},"
		"{\"local\": \"10.0.2.1:40002\", \"remote\": \"192.0.2.1:443\", \"bytes_sent\": 0, "
		"\"bytes_recv\": 0, \"reinjected_bytes\": 0, \"srtt_us\": 40000, \"end\": \"\", "
		"\"addr_id\": 2, \"state\": \"active\", \"backup\": true}]},"
		"{\"role\": \"client\", \"peer\": \"198.51.100.7:80\", \"fallback\": \"no HELLO_ACK\", "
		"\"bytes_sent\": 10, \"bytes_recv\": 20, \"reinjected_bytes\": 0, \"state\": \"plain\", "
		"\"subflows\": [{\"local\": \"10.0.0.1:40100\", \"remote\": \"198.51.100.7:80\", "
		"\"bytes_sent\": 10, \"bytes_recv\": 20}]}"
		"], \"truncated\": true}\n";
	struct mps_json *v = parse(snap, sizeof(snap) - 1);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	mps_stats_cmd_table(f, v);
	fclose(f);
	cr_assert(strstr(out, "PID 4242 curl: uid 1000, loop uring, up 3.2s, 2 connections open "
			 "(2 since start, 1 fell back to TCP)\n"), "%s", out);
	cr_assert(strstr(out, "     ID  ROLE    STATE        PEER                       AGE"
			 "     SENT     RECV    REINJ  SCHED\n"), "%s", out);
	cr_assert(strstr(out, "      1  client  established  192.0.2.1:443             3.1s"
			 "      83B    41.2M     2.0K  ecf\n"), "%s", out);
	cr_assert(strstr(out, "      SUBFLOW  STATE      LOCAL                  REMOTE"
			 "                     SRTT     SENT     RECV    REINJ\n"), "%s", out);
	cr_assert(strstr(out, "            0  active     10.0.0.1:40000         192.0.2.1:443"
			 "            12.3ms      83B    38.1M       0B\n"), "%s", out);
	/* a failed subflow says why; an active backup says it is one */
	cr_assert(strstr(out, "            1  closed     10.0.1.1:40001         192.0.2.1:443"
			 "                 -       0B     3.1M     2.0K  (interface down)\n"),
		  "%s", out);
	cr_assert(strstr(out, "            2  backup     10.0.2.1:40002         192.0.2.1:443"
			 "            40.0ms       0B       0B       0B\n"), "%s", out);
	cr_assert(strstr(out, "      -  client  plain        198.51.100.7:80              -"
			 "      10B      20B       0B  -\n"), "%s", out);
	cr_assert(strstr(out, "         plain TCP: no HELLO_ACK\n"), "%s", out);
	cr_assert(strstr(out, "            0  plain      10.0.0.1:40100         198.51.100.7:80"),
		  "%s", out);
	cr_assert(strstr(out, "list truncated"), "%s", out);
	free(out);
	mps_json_free(v);
}
