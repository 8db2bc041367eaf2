/*
 * mps-delayline.c - user-space delay line of the test bed.
 *
 * Owns: forwarding IP packets between the two TUN devices of every emulated
 * path, applying per direction a one-way delay, jitter, random loss drawn
 * from a fixed seed, and a queue limit; re-reading those parameters on
 * SIGHUP; reporting counters and release lateness to a status file; exiting
 * when its network namespace is deleted.  Rate is not here: tbf in the
 * router shapes each path (kernel qdiscs pace far better than we could).
 *
 * One thread and one epoll loop serve every path: the machine has two cores
 * and the endpoints of the traffic need them more than we do.
 *
 * Config file (written by mps-testbed, re-read on SIGHUP):
 *   gen N                     generation, echoed to the status file once applied
 *   path I TUN_A TUN_B        path I (1..4): A faces the client, B the server
 *   up I key=val ...          A -> B direction of path I
 *   down I key=val ...        B -> A direction
 * keys: delay=10ms jitter=1ms (uniform +-) loss=0.5% limit=PACKETS
 *       seed=N reorder=0|1.  Durations take ns/us/ms/s; loss takes %.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MPS_DL_MAX_PATHS	4
/* The script keeps every MTU at 1500; anything longer is dropped. */
#define MPS_DL_PKT_MAX		2048
#define MPS_DL_READ_BATCH	64
#define MPS_DL_FREE_CAP		4096
#define MPS_DL_LATE_BUCKET_NS	10000u	/* 10 us per histogram bucket */
#define MPS_DL_LATE_BUCKETS	200	/* last bucket holds >= 2 ms */
#define MPS_DL_WATCH_NS		1000000000ull
#define MPS_DL_DEFAULT_LIMIT	10000

enum { MPS_DL_UP = 0, MPS_DL_DOWN = 1 };
static const char *const mps_dl_dir_name[2] = { "up", "down" };

struct mps_dl_params {
	uint64_t delay_ns;
	uint64_t jitter_ns;
	uint64_t loss_threshold;	/* lose when a 64-bit draw is below */
	bool loss_all;
	double loss;			/* as given, for the status file */
	uint32_t limit;
	uint64_t seed;
	bool reorder;
};

struct mps_dl_pkt {
	uint64_t due_ns;
	uint64_t seq;
	uint32_t len;
	struct mps_dl_pkt *next_free;
	unsigned char data[MPS_DL_PKT_MAX];
};

struct mps_dl_stats {
	uint64_t rx, tx, lost, overlimit, oversize, write_err;
	uint64_t late_max_ns;
	uint64_t late_hist[MPS_DL_LATE_BUCKETS];
};

struct mps_dl_dir {
	int in_fd, out_fd;
	struct mps_dl_params p;
	uint64_t loss_rng, jitter_rng;
	struct mps_dl_pkt **heap;	/* min-heap on (due_ns, seq) */
	uint32_t n, cap;
	uint64_t seq;
	uint64_t last_due_ns;
	struct mps_dl_stats st;
};

struct mps_dl_path {
	bool present;
	char tun[2][IFNAMSIZ];
	int fd[2];
	struct mps_dl_dir dir[2];
};

struct mps_dl_conf {
	uint64_t gen;
	struct {
		bool present;
		char tun[2][IFNAMSIZ];
		bool has_dir[2];
		struct mps_dl_params p[2];
	} path[MPS_DL_MAX_PATHS + 1];
};

struct mps_dl {
	const char *conf_file;
	const char *netns_path;
	const char *pid_file;
	const char *status_file;
	uint64_t spin_ns;
	int rt_prio;
	uint64_t gen;
	dev_t ns_dev;
	ino_t ns_ino;
	int epfd, sigfd;
	struct mps_dl_path path[MPS_DL_MAX_PATHS + 1];
	struct mps_dl_pkt *free_list;
	unsigned int nfree;
};

