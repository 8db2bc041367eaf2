/*
 * proxyd.c - mpshim-proxyd: terminate multipath connections and carry
 * each one to a plain TCP backend (reverse mode), or to the destination
 * the client names (forward mode, for clients holding a pre-shared key).
 *
 *   mpshim-proxyd --listen ADDR:PORT --backend ADDR:PORT [--config FILE]
 *                 [--stats-file FILE] [--log-level LEVEL] [--loop BACKEND]
 *   mpshim-proxyd --listen ADDR:PORT --forward --key-file FILE [...]
 *
 * Clients that do not speak mpshim are relayed to the backend unchanged,
 * so proxyd can stand in front of a service for every client.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "addr.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "psk.h"

static struct mps_engine *engine;

/* What the command line said, applied again over every reload. */
struct cli {
	const char *config_file, *stats, *level, *loop, *backend, *key_file;
	bool forward;
	bool started_forward;	/* forward mode as started: a reload keeps it */
};

static void on_signal(int sig)
{
	if (!engine)
		return;
	if (sig == SIGHUP)
		mps_engine_request_reload(engine);
	else
		mps_engine_stop(engine);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mpshim-proxyd --listen ADDR:PORT --backend ADDR:PORT [options]\n"
		"       mpshim-proxyd --listen ADDR:PORT --forward --key-file FILE [options]\n"
		"\n"
		"  -l, --listen ADDR:PORT     where multipath clients connect (repeatable)\n"
		"  -b, --backend ADDR:PORT    the plain TCP service behind proxyd\n"
		"  -f, --forward              connect each client to the destination it\n"
		"                             names (forward_allow, forward_deny)\n"
		"  -k, --key-file FILE        the clients' pre-shared keys (forward mode)\n"
		"  -c, --config FILE          configuration file (mpshim.conf(5) keys)\n"
		"  -s, --stats-file FILE      one JSON line per closed connection\n"
		"  -L, --log-level LEVEL      debug, info, warn or error\n"
		"  -m, --metrics ADDR:PORT    serve Prometheus metrics over HTTP there\n"
		"      --loop BACKEND         auto, uring or epoll\n"
		"  -h, --help                 this text\n"
		"  -V, --version              version\n");
}

/*
 * Each multipath connection holds a descriptor per subflow plus its
 * backend's, so the default soft limit (1024) stops proxyd near 300
 * clients.  Take the hard limit, and say when even that is low.
 */
#define NOFILE_WANTED	65536

