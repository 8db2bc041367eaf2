/*
 * stats_cmd.c - `mpshim stats` (see stats_cmd.h).
 *
 * The protocol is: connect to @mpshim/stats/PID, write nothing, read one
 * JSON document until the engine closes.  No root is needed: the sockets
 * are found in /proc/net/unix, which lists the abstract names of the
 * whole network namespace, and each engine answers its own user and root.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "json.h"
#include "stats.h"
#include "stats_cmd.h"

#define MAX_PROCS	4096		/* processes asked in one run */
#define BATCH		256		/* asked at once: descriptors are limited */
#define MAX_ANSWER	(64u << 20)	/* engines send at most 8 MiB */
#define SO_ACCEPTCON_FLAG 0x10000	/* __SO_ACCEPTCON: a listening socket */

struct query {
	pid_t pid;
	int fd;
	char *buf;
	size_t len, cap;
	bool done;
	char why[200];			/* empty when the answer is good */
	struct mps_json *snap;
};

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

size_t mps_stats_cmd_scan(FILE *f, pid_t *pids, size_t max)
{
	char line[512];
	size_t n = 0, u = 0;

	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long flags, inode;
		unsigned type, st;
		int pos = -1;
		pid_t pid;

		/* Num: RefCount Protocol Flags Type St Inode Path; the header
		 * line and unnamed sockets do not match */
		if (sscanf(line, "%*x: %*x %*x %lx %x %x %lu %n", &flags, &type, &st,
			   &inode, &pos) != 4 || pos < 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		/* accepted connections carry the listener's name too */
		if (!(flags & SO_ACCEPTCON_FLAG) || type != SOCK_STREAM)
			continue;
		pid = mps_stats_socket_pid(line + pos);
		if (pid > 0)
			pids[n++] = pid;
	}
	qsort(pids, n, sizeof(*pids), cmp_pid);
	for (size_t i = 0; i < n; i++)
		if (!u || pids[u - 1] != pids[i])
			pids[u++] = pids[i];
	return u;
}

/* ---- column texts ------------------------------------------------------ */

void mps_stats_cmd_bytes(uint64_t n, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	/* 1023.96K would print as 1024.0K: say 1.0M instead */
	if (v >= 1023.95 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", v, units[u]);
}

void mps_stats_cmd_duration(uint64_t ms, char *buf, size_t len)
{
	/* rounded, so 59.96 s is 1m00s and not 0m59s next to a 59.9s */
	uint64_t s = (ms + 500) / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (ms < 59950)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60));
}

void mps_stats_cmd_rtt(uint64_t us, char *buf, size_t len)
{
	if (!us)
		snprintf(buf, len, "-");
	else if (us < 9995)
		snprintf(buf, len, "%.2fms", (double)us / 1000);
	else if (us < 999950)
		snprintf(buf, len, "%.1fms", (double)us / 1000);
	else
		snprintf(buf, len, "%.2fs", (double)us / 1000000);
}

/* ---- the table --------------------------------------------------------- */

static const char *str_or(const struct mps_json *v, const char *name, const char *def)
{
	const char *s = mps_json_str(v, name);

	return s && *s ? s : def;
}

/* conn_state stands in for a plain relay's one connection, which has
 * no state of its own */
static void table_subflow(FILE *out, const struct mps_json *sf, uint64_t id,
			  const char *conn_state)
{
	char srtt[16], sent[16], recv[16], reinj[16], idtxt[24];
	const char *state = str_or(sf, "state", conn_state);
	const char *end = mps_json_str(sf, "end");

	/* an active backup carries data only when no regular one can */
	if (!strcmp(state, "active") && mps_json_bool(sf, "backup", false))
		state = "backup";
	if (mps_json_get(sf, "addr_id"))
		snprintf(idtxt, sizeof(idtxt), "%llu",
			 (unsigned long long)mps_json_u64(sf, "addr_id", 0));
	else
		snprintf(idtxt, sizeof(idtxt), "%llu", (unsigned long long)id);
	mps_stats_cmd_rtt(mps_json_u64(sf, "srtt_us", 0), srtt, sizeof(srtt));
	mps_stats_cmd_bytes(mps_json_u64(sf, "bytes_sent", 0), sent, sizeof(sent));
	mps_stats_cmd_bytes(mps_json_u64(sf, "bytes_recv", 0), recv, sizeof(recv));
	mps_stats_cmd_bytes(mps_json_u64(sf, "reinjected_bytes", 0), reinj, sizeof(reinj));
	fprintf(out, "      %7s  %-10s %-21s  %-21s  %8s  %7s  %7s  %7s", idtxt, state,
		str_or(sf, "local", "-"), str_or(sf, "remote", "-"), srtt, sent,
		recv, reinj);
	if (end && *end)
		fprintf(out, "  (%s)", end);
	fputc('\n', out);
}