static uint64_t mps_dl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: tiny, seedable with any value, good enough for loss draws. */
static uint64_t mps_dl_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void mps_dl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mps_dl_log(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "mps-delayline[%d] %lld.%03ld: ", (int)getpid(),
		(long long)ts.tv_sec, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- config parsing ---------------------------------------------------- */

static int mps_dl_parse_duration(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	double mult;

	if (end == s || v < 0)
		return -EINVAL;
	if (!strcmp(end, "ns"))
		mult = 1;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "s"))
		mult = 1e9;
	else if (*end == '\0' && v == 0)
		mult = 0;
	else
		return -EINVAL;
	if (v * mult > 3600e9)
		return -ERANGE;
	*out = (uint64_t)(v * mult + 0.5);
	return 0;
}

static int mps_dl_parse_loss(const char *s, struct mps_dl_params *p)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0 || v > 100)
		return -EINVAL;
	if (strcmp(end, "%") && !(*end == '\0' && v == 0))
		return -EINVAL;
	p->loss = v;
	p->loss_all = v >= 100;
	/* 2^64 * v / 100, computed in long double so 99.99% does not overflow. */
	p->loss_threshold = p->loss_all ? UINT64_MAX :
		(uint64_t)((long double)v / 100.0L * 18446744073709551616.0L);
	return 0;
}

