/*
 * mps-prefork.c - a pre-fork server and its client, written for
 * tests/apps and run under the shim.
 *
 *   mps-prefork serve ADDR PORT WORKERS
 *       The parent listens, then forks WORKERS children that each block in
 *       accept() on the inherited listener and serve one connection at a
 *       time (Apache prefork, PostgreSQL, many classic daemons).  The
 *       parent only waits for them; SIGTERM ends it and its workers.
 *   mps-prefork fetch ADDR PORT CONNS BYTES SEED
 *       CONNS connections (blocking connect), each asking for BYTES bytes
 *       of a pattern; all are read at once with poll(2) and every byte is
 *       checked.  Prints which workers served, exits 0 when all arrived
 *       intact, 1 otherwise.
 *
 * Protocol: the client sends "GET BYTES SEED STREAM\n"; the worker
 * answers "worker PID\n" and waits for "go\n", which the client sends on
 * each of its connections once all of them have their worker; then the
 * bytes, and the worker closes.  So each worker holds one connection while
 * the others are accepted: with more workers than connections, every
 * connection of a client is served by a worker of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pattern.h"

#define MAX_WORKERS	16
#define MAX_CONNS	64
#define IO_CHUNK	65536
#define STALL_MS	60000

static int parse_addr(const char *addr, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -1;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- server ----------------------------------------------------------- */

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* One connection: read the request line, answer it. */
static int serve_one(int fd)
{
	static uint8_t buf[IO_CHUNK];
	char req[128];
	size_t got = 0;
	unsigned long long bytes;
	unsigned long seed;
	unsigned stream;
	struct pattern pat;
	int n;

	while (got < sizeof(req) - 1 && !memchr(req, '\n', got)) {
		ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	req[got] = '\0';
	if (sscanf(req, "GET %llu %lu %u", &bytes, &seed, &stream) != 3)
		return -1;
	n = snprintf((char *)buf, sizeof(buf), "worker %ld\n", (long)getpid());
	if (write_all(fd, buf, (size_t)n))
		return -1;
	/* hold this connection until the client has all of its workers */
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
	}
	pattern_init(&pat, seed, stream);
	while (bytes) {
		size_t chunk = bytes < IO_CHUNK ? (size_t)bytes : IO_CHUNK;

		pattern_fill(&pat, buf, chunk);
		if (write_all(fd, buf, chunk))
			return -1;
		bytes -= chunk;
	}
	return 0;
}

static void worker(int lfd)
{
	signal(SIGTERM, SIG_DFL);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("worker: accept");
			_exit(1);
		}
		if (serve_one(fd))
			fprintf(stderr, "worker %ld: a connection failed\n", (long)getpid());
		close(fd);
	}
}

static int serve(const char *addr, const char *port, int workers)
{
	struct sockaddr_in sin;
	struct sigaction sa;
	pid_t pids[MAX_WORKERS];
	int lfd, one = 1, alive = 0, status = 0;

	if (parse_addr(addr, port, &sin) || workers < 1 || workers > MAX_WORKERS) {
		fprintf(stderr, "server: bad address or worker count\n");
		return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 64)) {
		perror("server: listen");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < workers; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("server: fork");
			return 1;
		}
		if (pids[i] == 0)
			worker(lfd);
		alive++;
	}
	printf("listening on %s:%s with %d workers\n", addr, port, workers);
	fflush(stdout);
	/* the parent keeps the listener open and its process alive */
	while (alive && !stopping) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		alive--;
		fprintf(stderr, "server: worker %ld ended (status %d)\n", (long)pid, st);
		status = 1;
	}
	for (int i = 0; i < workers; i++)
		kill(pids[i], SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	return status;
}

/* ---- client ----------------------------------------------------------- */

struct fetch {
	int fd;
	char head[64];
	size_t head_len;
	bool head_done, done;
	long worker;
	struct pattern pat;
	unsigned long long rcvd;
};

