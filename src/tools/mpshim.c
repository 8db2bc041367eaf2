/*
 * mpshim.c - the `mpshim` command: run a program with the shim loaded,
 * and look at the connections of running ones.
 *
 *   mpshim run [--upgrade DESTS] [--accept DESTS] [--subflows N] [--local LIST]
 *              [--log LEVEL] [--stats-file FILE] [--] CMD [ARGS...]
 *   mpshim stats [--json] [--timeout MS] [PID...]
 *   mpshim help-config
 *
 * `run` sets the matching MPSHIM_* variables and appends libmpshim.so to
 * LD_PRELOAD (never replacing what is already there), then execs CMD.
 * `stats` lives in stats_cmd.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "stats_cmd.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/local/lib/mpshim"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mpshim run [options] [--] CMD [ARGS...]\n"
		"       mpshim stats [--json] [--timeout MS] [PID...]\n"
		"       mpshim help-config\n"
		"       mpshim --version\n"
		"\n"
		"run options (each sets the MPSHIM_* variable of the same name):\n"
		"  -u, --upgrade DESTS     destinations to carry as multipath ('*' = all)\n"
		"  -a, --accept DESTS      listeners that accept multipath clients (*:PORT)\n"
		"  -n, --subflows N        subflows per connection (ndiffports)\n"
		"  -l, --local LIST        local addresses or interfaces (fullmesh)\n"
		"  -L, --log LEVEL         debug, info, warn or error\n"
		"  -s, --stats-file FILE   one JSON line per closed connection\n"
		"\n"
		"stats shows the open connections of programs under mpshim and of\n"
		"mpshim-proxyd ('mpshim stats --help').\n"
		"\n"
		"The library is %s/libmpshim.so, or $MPSHIM_LIBRARY if set.\n",
		PKGLIBDIR);
}

static int append_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
	int rc;

	if (access(lib, R_OK)) {
		fprintf(stderr, "mpshim: %s: %s\n", lib, strerror(errno));
		return -1;
	}
	if (old && *old) {
		if (strstr(old, lib))
			return 0;
		if (asprintf(&val, "%s:%s", old, lib) < 0)
			return -1;
	} else {
		val = strdup(lib);
		if (!val)
			return -1;
	}
	rc = setenv("LD_PRELOAD", val, 1);
	free(val);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "upgrade", required_argument, NULL, 'u' },
		{ "accept", required_argument, NULL, 'a' },
		{ "subflows", required_argument, NULL, 'n' },
		{ "local", required_argument, NULL, 'l' },
		{ "log", required_argument, NULL, 'L' },
		{ "stats-file", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { int opt; const char *key; } map[] = {
		{ 'u', "upgrade" }, { 'a', "accept" }, { 'n', "subflows" }, { 'l', "local" },
		{ 'L', "log_level" }, { 's', "stats_file" },
	};
	struct mps_config check;
	const char *lib = getenv("MPSHIM_LIBRARY");
	char err[256];
	int c;

	mps_config_defaults(&check);
	/* '+': stop at the first non-option, it is the command */
	while ((c = getopt_long(argc, argv, "+u:a:n:l:L:s:h", opts, NULL)) != -1) {
		const struct mps_option *o = NULL;

		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (map[i].opt == c)
				o = mps_config_find(map[i].key);
		if (!o) {
			usage(stderr);
			return 2;
		}
		/* refuse a bad value here, not silently inside the app */
		if (mps_config_set(&check, o->name, optarg, err, sizeof(err))) {
			fprintf(stderr, "mpshim: %s\n", err);
			return 2;
		}
		setenv(o->env, optarg, 1);
	}
	if (optind >= argc) {
		fprintf(stderr, "mpshim: run: no command given\n");
		usage(stderr);
		return 2;
	}
	if (append_preload(lib && *lib ? lib : PKGLIBDIR "/libmpshim.so"))
		return 1;
	execvp(argv[optind], &argv[optind]);
	fprintf(stderr, "mpshim: %s: %s\n", argv[optind], strerror(errno));
	return 127;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return mps_stats_cmd_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help-config")) {
		mps_config_print_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("mpshim %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "mpshim: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