static int mps_dl_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (end == s || *end || errno || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int mps_dl_parse_kv(const char *kv, struct mps_dl_params *p)
{
	const char *eq = strchr(kv, '=');
	const char *val;
	size_t klen;
	uint64_t v;
	int rc;

	if (!eq)
		return -EINVAL;
	klen = (size_t)(eq - kv);
	val = eq + 1;
	if (klen == 5 && !strncmp(kv, "delay", 5))
		return mps_dl_parse_duration(val, &p->delay_ns);
	if (klen == 6 && !strncmp(kv, "jitter", 6))
		return mps_dl_parse_duration(val, &p->jitter_ns);
	if (klen == 4 && !strncmp(kv, "loss", 4))
		return mps_dl_parse_loss(val, p);
	if (klen == 5 && !strncmp(kv, "limit", 5)) {
		rc = mps_dl_parse_u64(val, 1000000, &v);
		if (rc || v == 0)
			return -EINVAL;
		p->limit = (uint32_t)v;
		return 0;
	}
	if (klen == 4 && !strncmp(kv, "seed", 4))
		return mps_dl_parse_u64(val, UINT64_MAX, &p->seed);
	if (klen == 7 && !strncmp(kv, "reorder", 7)) {
		rc = mps_dl_parse_u64(val, 1, &v);
		if (rc)
			return rc;
		p->reorder = v;
		return 0;
	}
	return -EINVAL;
}

static int mps_dl_parse_index(const char *s, int *out)
{
	uint64_t v;

	if (!s || mps_dl_parse_u64(s, MPS_DL_MAX_PATHS, &v) || v == 0)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int mps_dl_parse_line(struct mps_dl_conf *c, char *line, int lineno)
{
	char *save = NULL;
	char *word = strtok_r(line, " \t\r\n", &save);
	char *arg;
	int idx, d, rc;

	if (!word || word[0] == '#')
		return 0;
	if (!strcmp(word, "gen")) {
		arg = strtok_r(NULL, " \t\r\n", &save);
		if (!arg || mps_dl_parse_u64(arg, UINT64_MAX, &c->gen))
			goto bad;
		return 0;
	}
	if (!strcmp(word, "path")) {
		if (mps_dl_parse_index(strtok_r(NULL, " \t\r\n", &save), &idx))
			goto bad;
		for (int s = 0; s < 2; s++) {
			arg = strtok_r(NULL, " \t\r\n", &save);
			if (!arg || strlen(arg) >= IFNAMSIZ)
				goto bad;
			strcpy(c->path[idx].tun[s], arg);
		}
		c->path[idx].present = true;
		return 0;
	}
	if (!strcmp(word, "up") || !strcmp(word, "down")) {
		d = !strcmp(word, "up") ? MPS_DL_UP : MPS_DL_DOWN;
		if (mps_dl_parse_index(strtok_r(NULL, " \t\r\n", &save), &idx))
			goto bad;
		while ((arg = strtok_r(NULL, " \t\r\n", &save))) {
			rc = mps_dl_parse_kv(arg, &c->path[idx].p[d]);
			if (rc) {
				mps_dl_log("config line %d: bad parameter '%s'", lineno, arg);
				return -EINVAL;
			}
		}
		c->path[idx].has_dir[d] = true;
		return 0;
	}
bad:
	mps_dl_log("config line %d: cannot parse", lineno);
	return -EINVAL;
}

static int mps_dl_conf_read(const char *file, struct mps_dl_conf *c)
{
	char line[1024];
	int lineno = 0, rc = 0;
	FILE *f = fopen(file, "re");

	if (!f) {
		rc = -errno;
		mps_dl_log("cannot open config %s: %s", file, strerror(-rc));
		return rc;
	}
	memset(c, 0, sizeof(*c));
	for (int i = 1; i <= MPS_DL_MAX_PATHS; i++) {
		for (int d = 0; d < 2; d++) {
			c->path[i].p[d].limit = MPS_DL_DEFAULT_LIMIT;
			/* Distinct default seeds so the directions lose independently. */
			c->path[i].p[d].seed = (uint64_t)(i * 2 + d);
		}
	}
	while (fgets(line, sizeof(line), f)) {
		rc = mps_dl_parse_line(c, line, ++lineno);
		if (rc)
			break;
	}
	fclose(f);
	for (int i = 1; !rc && i <= MPS_DL_MAX_PATHS; i++) {
		if ((c->path[i].has_dir[0] || c->path[i].has_dir[1]) &&
		    !c->path[i].present) {
			mps_dl_log("config: parameters for path %d without a path line", i);
			rc = -EINVAL;
		}
	}
	return rc;
}

/* ---- packet memory and the per-direction heap -------------------------- */

static struct mps_dl_pkt *mps_dl_pkt_get(struct mps_dl *dl)
{
	struct mps_dl_pkt *pkt = dl->free_list;

	if (pkt) {
		dl->free_list = pkt->next_free;
		dl->nfree--;
		return pkt;
	}
	return malloc(sizeof(*pkt));
}

static void mps_dl_pkt_put(struct mps_dl *dl, struct mps_dl_pkt *pkt)
{
	/* Cap the cache so a burst at a high limit does not pin memory forever. */
	if (dl->nfree >= MPS_DL_FREE_CAP) {
		free(pkt);
		return;
	}
	pkt->next_free = dl->free_list;
	dl->free_list = pkt;
	dl->nfree++;
}

static bool mps_dl_before(const struct mps_dl_pkt *a, const struct mps_dl_pkt *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static int mps_dl_heap_reserve(struct mps_dl_dir *dir, uint32_t cap)
{
	struct mps_dl_pkt **h;

	if (cap <= dir->cap)
		return 0;
	h = realloc(dir->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	dir->heap = h;
	dir->cap = cap;
	return 0;
}

static void mps_dl_heap_push(struct mps_dl_dir *dir, struct mps_dl_pkt *pkt)
{
	uint32_t i = dir->n++;

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!mps_dl_before(pkt, dir->heap[parent]))
			break;
		dir->heap[i] = dir->heap[parent];
		i = parent;
	}
	dir->heap[i] = pkt;
}

static struct mps_dl_pkt *mps_dl_heap_pop(struct mps_dl_dir *dir)
{
	struct mps_dl_pkt *top = dir->heap[0];
	struct mps_dl_pkt *last = dir->heap[--dir->n];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= dir->n)
			break;
		if (c + 1 < dir->n && mps_dl_before(dir->heap[c + 1], dir->heap[c]))
			c++;
		if (!mps_dl_before(dir->heap[c], last))
			break;
		dir->heap[i] = dir->heap[c];
		i = c;
	}
	if (dir->n)
		dir->heap[i] = last;
	return top;
}

/* ---- applying parameters ----------------------------------------------- */