static void table_connection(FILE *out, const struct mps_json *c)
{
	char age[16], sent[16], recv[16], reinj[16], id[24];
	const struct mps_json *sfs = mps_json_get(c, "subflows");
	const char *fallback = mps_json_str(c, "fallback");
	uint64_t i = 0;

	if (mps_json_get(c, "id"))
		snprintf(id, sizeof(id), "%llu",
			 (unsigned long long)mps_json_u64(c, "id", 0));
	else
		snprintf(id, sizeof(id), "-");
	if (mps_json_get(c, "duration_ms"))
		mps_stats_cmd_duration(mps_json_u64(c, "duration_ms", 0), age, sizeof(age));
	else
		snprintf(age, sizeof(age), "-");
	mps_stats_cmd_bytes(mps_json_u64(c, "bytes_sent", 0), sent, sizeof(sent));
	mps_stats_cmd_bytes(mps_json_u64(c, "bytes_recv", 0), recv, sizeof(recv));
	mps_stats_cmd_bytes(mps_json_u64(c, "reinjected_bytes", 0), reinj, sizeof(reinj));
	fprintf(out, "  %5s  %-6s  %-11s  %-21s  %7s  %7s  %7s  %7s  %s\n", id,
		str_or(c, "role", "-"), str_or(c, "state", "-"), str_or(c, "peer", "-"),
		age, sent, recv, reinj, fallback ? "-" : str_or(c, "scheduler", "-"));
	if (fallback)
		fprintf(out, "         plain TCP: %s\n", fallback);
	if (!sfs || sfs->type != MPS_JSON_ARRAY || !sfs->n)
		return;
	fprintf(out, "      %7s  %-10s %-21s  %-21s  %8s  %7s  %7s  %7s\n", "SUBFLOW",
		"STATE", "LOCAL", "REMOTE", "SRTT", "SENT", "RECV", "REINJ");
	for (const struct mps_json *sf = sfs->child; sf; sf = sf->next, i++)
		table_subflow(out, sf, i, str_or(c, "state", "-"));
}

void mps_stats_cmd_table(FILE *out, const struct mps_json *snap)
{
	const struct mps_json *conns = mps_json_get(snap, "connections");
	char up[16];
	size_t n = conns && conns->type == MPS_JSON_ARRAY ? conns->n : 0;

	mps_stats_cmd_duration(mps_json_u64(snap, "uptime_ms", 0), up, sizeof(up));
	fprintf(out, "PID %llu %s: uid %llu, loop %s, up %s, %zu connection%s open "
		"(%llu since start, %llu fell back to TCP)\n",
		(unsigned long long)mps_json_u64(snap, "pid", 0), str_or(snap, "comm", "?"),
		(unsigned long long)mps_json_u64(snap, "uid", 0), str_or(snap, "loop", "?"),
		up, n, n == 1 ? "" : "s",
		(unsigned long long)mps_json_u64(snap, "connections_total", 0),
		(unsigned long long)mps_json_u64(snap, "fallbacks", 0));
	if (n) {
		fprintf(out, "  %5s  %-6s  %-11s  %-21s  %7s  %7s  %7s  %7s  %s\n", "ID",
			"ROLE", "STATE", "PEER", "AGE", "SENT", "RECV", "REINJ", "SCHED");
		for (const struct mps_json *c = conns->child; c; c = c->next)
			table_connection(out, c);
	}
	if (mps_json_bool(snap, "truncated", false))
		fprintf(out, "  (more connections than one answer holds: list truncated)\n");
}

/* ---- asking the engines ------------------------------------------------ */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void query_fail(struct query *q, const char *why)
{
	snprintf(q->why, sizeof(q->why), "%s", why);
	q->done = true;
}