static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			rl.rlim_cur = was;
	}
	if (rl.rlim_cur < NOFILE_WANTED)
		mps_warn("open file limit %llu (hard limit %llu): room for about %llu "
			 "connections of 2 subflows; raise the hard limit "
			 "(ulimit -Hn, systemd LimitNOFILE=) for more",
			 (unsigned long long)rl.rlim_cur,
			 (unsigned long long)rl.rlim_max,
			 (unsigned long long)(rl.rlim_cur / 3));
	else if (rl.rlim_cur != was)
		mps_info("open file limit raised from %llu to %llu",
			 (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

/* The configuration as at start: files and env, then the command line. */
static int load_config(const struct cli *cli, struct mps_config *cfg, char *err,
		       size_t errlen)
{
	int rc = mps_config_load(cfg, cli->config_file, err, errlen);

	if (rc)
		return rc;
	if ((cli->stats && mps_config_set(cfg, "stats_file", cli->stats, err, errlen)) ||
	    (cli->level && mps_config_set(cfg, "log_level", cli->level, err, errlen)) ||
	    (cli->loop && mps_config_set(cfg, "loop", cli->loop, err, errlen)) ||
	    (cli->backend && mps_config_set(cfg, "backend", cli->backend, err, errlen)) ||
	    (cli->forward && mps_config_set(cfg, "forward", "yes", err, errlen)) ||
	    (cli->key_file &&
	     mps_config_set(cfg, "forward_key_file", cli->key_file, err, errlen)))
		return -EINVAL;
	return 0;
}

/*
 * Forward mode's keys, or a refusal to run it: without a key file every
 * client would be let through, an open proxy nobody meant to run.
 */
static int load_keys(const struct mps_config *cfg, struct mps_psk_set *keys,
		     char *err, size_t errlen)
{
	if (!cfg->forward_key_file[0]) {
		snprintf(err, errlen, "forward mode needs a key file (--key-file or "
			 "forward_key_file): without one it would be an open proxy");
		return -ENOKEY;
	}
	return mps_psk_load(cfg->forward_key_file, keys, err, errlen);
}

/* SIGHUP, on the engine's thread: read everything again; a bad file keeps
 * the configuration that runs, and says why. */
static void reload(struct mps_engine *eng, void *arg)
{
	const struct cli *cli = arg;
	struct mps_psk_set keys = { 0 };
	struct mps_config cfg;
	char err[512];
	int rc;

	err[0] = '\0';
	rc = load_config(cli, &cfg, err, sizeof(err));
	if (!rc && cfg.forward != cli->started_forward) {
		mps_warn("reload: forward mode cannot be turned %s; kept %s",
			 cfg.forward ? "on" : "off", cli->started_forward ? "on" : "off");
		cfg.forward = cli->started_forward;
	}
	/* keys first: a key file that does not load keeps everything */
	if (!rc && cfg.forward)
		rc = load_keys(&cfg, &keys, err, sizeof(err));
	if (!rc)
		rc = mps_engine_reconfigure(eng, &cfg);
	if (rc) {
		mps_psk_free(&keys);
		mps_err("reload failed, configuration kept: %s",
			err[0] ? err : strerror(-rc));
		return;
	}
	if (cfg.forward) {
		mps_info("forward mode: %u key(s)", keys.n);
		mps_engine_forward_keys(eng, &keys);
	}
	mps_log_init((int)cfg.log_level, cfg.log_file, "mpshim-proxyd");
	mps_info("configuration reloaded");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "forward", no_argument, NULL, 'f' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "config", required_argument, NULL, 'c' },
		{ "stats-file", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "loop", required_argument, NULL, 'O' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listens[8], *config_file = NULL, *backend = NULL;
	const char *stats = NULL, *level = NULL, *loop = NULL, *metrics = NULL;
	const char *key_file = NULL;
	struct mps_psk_set keys = { 0 };
	bool forward = false;
	unsigned n_listen = 0;
	struct mps_config cfg;
	static struct cli cli;
	union mps_sockaddr baddr, laddr;
	struct sigaction sa;
	sigset_t handled;
	char err[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "l:b:fk:c:s:L:m:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (n_listen == 8) {
				fprintf(stderr, "mpshim-proxyd: at most 8 --listen\n");
				return 2;
			}
			listens[n_listen++] = optarg;
			break;
		case 'b': backend = optarg; break;
		case 'f': forward = true; break;
		case 'k': key_file = optarg; break;
		case 'c': config_file = optarg; break;
		case 's': stats = optarg; break;
		case 'L': level = optarg; break;
		case 'O': loop = optarg; break;
		case 'm': metrics = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mpshim-proxyd %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	cli.config_file = config_file;
	cli.stats = stats;
	cli.level = level;
	cli.loop = loop;
	cli.backend = backend;
	cli.forward = forward;
	cli.key_file = key_file;
	err[0] = '\0';
	rc = load_config(&cli, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mpshim-proxyd: %s\n", err);
		return rc == -EINVAL && !config_file ? 2 : 1;
	}
	if (!n_listen && cfg.listen[0])
		listens[n_listen++] = cfg.listen;
	if (!n_listen || (!cfg.backend[0] && !cfg.forward)) {
		fprintf(stderr, "mpshim-proxyd: --listen and --backend (or --forward) "
			"are required\n");
		usage(stderr);
		return 2;
	}
	cli.started_forward = cfg.forward;
	if (cfg.forward) {
		rc = load_keys(&cfg, &keys, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "mpshim-proxyd: %s\n", err);
			return rc == -ENOKEY ? 2 : 1;
		}
	}
	if (cfg.backend[0] && mps_addr_parse(cfg.backend, &baddr)) {
		fprintf(stderr, "mpshim-proxyd: bad backend address '%s' "
			"(want ADDR:PORT or [V6]:PORT)\n", cfg.backend);
		mps_psk_free(&keys);
		return 2;
	}
	mps_log_init((int)cfg.log_level, cfg.log_file, "mpshim-proxyd");
	raise_nofile();
	rc = mps_engine_new(&engine, &cfg);
	if (rc) {
		fprintf(stderr, "mpshim-proxyd: cannot start the engine: %s\n",
			strerror(-rc));
		mps_psk_free(&keys);
		return 1;
	}
	if (cfg.forward) {
		mps_info("forward mode: %u key(s) from %s", keys.n, cfg.forward_key_file);
		mps_engine_forward_keys(engine, &keys);
	}
	for (unsigned i = 0; i < n_listen; i++) {
		if (mps_addr_parse(listens[i], &laddr)) {
			fprintf(stderr, "mpshim-proxyd: bad listen address '%s'\n",
				listens[i]);
			mps_engine_free(engine);
			return 2;
		}
		rc = mps_engine_listen(engine, &laddr.sa,
				       cfg.backend[0] ? &baddr.sa : NULL);
		if (rc) {
			fprintf(stderr, "mpshim-proxyd: listen on %s: %s\n", listens[i],
				strerror(-rc));
			mps_engine_free(engine);
			return 1;
		}
		mps_info("listening on %s, %sbackend %s (%s loop)", listens[i],
			 cfg.forward ? "forward mode, " : "",
			 cfg.backend[0] ? cfg.backend : "none",
			 mps_engine_loop_name(engine));
	}
	if (metrics) {
		union mps_sockaddr maddr;

		if (mps_addr_parse(metrics, &maddr)) {
			fprintf(stderr, "mpshim-proxyd: bad metrics address '%s'\n", metrics);
			mps_engine_free(engine);
			return 2;
		}
		rc = mps_engine_metrics_listen(engine, &maddr.sa);
		if (rc) {
			fprintf(stderr, "mpshim-proxyd: metrics on %s: %s\n", metrics,
				strerror(-rc));
			mps_engine_free(engine);
			return 1;
		}
		mps_info("metrics on http://%s/metrics", metrics);
	}
	mps_engine_set_reload(engine, reload, &cli);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	rc = mps_engine_run(engine);
	/* on_signal must not reach the engine while it is freed, or after: a
	 * second SIGTERM (a supervisor's, a test's cleanup) stays pending
	 * until the process is gone */
	sigemptyset(&handled);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	mps_info("shutting down");
	mps_engine_free(engine);
	engine = NULL;
	return rc ? 1 : 0;
}