static void mps_dl_seed(struct mps_dl_dir *dir, uint64_t seed)
{
	/*
	 * Loss and jitter draw from separate streams so the loss pattern of a
	 * path depends only on its seed and packet count, not on jitter.
	 */
	dir->loss_rng = seed;
	dir->jitter_rng = seed ^ 0x6a09e667f3bcc908ull;
}

static int mps_dl_apply(struct mps_dl *dl, const struct mps_dl_conf *c, bool first)
{
	int rc;

	for (int i = 1; !first && i <= MPS_DL_MAX_PATHS; i++) {
		const struct mps_dl_path *path = &dl->path[i];

		/* TUN fds are opened once; a reload may only retune them. */
		if (c->path[i].present != path->present ||
		    (path->present && (strcmp(c->path[i].tun[0], path->tun[0]) ||
				       strcmp(c->path[i].tun[1], path->tun[1])))) {
			mps_dl_log("config: path %d changed its TUN devices; restart needed", i);
			return -EINVAL;
		}
	}
	for (int i = 1; i <= MPS_DL_MAX_PATHS; i++) {
		if (!c->path[i].present)
			continue;
		for (int d = 0; d < 2; d++) {
			struct mps_dl_dir *dir = &dl->path[i].dir[d];
			const struct mps_dl_params *p = &c->path[i].p[d];

			rc = mps_dl_heap_reserve(dir, p->limit);
			if (rc)
				return rc;
			if (first || p->seed != dir->p.seed)
				mps_dl_seed(dir, p->seed);
			dir->p = *p;
		}
	}
	dl->gen = c->gen;
	return 0;
}

static void mps_dl_late_pct(const struct mps_dl_stats *st, double pct,
			    unsigned int *out_us)
{
	uint64_t total = 0, acc = 0, want;

	for (int b = 0; b < MPS_DL_LATE_BUCKETS; b++)
		total += st->late_hist[b];
	*out_us = 0;
	if (!total)
		return;
	want = (uint64_t)(pct / 100.0 * (double)total + 0.5);
	if (want == 0)
		want = 1;
	for (int b = 0; b < MPS_DL_LATE_BUCKETS; b++) {
		acc += st->late_hist[b];
		if (acc >= want) {
			/* Upper edge of the bucket: never understate lateness. */
			*out_us = (unsigned int)((b + 1) * (MPS_DL_LATE_BUCKET_NS / 1000));
			return;
		}
	}
}

static int mps_dl_write_status(struct mps_dl *dl)
{
	char tmp[4096];
	FILE *f;
	int rc = 0;

	if (!dl->status_file)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", dl->status_file);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "gen %" PRIu64 "\n", dl->gen);
	for (int i = 1; i <= MPS_DL_MAX_PATHS; i++) {
		if (!dl->path[i].present)
			continue;
		for (int d = 0; d < 2; d++) {
			const struct mps_dl_dir *dir = &dl->path[i].dir[d];
			const struct mps_dl_stats *st = &dir->st;
			unsigned int p50, p99;

			mps_dl_late_pct(st, 50, &p50);
			mps_dl_late_pct(st, 99, &p99);
			fprintf(f, "%s %d delay_us=%" PRIu64 " jitter_us=%" PRIu64
				" loss=%g%% limit=%u seed=%" PRIu64 " reorder=%d"
				" rx=%" PRIu64 " tx=%" PRIu64 " lost=%" PRIu64
				" overlimit=%" PRIu64 " oversize=%" PRIu64
				" write_err=%" PRIu64 " queued=%u late_p50_us=%u"
				" late_p99_us=%u late_max_us=%" PRIu64 "\n",
				mps_dl_dir_name[d], i, dir->p.delay_ns / 1000,
				dir->p.jitter_ns / 1000, dir->p.loss, dir->p.limit,
				dir->p.seed, dir->p.reorder, st->rx, st->tx, st->lost,
				st->overlimit, st->oversize, st->write_err, dir->n,
				p50, p99, st->late_max_ns / 1000);
		}
	}
	if (fclose(f))
		rc = -errno;
	if (!rc && rename(tmp, dl->status_file))
		rc = -errno;
	return rc;
}