static void query_connect(struct query *q)
{
	struct sockaddr_un sun;
	socklen_t len = mps_stats_socket_addr(q->pid, &sun);

	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		query_fail(q, strerror(errno));
		return;
	}
	if (!connect(q->fd, (struct sockaddr *)&sun, len))
		return;
	if (errno == ECONNREFUSED || errno == ENOENT)
		query_fail(q, "no stats socket (not running under mpshim, no multipath "
			   "connection yet, or stats_socket is off)");
	else if (errno == EAGAIN)
		query_fail(q, "busy: too many readers waiting (is the process stopped?)");
	else
		query_fail(q, strerror(errno));
}

/* Whatever is there to read; done at the end of the answer. */
static void query_read(struct query *q)
{
	for (;;) {
		ssize_t r;

		if (q->len == q->cap) {
			size_t ncap = q->cap ? q->cap * 2 : 16384;
			char *nb;

			if (ncap > MAX_ANSWER) {
				query_fail(q, "answer too large");
				return;
			}
			nb = realloc(q->buf, ncap);
			if (!nb) {
				query_fail(q, "out of memory");
				return;
			}
			q->buf = nb;
			q->cap = ncap;
		}
		r = recv(q->fd, q->buf + q->len, q->cap - q->len, 0);
		if (r > 0) {
			q->len += (size_t)r;
			continue;
		}
		if (r == 0)
			q->done = true;
		else if (errno != EAGAIN && errno != EINTR)
			query_fail(q, strerror(errno));
		return;
	}
}

/* Ask n processes at once until deadline; their sockets are closed
 * when it returns. */