/* 1 finished intact, 0 more to come, -1 failed */
static int fetch_read(struct fetch *f, unsigned idx, unsigned long long want)
{
	static uint8_t buf[IO_CHUNK];
	ssize_t n = read(f->fd, buf, sizeof(buf));
	size_t at = 0;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0) {
		if (!f->head_done || f->rcvd != want) {
			fprintf(stderr, "conn %u: end of file after %llu of %llu bytes\n", idx,
				f->rcvd, want);
			return -1;
		}
		return 1;
	}
	while (!f->head_done && at < (size_t)n) {
		char c = (char)buf[at++];

		if (f->head_len == sizeof(f->head) - 1)
			return -1;
		f->head[f->head_len++] = c;
		if (c == '\n') {
			f->head[f->head_len] = '\0';
			if (sscanf(f->head, "worker %ld", &f->worker) != 1)
				return -1;
			f->head_done = true;
		}
	}
	if (at < (size_t)n) {
		size_t len = (size_t)n - at, ok = pattern_check(&f->pat, buf + at, len);

		if (ok != len) {
			fprintf(stderr, "conn %u: byte %llu differs\n", idx, f->rcvd + ok);
			return -1;
		}
		f->rcvd += len;
		if (f->rcvd > want) {
			fprintf(stderr, "conn %u: more bytes than asked for\n", idx);
			return -1;
		}
	}
	return 0;
}

static int fetch(const char *addr, const char *port, int conns, unsigned long long bytes,
		 unsigned long seed)
{
	static struct fetch fs[MAX_CONNS];
	struct pollfd pfd[MAX_CONNS];
	struct sockaddr_in sin;
	long workers[MAX_CONNS];
	int left = conns, n_workers = 0, heads = 0;
	bool go = false;

	if (parse_addr(addr, port, &sin) || conns < 1 || conns > MAX_CONNS) {
		fprintf(stderr, "client: bad arguments\n");
		return 2;
	}
	for (int i = 0; i < conns; i++) {
		char req[96];
		int len;

		fs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fs[i].fd < 0 || connect(fs[i].fd, (struct sockaddr *)&sin, sizeof(sin))) {
			perror("client: connect");
			return 1;
		}
		len = snprintf(req, sizeof(req), "GET %llu %lu %d\n", bytes, seed, i);
		if (write_all(fs[i].fd, (uint8_t *)req, (size_t)len)) {
			perror("client: send");
			return 1;
		}
		fcntl(fs[i].fd, F_SETFL, fcntl(fs[i].fd, F_GETFL) | O_NONBLOCK);
		pattern_init(&fs[i].pat, seed, (unsigned)i);
	}
	printf("%d connections open\n", conns);
	while (left) {
		int n = 0, ready;

		for (int i = 0; i < conns; i++)
			if (!fs[i].done)
				pfd[n++] = (struct pollfd){ .fd = fs[i].fd, .events = POLLIN };
		ready = poll(pfd, (nfds_t)n, STALL_MS);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			fprintf(stderr, "client: nothing arrived for %d ms\n", STALL_MS);
			return 1;
		}
		for (int i = 0, k = 0; i < conns; i++) {
			bool was_head;
			int rc;

			if (fs[i].done)
				continue;
			if (!pfd[k++].revents)
				continue;
			was_head = fs[i].head_done;
			rc = fetch_read(&fs[i], (unsigned)i, bytes);
			if (rc < 0)
				return 1;
			heads += !was_head && fs[i].head_done;
			if (rc > 0) {
				bool seen = false;

				fs[i].done = true;
				close(fs[i].fd);
				left--;
				for (int w = 0; w < n_workers; w++)
					seen |= workers[w] == fs[i].worker;
				if (!seen)
					workers[n_workers++] = fs[i].worker;
			}
		}
		if (!go && heads == conns) {
			for (int i = 0; i < conns; i++)
				if (write_all(fs[i].fd, (const uint8_t *)"go\n", 3)) {
					perror("client: send");
					return 1;
				}
			go = true;
		}
	}
	printf("%d connections intact, served by %d workers:", conns, n_workers);
	for (int w = 0; w < n_workers; w++)
		printf(" %ld", workers[w]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	/* a log file, read even when the test kills us */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return serve(argv[2], argv[3], atoi(argv[4]));
	if (argc == 7 && !strcmp(argv[1], "fetch"))
		return fetch(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 10),
			     strtoul(argv[6], NULL, 10));
	fprintf(stderr, "usage: mps-prefork serve ADDR PORT WORKERS\n"
			"       mps-prefork fetch ADDR PORT CONNS BYTES SEED\n");
	return 2;
}