static void mps_dl_reload(struct mps_dl *dl)
{
	struct mps_dl_conf c;
	int rc = mps_dl_conf_read(dl->conf_file, &c);

	if (!rc)
		rc = mps_dl_apply(dl, &c, false);
	if (rc) {
		mps_dl_log("reload failed (%s); keeping generation %" PRIu64,
			   strerror(-rc), dl->gen);
		return;
	}
	mps_dl_log("applied generation %" PRIu64, dl->gen);
	mps_dl_write_status(dl);
}

/* ---- data path --------------------------------------------------------- */

static void mps_dl_receive(struct mps_dl *dl, struct mps_dl_dir *dir)
{
	for (int k = 0; k < MPS_DL_READ_BATCH; k++) {
		struct mps_dl_pkt *pkt = mps_dl_pkt_get(dl);
		const struct mps_dl_params *p = &dir->p;
		uint64_t now, due, draw;
		ssize_t len;

		if (!pkt)
			return;
		len = read(dir->in_fd, pkt->data, sizeof(pkt->data));
		if (len <= 0) {
			mps_dl_pkt_put(dl, pkt);
			return;
		}
		now = mps_dl_now_ns();
		dir->st.rx++;
		/* Draw for every packet, lost or not, to keep the pattern fixed. */
		draw = mps_dl_rng_next(&dir->loss_rng);
		if ((size_t)len >= sizeof(pkt->data)) {
			dir->st.oversize++;
			goto drop;
		}
		if (p->loss_all || draw < p->loss_threshold) {
			dir->st.lost++;
			goto drop;
		}
		if (dir->n >= p->limit || dir->n >= dir->cap) {
			dir->st.overlimit++;
			goto drop;
		}
		due = now + p->delay_ns;
		if (p->jitter_ns) {
			uint64_t span = 2 * p->jitter_ns + 1;
			uint64_t off = mps_dl_rng_next(&dir->jitter_rng) % span;

			/* Uniform in [-jitter, +jitter], never before arrival. */
			if (off < p->jitter_ns && p->jitter_ns - off > p->delay_ns)
				due = now;
			else
				due = due + off - p->jitter_ns;
		}
		/* Without reorder a packet never overtakes the one before it. */
		if (!p->reorder && due < dir->last_due_ns)
			due = dir->last_due_ns;
		if (due > dir->last_due_ns)
			dir->last_due_ns = due;
		pkt->due_ns = due;
		pkt->seq = dir->seq++;
		pkt->len = (uint32_t)len;
		mps_dl_heap_push(dir, pkt);
		continue;
drop:
		mps_dl_pkt_put(dl, pkt);
	}
}

/* Release every due packet of dir; return the next due time or 0. */
static uint64_t mps_dl_release(struct mps_dl *dl, struct mps_dl_dir *dir, uint64_t now)
{
	while (dir->n) {
		struct mps_dl_pkt *pkt = dir->heap[0];
		uint64_t late;
		unsigned int b;

		if (pkt->due_ns > now)
			return pkt->due_ns;
		mps_dl_heap_pop(dir);
		if (write(dir->out_fd, pkt->data, pkt->len) == (ssize_t)pkt->len)
			dir->st.tx++;
		else
			dir->st.write_err++;
		late = now - pkt->due_ns;
		b = (unsigned int)(late / MPS_DL_LATE_BUCKET_NS);
		dir->st.late_hist[b < MPS_DL_LATE_BUCKETS ? b : MPS_DL_LATE_BUCKETS - 1]++;
		if (late > dir->st.late_max_ns)
			dir->st.late_max_ns = late;
		mps_dl_pkt_put(dl, pkt);
		now = mps_dl_now_ns();
	}
	return 0;
}

/* ---- setup ------------------------------------------------------------- */

static int mps_dl_tun_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int mps_dl_enter_netns(struct mps_dl *dl)
{
	struct stat st;
	int fd, rc = 0;

	if (!dl->netns_path)
		return 0;
	fd = open(dl->netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0 || fstat(fd, &st) < 0)
		rc = -errno;
	close(fd);
	if (rc)
		return rc;
	dl->ns_dev = st.st_dev;
	dl->ns_ino = st.st_ino;
	return 0;
}