static void query_batch(struct query *qs, size_t n, uint64_t deadline,
			unsigned timeout_ms)
{
	struct pollfd *pfd = calloc(n ? n : 1, sizeof(*pfd));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));

	if (!pfd || !idx) {
		for (size_t i = 0; i < n; i++)
			if (!qs[i].done)
				query_fail(&qs[i], "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		query_connect(&qs[i]);
	for (;;) {
		uint64_t now = now_ms();
		size_t k = 0;
		int rc;

		for (size_t i = 0; i < n; i++) {
			if (qs[i].done)
				continue;
			pfd[k].fd = qs[i].fd;
			pfd[k].events = POLLIN;
			pfd[k].revents = 0;
			idx[k++] = i;
		}
		if (!k)
			break;
		if (now >= deadline) {
			char why[80];

			snprintf(why, sizeof(why), "no answer within %u ms (process stopped "
				 "or busy?)", timeout_ms);
			for (size_t j = 0; j < k; j++)
				query_fail(&qs[idx[j]], why);
			break;
		}
		rc = poll(pfd, k, (int)(deadline - now));
		if (rc < 0 && errno != EINTR) {
			for (size_t j = 0; j < k; j++)
				query_fail(&qs[idx[j]], strerror(errno));
			break;
		}
		for (size_t j = 0; rc > 0 && j < k; j++)
			if (pfd[j].revents)
				query_read(&qs[idx[j]]);
	}
out:
	for (size_t i = 0; i < n; i++) {
		if (qs[i].fd >= 0)
			close(qs[i].fd);
		qs[i].fd = -1;
	}
	free(pfd);
	free(idx);
}

/* Every process, with one deadline for all of them. */
static void query_all(struct query *qs, size_t n, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;

	for (size_t i = 0; i < n; i += BATCH)
		query_batch(qs + i, n - i < BATCH ? n - i : BATCH, deadline, timeout_ms);
}

/* Turn a complete answer into a snapshot, or say why it is none. */
static void query_check(struct query *q)
{
	char err[128], why[200];
	const char *e;

	if (q->why[0])
		return;
	if (!q->len) {
		query_fail(q, "closed without an answer (process exiting?)");
		return;
	}
	if (mps_json_parse(q->buf, q->len, &q->snap, err, sizeof(err))) {
		snprintf(why, sizeof(why), "answer is not JSON (%s)", err);
		query_fail(q, why);
		return;
	}
	if (!mps_json_get(q->snap, "mpshim_stats")) {
		query_fail(q, "answer is not an mpshim snapshot");
		return;
	}
	e = mps_json_str(q->snap, "error");
	if (e && !strcmp(e, "EACCES"))
		query_fail(q, "permission denied: the process belongs to another user "
			   "(ask as that user or as root)");
	else if (e)
		query_fail(q, e);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mpshim stats [--json] [--timeout MS] [PID...]\n"
		"\n"
		"Live multipath connections and subflows of running programs under\n"
		"mpshim and of mpshim-proxyd (all that answer, or the PIDs given).\n"
		"\n"
		"  -j, --json          one JSON object per process and line\n"
		"  -t, --timeout MS    give up on those not answered after MS ms (default %d)\n"
		"  -h, --help          this text\n", MPS_STATS_CMD_TIMEOUT_MS);
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* The pids to ask: from the command line, or every stats socket. */
static size_t pids_wanted(int argc, char **argv, pid_t *pids, bool *named)
{
	size_t n = 0;
	FILE *f;

	*named = optind < argc;
	if (*named) {
		for (int i = optind; i < argc && n < MAX_PROCS; i++) {
			unsigned long v;

			if (!parse_uint(argv[i], 0x7fffffff, &v) || !v) {
				fprintf(stderr, "mpshim: stats: '%s' is not a process ID\n",
					argv[i]);
				return (size_t)-1;
			}
			pids[n++] = (pid_t)v;
		}
		return n;
	}
	f = fopen("/proc/net/unix", "re");
	if (!f) {
		fprintf(stderr, "mpshim: stats: /proc/net/unix: %s\n", strerror(errno));
		return (size_t)-1;
	}
	n = mps_stats_cmd_scan(f, pids, MAX_PROCS);
	fclose(f);
	return n;
}

int mps_stats_cmd_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long timeout = MPS_STATS_CMD_TIMEOUT_MS;
	bool json = false, named, first = true;
	pid_t *pids = calloc(MAX_PROCS, sizeof(*pids));
	struct query *qs = NULL;
	size_t n, answered = 0, failed = 0;
	int c, status = 1;

	if (!pids)
		return 1;
	while ((c = getopt_long(argc, argv, "+jt:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 't':
			if (!parse_uint(optarg, 600000, &timeout) || !timeout) {
				fprintf(stderr, "mpshim: stats: --timeout takes 1..600000 ms\n");
				status = 2;
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			status = 0;
			goto out;
		default:
			usage(stderr);
			status = 2;
			goto out;
		}
	}
	n = pids_wanted(argc, argv, pids, &named);
	if (n == (size_t)-1) {
		status = 2;
		goto out;
	}
	if (!n) {
		fprintf(stderr, "mpshim: stats: no program under mpshim found (an engine "
			"starts with a program's first multipath connection)\n");
		goto out;
	}
	qs = calloc(n, sizeof(*qs));
	if (!qs)
		goto out;
	for (size_t i = 0; i < n; i++) {
		qs[i].pid = pids[i];
		qs[i].fd = -1;
	}
	query_all(qs, n, (unsigned)timeout);
	for (size_t i = 0; i < n; i++) {
		struct query *q = &qs[i];

		query_check(q);
		if (q->why[0]) {
			fprintf(stderr, "mpshim: stats: pid %ld: %s\n", (long)q->pid, q->why);
			failed++;
			continue;
		}
		answered++;
		if (json) {
			/* the engine's own line, checked above, passed on as is */
			while (q->len && (q->buf[q->len - 1] == '\n' || q->buf[q->len - 1] == ' '))
				q->len--;
			fwrite(q->buf, 1, q->len, stdout);
			fputc('\n', stdout);
		} else {
			if (!first)
				fputc('\n', stdout);
			mps_stats_cmd_table(stdout, q->snap);
		}
		first = false;
	}
	/* asked by name, every one must answer; found by scanning, others'
	 * processes and those that just exited are only reported */
	status = answered && (!named || !failed) ? 0 : 1;
	if (!answered && !named)
		fprintf(stderr, "mpshim: stats: no process answered\n");
out:
	for (size_t i = 0; qs && i < n; i++) {
		free(qs[i].buf);
		mps_json_free(qs[i].snap);
	}
	free(qs);
	free(pids);
	if (fflush(stdout) && status == 0)
		status = 1;
	return status;
}
