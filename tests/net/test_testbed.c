/*
 * test_testbed.c - the emulated network of testbed/ is what it claims.
 *
 * Runs `mps-testbed selftest` (two paths; ping and iperf3 on each, measured
 * against the configured RTT and rate) under a topology name unique to this
 * process, and removes that topology in the fini even when the test fails.
 * Skips where network namespaces cannot be made (not root, no ip netns) or
 * the measuring tools are missing.
 *
 * The script is found via $MPS_TOP_SRCDIR, the delay line via
 * $MPS_TOP_BUILDDIR (read by the script itself), else relative to the cwd.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tb_script[PATH_MAX];
static char tb_name[32];

static int tb_find_script(void)
{
	static const char *const rel[] = {
		"testbed/mps-testbed", "../testbed/mps-testbed",
		"../../testbed/mps-testbed",
	};
	const char *top = getenv("MPS_TOP_SRCDIR");

	if (top) {
		snprintf(tb_script, sizeof(tb_script), "%s/testbed/mps-testbed", top);
		return access(tb_script, X_OK) ? -ENOENT : 0;
	}
	for (size_t k = 0; k < sizeof(rel) / sizeof(rel[0]); k++) {
		if (!access(rel[k], X_OK)) {
			snprintf(tb_script, sizeof(tb_script), "%s", rel[k]);
			return 0;
		}
	}
	return -ENOENT;
}

/* Exit status of a shell command, or -1 when it did not exit normally. */
static int tb_run(const char *cmd)
{
	int st = system(cmd);

	return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

static void tb_setup(void)
{
	/* The pid keeps parallel runs (and a crashed earlier run) apart. */
	snprintf(tb_name, sizeof(tb_name), "mpstt%ld", (long)getpid());
	if (tb_find_script())
		cr_skip_test("testbed/mps-testbed not found (set MPS_TOP_SRCDIR)");
}

static void tb_teardown(void)
{
	char cmd[PATH_MAX + 128];

	if (!tb_script[0] || geteuid() != 0)
		return;
	snprintf(cmd, sizeof(cmd), "'%s' down --name %s >/dev/null 2>&1",
		 tb_script, tb_name);
	tb_run(cmd);
}

Test(testbed, rejects_bad_arguments, .init = tb_setup, .fini = tb_teardown)
{
	char cmd[PATH_MAX + 128];

	/* Argument checks come before anything touches the system. */
	snprintf(cmd, sizeof(cmd),
		 "'%s' up --name %s --paths 9 2>&1 | grep -q 'paths must be 1..4'",
		 tb_script, tb_name);
	cr_expect_eq(tb_run(cmd), 0, "--paths 9 not refused");
	snprintf(cmd, sizeof(cmd),
		 "'%s' up --name %s --paths 1 --path 1 loss=5 2>&1 | grep -q 'bad loss'",
		 tb_script, tb_name);
	cr_expect_eq(tb_run(cmd), 0, "loss without %% not refused");
	snprintf(cmd, sizeof(cmd), "'%s' up --name 'a/b' --paths 1 >/dev/null 2>&1",
		 tb_script);
	cr_expect_neq(tb_run(cmd), 0, "a name with a slash was accepted");
}

Test(testbed, selftest, .init = tb_setup, .fini = tb_teardown, .timeout = 180)
{
	char cmd[PATH_MAX + 128];

	if (geteuid() != 0)
		cr_skip_test("needs root for network namespaces");
	if (tb_run("ip netns list >/dev/null 2>&1") != 0)
		cr_skip_test("ip netns unavailable");
	if (tb_run("{ command -v ping && command -v iperf3 && command -v jq &&"
		   " command -v nft && command -v ss; } >/dev/null") != 0)
		cr_skip_test("ping, iperf3, jq, nft or ss missing");
	/* Output goes to stderr so it lands in the test log beside the result. */
	snprintf(cmd, sizeof(cmd), "'%s' selftest --name %s 1>&2", tb_script, tb_name);
	cr_assert_eq(tb_run(cmd), 0, "mps-testbed selftest failed (output above)");
}