/* The namespace is gone (ip netns del, mps-testbed down) when its file is. */
static bool mps_dl_netns_alive(const struct mps_dl *dl)
{
	struct stat st;

	if (!dl->netns_path)
		return true;
	if (stat(dl->netns_path, &st) < 0)
		return false;
	return st.st_dev == dl->ns_dev && st.st_ino == dl->ns_ino;
}

static int mps_dl_epoll_add(struct mps_dl *dl, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(dl->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

#define MPS_DL_TAG_SIGNAL	UINT64_MAX
#define MPS_DL_TAG(i, side)	((uint64_t)(i) * 2 + (uint64_t)(side))

static int mps_dl_setup(struct mps_dl *dl)
{
	struct mps_dl_conf c;
	sigset_t mask;
	int rc;

	/* Our timers must fire when asked, not up to 50 us later. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (dl->rt_prio > 0) {
		struct sched_param sp = { .sched_priority = dl->rt_prio };

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			mps_dl_log("SCHED_FIFO %d refused (%s); running without",
				   dl->rt_prio, strerror(errno));
	}
	rc = mps_dl_conf_read(dl->conf_file, &c);
	if (rc)
		return rc;
	rc = mps_dl_enter_netns(dl);
	if (rc) {
		mps_dl_log("cannot enter netns %s: %s", dl->netns_path, strerror(-rc));
		return rc;
	}
	dl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dl->epfd < 0)
		return -errno;
	for (int i = 1; i <= MPS_DL_MAX_PATHS; i++) {
		struct mps_dl_path *path = &dl->path[i];

		if (!c.path[i].present)
			continue;
		path->present = true;
		for (int s = 0; s < 2; s++) {
			strcpy(path->tun[s], c.path[i].tun[s]);
			path->fd[s] = mps_dl_tun_open(path->tun[s]);
			if (path->fd[s] < 0) {
				rc = path->fd[s];
				mps_dl_log("cannot create TUN %s: %s", path->tun[s],
					   strerror(-rc));
				return rc;
			}
			rc = mps_dl_epoll_add(dl, path->fd[s], MPS_DL_TAG(i, s));
			if (rc)
				return rc;
		}
		path->dir[MPS_DL_UP].in_fd = path->fd[0];
		path->dir[MPS_DL_UP].out_fd = path->fd[1];
		path->dir[MPS_DL_DOWN].in_fd = path->fd[1];
		path->dir[MPS_DL_DOWN].out_fd = path->fd[0];
	}
	rc = mps_dl_apply(dl, &c, true);
	if (rc)
		return rc;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	dl->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (dl->sigfd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return mps_dl_epoll_add(dl, dl->sigfd, MPS_DL_TAG_SIGNAL);
}

static int mps_dl_write_pid(const struct mps_dl *dl)
{
	FILE *f;

	if (!dl->pid_file)
		return 0;
	f = fopen(dl->pid_file, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) ? -errno : 0;
}

/* ---- main loop --------------------------------------------------------- */

/* Returns 1 to keep running, 0 to stop. */
static int mps_dl_on_signal(struct mps_dl *dl)
{
	struct signalfd_siginfo si;

	while (read(dl->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			mps_dl_reload(dl);
			break;
		case SIGUSR1:
			mps_dl_write_status(dl);
			break;
		default:
			mps_dl_log("signal %u: exiting", si.ssi_signo);
			return 0;
		}
	}
	return 1;
}

static int mps_dl_run(struct mps_dl *dl)
{
	struct epoll_event ev[16];
	uint64_t next_watch = mps_dl_now_ns() + MPS_DL_WATCH_NS;

	for (;;) {
		uint64_t now = mps_dl_now_ns();
		uint64_t next = next_watch;
		struct timespec ts;
		int n;

		for (int i = 1; i <= MPS_DL_MAX_PATHS; i++) {
			if (!dl->path[i].present)
				continue;
			for (int d = 0; d < 2; d++) {
				uint64_t due = mps_dl_release(dl, &dl->path[i].dir[d], now);

				if (due && due < next)
					next = due;
			}
		}
		now = mps_dl_now_ns();
		if (now >= next_watch) {
			if (!mps_dl_netns_alive(dl)) {
				mps_dl_log("network namespace %s is gone: exiting",
					   dl->netns_path);
				return 0;
			}
			next_watch = now + MPS_DL_WATCH_NS;
			continue;
		}
		if (next <= now) {
			ts.tv_sec = 0;
			ts.tv_nsec = 0;
		} else {
			/*
			 * Sleep until spin_ns before the deadline, then poll with
			 * a zero timeout: the busy tail absorbs wake-up latency.
			 */
			uint64_t wait = next - now;

			wait = wait > dl->spin_ns ? wait - dl->spin_ns : 0;
			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
		}
		n = epoll_pwait2(dl->epfd, ev, 16, &ts, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			mps_dl_log("epoll_pwait2: %s", strerror(errno));
			return -errno;
		}
		for (int k = 0; k < n; k++) {
			uint64_t tag = ev[k].data.u64;

			if (tag == MPS_DL_TAG_SIGNAL) {
				if (!mps_dl_on_signal(dl))
					return 0;
				continue;
			}
			mps_dl_receive(dl, &dl->path[tag / 2].dir[tag % 2]);
		}
	}
}

static void mps_dl_usage(FILE *out)
{
	fprintf(out,
		"usage: mps-delayline -c CONFIG [-n NETNS_FILE] [-p PIDFILE]\n"
		"                     [-s STATUSFILE] [-S SPIN_US] [-R RTPRIO]\n"
		"  -c  config file (path/up/down lines), re-read on SIGHUP\n"
		"  -n  enter this network namespace (e.g. /run/netns/X) before\n"
		"      creating the TUNs; exit when it is deleted\n"
		"  -p  write our pid here once the TUN devices exist\n"
		"  -s  status file: generation and counters, written on load,\n"
		"      reload, SIGUSR1 and exit\n"
		"  -S  busy-poll this many microseconds before a release (default 0)\n"
		"  -R  run SCHED_FIFO at this priority (default: normal scheduling)\n");
}

int main(int argc, char **argv)
{
	struct mps_dl dl = { .epfd = -1, .sigfd = -1 };
	uint64_t v;
	int opt, rc;

	while ((opt = getopt(argc, argv, "c:n:p:s:S:R:h")) != -1) {
		switch (opt) {
		case 'c': dl.conf_file = optarg; break;
		case 'n': dl.netns_path = optarg; break;
		case 'p': dl.pid_file = optarg; break;
		case 's': dl.status_file = optarg; break;
		case 'S':
			if (mps_dl_parse_u64(optarg, 100000, &v)) {
				fprintf(stderr, "mps-delayline: -S takes 0..100000 us\n");
				return 2;
			}
			dl.spin_ns = v * 1000;
			break;
		case 'R':
			if (mps_dl_parse_u64(optarg, 99, &v)) {
				fprintf(stderr, "mps-delayline: -R takes 0..99\n");
				return 2;
			}
			dl.rt_prio = (int)v;
			break;
		case 'h':
			mps_dl_usage(stdout);
			return 0;
		default:
			mps_dl_usage(stderr);
			return 2;
		}
	}
	if (!dl.conf_file || optind != argc) {
		mps_dl_usage(stderr);
		return 2;
	}
	rc = mps_dl_setup(&dl);
	if (!rc)
		rc = mps_dl_write_pid(&dl);
	if (!rc) {
		mps_dl_log("running generation %" PRIu64, dl.gen);
		mps_dl_write_status(&dl);
		rc = mps_dl_run(&dl);
		mps_dl_write_status(&dl);
	}
	if (dl.pid_file)
		unlink(dl.pid_file);
	if (rc)
		mps_dl_log("failed: %s", strerror(-rc));
	return rc ? 1 : 0;
}
