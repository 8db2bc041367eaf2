/*
 * test_config.c - unit tests of the options table, the config loaders,
 * the destination match, the log module, and mpshim.conf(5) coverage.
 *
 * Criterion runs every test in its own process, so tests may setenv(),
 * dup2() onto fd 2 and init the log without cleaning up after themselves.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
/* by path: a build may put an autoconf config.h ahead of src/core */
#include "../../src/core/config.h"
#include "log.h"

#define K	1024L
#define M	(1024L * 1024L)
#define G	(1024L * 1024L * 1024L)

static char tmpdir[64];
static char err[512];
static struct mps_config cfg;

/* Start every test from a clean environment and a fresh temp dir. */
static void setup(void)
{
	size_t i;

	for (i = 0; i < mps_options_count; i++)
		if (mps_options[i].env)
			unsetenv(mps_options[i].env);
	unsetenv("MPSHIM_CONFIG");
	strcpy(tmpdir, "/tmp/mps-test-config-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	/* no user file unless a test writes one */
	setenv("HOME", tmpdir, 1);
	err[0] = '\0';
	mps_config_defaults(&cfg);
}

static void rm_tree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!lstat(path, &st) && S_ISDIR(st.st_mode))
			rm_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void teardown(void)
{
	if (tmpdir[0])
		rm_tree(tmpdir);
}

TestSuite(config, .init = setup, .fini = teardown);
TestSuite(log, .init = setup, .fini = teardown);

/* Write text to tmpdir/name with the given mode; returns the path. */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "fopen %s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	/* chmod, not the umask, decides the bits the loader checks */
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

static char *read_all(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	if (lenp)
		*lenp = (size_t)len;
	return buf;
}

static int set(const char *key, const char *value)
{
	err[0] = '\0';
	return mps_config_set(&cfg, key, value, err, sizeof(err));
}

#define assert_set_ok(key, value) \
	cr_assert_eq(set(key, value), 0, "%s = '%s': %s", key, value, err)
#define assert_set_fails(key, value, e) \
	cr_assert_eq(set(key, value), (e), "%s = '%s' should fail with %d: %s", \
		     key, value, (e), err)

/* ---- the table ---------------------------------------------------------- */

Test(config, table_is_sane)
{
	size_t i, j;

	cr_assert_gt(mps_options_count, 0);
	for (i = 0; i < mps_options_count; i++) {
		const struct mps_option *o = &mps_options[i];

		cr_assert_not_null(o->name);
		cr_assert_not_null(o->def, "%s", o->name);
		cr_assert(o->help && *o->help, "%s has no help", o->name);
		cr_assert_eq(mps_config_find(o->name), o);
		if (o->env)
			cr_assert_eq(strncmp(o->env, "MPSHIM_", 7), 0, "%s", o->env);
		cr_assert_leq(o->offset + o->size, sizeof(struct mps_config),
			      "%s", o->name);
		switch (o->type) {
		case MPS_OPT_INT:
		case MPS_OPT_SIZE:
		case MPS_OPT_MS:
			cr_assert_eq(o->size, sizeof(long), "%s", o->name);
			cr_assert_leq(o->min, o->max, "%s", o->name);
			break;
		case MPS_OPT_LEVEL:
			cr_assert_eq(o->size, sizeof(long), "%s", o->name);
			break;
		case MPS_OPT_BOOL:
			cr_assert_eq(o->size, sizeof(bool), "%s", o->name);
			break;
		case MPS_OPT_CHOICE:
			cr_assert_not_null(o->choices, "%s", o->name);
			for (j = 0; o->choices[j]; j++)
				cr_assert_lt(strlen(o->choices[j]), o->size);
			break;
		case MPS_OPT_STRING:
			cr_assert_gt(o->size, 1, "%s", o->name);
			break;
		case MPS_OPT_DESTS:
			/* an array of rules followed by its count */
			cr_assert(o->offset == offsetof(struct mps_config, upgrade) ||
				  o->offset == offsetof(struct mps_config, accept) ||
				  o->offset == offsetof(struct mps_config, accept_plain),
				  "%s", o->name);
			cr_assert(o->offset + o->size == offsetof(struct mps_config, n_upgrade) ||
				  o->offset + o->size == offsetof(struct mps_config, n_accept) ||
				  o->offset + o->size ==
				  offsetof(struct mps_config, n_accept_plain),
				  "%s: count must follow the array", o->name);
			break;
		case MPS_OPT_LOCALS:
			/* an array of mps_local followed by its count */
			cr_assert(o->offset == offsetof(struct mps_config, local) ||
				  o->offset == offsetof(struct mps_config, backup), "%s", o->name);
			cr_assert(o->offset + o->size == offsetof(struct mps_config, n_local) ||
				  o->offset + o->size == offsetof(struct mps_config, n_backup),
				  "%s: count must follow the array", o->name);
			break;
		case MPS_OPT_POLICY:
			cr_assert_eq(o->offset, offsetof(struct mps_config, policy));
			break;
		case MPS_OPT_ADDR:
			cr_assert_geq(o->size, MPS_CFG_ADDR_LEN, "%s", o->name);
			break;
		case MPS_OPT_NETS:
			/* an array of mps_net_rule followed by its count */
			cr_assert(o->offset == offsetof(struct mps_config, forward_allow) ||
				  o->offset == offsetof(struct mps_config, forward_deny),
				  "%s", o->name);
			cr_assert(o->offset + o->size ==
				  offsetof(struct mps_config, n_forward_allow) ||
				  o->offset + o->size ==
				  offsetof(struct mps_config, n_forward_deny),
				  "%s: count must follow the array", o->name);
			break;
		case MPS_OPT_ADDRS:
			/* an array of address texts followed by its count */
			cr_assert_eq(o->offset, offsetof(struct mps_config, advertise));
			cr_assert_eq(o->offset + o->size,
				     offsetof(struct mps_config, n_advertise),
				     "%s: count must follow the array", o->name);
			break;
		}
		for (j = 0; j < i; j++) {
			cr_assert_str_neq(o->name, mps_options[j].name);
			if (o->env && mps_options[j].env)
				cr_assert_str_neq(o->env, mps_options[j].env);
		}
	}
	cr_assert_null(mps_config_find("nope"));
	cr_assert_null(mps_config_find(NULL));
}

Test(config, every_default_parses)
{
	struct mps_config a, b;
	size_t i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < mps_options_count; i++) {
		err[0] = '\0';
		cr_assert_eq(mps_config_set(&a, mps_options[i].name,
					    mps_options[i].def, err, sizeof(err)),
			     0, "default of %s: %s", mps_options[i].name, err);
	}
	mps_config_defaults(&b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
}

Test(config, default_values)
{
	cr_assert_eq(cfg.n_upgrade, 0);
	cr_assert_eq(cfg.n_local, 0);
	cr_assert_eq(cfg.subflows, 2);
	cr_assert_str_eq(cfg.scheduler, "ecf");
	cr_assert_str_eq(cfg.path_manager, "auto");
	cr_assert_str_eq(cfg.loop, "auto");
	cr_assert_eq(cfg.log_level, MPS_LOG_WARN);
	cr_assert_str_eq(cfg.log_file, "");
	cr_assert_str_eq(cfg.stats_file, "");
	cr_assert_eq(cfg.sndbuf, 4 * M);
	cr_assert_eq(cfg.rcvbuf, 4 * M);
	cr_assert_eq(cfg.frame_size, 16 * K);
	cr_assert_eq(cfg.notsent_lowat, 64 * K);
	cr_assert_eq(cfg.connect_timeout_ms, 30000);
	cr_assert_eq(cfg.hello_timeout_ms, 1000);
	cr_assert_eq(cfg.subflow_timeout_ms, 5000);
	cr_assert_eq(cfg.checksum, false);
	cr_assert_eq(cfg.fallback, true);
	cr_assert_str_eq(cfg.listen, "");
	cr_assert_str_eq(cfg.backend, "");
}

/* ---- one type at a time ------------------------------------------------- */

Test(config, int_values)
{
	assert_set_ok("subflows", "1");
	cr_assert_eq(cfg.subflows, 1);
	assert_set_ok("subflows", " 8 ");
	cr_assert_eq(cfg.subflows, 8);

	assert_set_fails("subflows", "9", -ERANGE);
	cr_assert_str_eq(err, "subflows: 9 is out of range 1..8");
	assert_set_fails("subflows", "0", -ERANGE);
	assert_set_fails("subflows", "-1", -ERANGE);
	assert_set_fails("subflows", "99999999999999999999999", -ERANGE);
	assert_set_fails("subflows", "abc", -EINVAL);
	cr_assert_str_eq(err, "subflows: 'abc' is not a number");
	assert_set_fails("subflows", "2x", -EINVAL);
	assert_set_fails("subflows", "+2", -EINVAL);
	assert_set_fails("subflows", "0x2", -EINVAL);
	assert_set_fails("subflows", "2K", -EINVAL);
	assert_set_fails("subflows", "", -EINVAL);
	cr_assert_eq(set("subflows", NULL), -EINVAL);
	cr_assert_str_eq(err, "subflows: missing value");
	/* a failed set leaves the value alone */
	cr_assert_eq(cfg.subflows, 8);
}

Test(config, size_values)
{
	assert_set_ok("sndbuf", "64K");
	cr_assert_eq(cfg.sndbuf, 64 * K);
	assert_set_ok("sndbuf", "64k");
	cr_assert_eq(cfg.sndbuf, 64 * K);
	assert_set_ok("sndbuf", "1G");
	cr_assert_eq(cfg.sndbuf, G);
	assert_set_ok("rcvbuf", "3m");
	cr_assert_eq(cfg.rcvbuf, 3 * M);
	assert_set_ok("rcvbuf", "65536");
	cr_assert_eq(cfg.rcvbuf, 65536);
	assert_set_ok("frame_size", "65519");
	cr_assert_eq(cfg.frame_size, 65519);
	assert_set_ok("frame_size", "1K");
	cr_assert_eq(cfg.frame_size, 1024);
	assert_set_ok("notsent_lowat", "0");
	cr_assert_eq(cfg.notsent_lowat, 0);
	assert_set_ok("notsent_lowat", "64M");
	cr_assert_eq(cfg.notsent_lowat, 64 * M);

	assert_set_fails("sndbuf", "63K", -ERANGE);
	cr_assert_str_eq(err, "sndbuf: 63K is out of range 64K..1G");
	assert_set_fails("sndbuf", "2G", -ERANGE);
	assert_set_fails("sndbuf", "99999999999999G", -ERANGE);
	assert_set_fails("frame_size", "65520", -ERANGE);
	cr_assert_str_eq(err, "frame_size: 65520 is out of range 1024..65519");
	assert_set_fails("frame_size", "1023", -ERANGE);
	assert_set_fails("notsent_lowat", "65M", -ERANGE);
	assert_set_fails("notsent_lowat", "-1", -ERANGE);
	assert_set_fails("sndbuf", "4X", -EINVAL);
	cr_assert(strstr(err, "not a size"), "%s", err);
	assert_set_fails("sndbuf", "4KB", -EINVAL);
	assert_set_fails("sndbuf", "4 M", -EINVAL);
	assert_set_fails("sndbuf", "1.5M", -EINVAL);
	assert_set_fails("sndbuf", "M", -EINVAL);
	cr_assert_eq(cfg.sndbuf, G);
}

Test(config, ms_values)
{
	assert_set_ok("connect_timeout", "250ms");
	cr_assert_eq(cfg.connect_timeout_ms, 250);
	assert_set_ok("connect_timeout", "250");
	cr_assert_eq(cfg.connect_timeout_ms, 250);
	assert_set_ok("connect_timeout", "600s");
	cr_assert_eq(cfg.connect_timeout_ms, 600000);
	assert_set_ok("hello_timeout", "10ms");
	cr_assert_eq(cfg.hello_timeout_ms, 10);
	assert_set_ok("subflow_timeout", "0");
	cr_assert_eq(cfg.subflow_timeout_ms, 0);

	assert_set_fails("connect_timeout", "99", -ERANGE);
	cr_assert_str_eq(err, "connect_timeout: 99 is out of range 100ms..600s");
	assert_set_fails("connect_timeout", "601s", -ERANGE);
	assert_set_fails("hello_timeout", "61s", -ERANGE);
	assert_set_fails("hello_timeout", "9ms", -ERANGE);
	assert_set_fails("subflow_timeout", "-5", -ERANGE);
	assert_set_fails("connect_timeout", "1m", -EINVAL);
	cr_assert(strstr(err, "not a duration"), "%s", err);
	assert_set_fails("connect_timeout", "5 s", -EINVAL);
	assert_set_fails("connect_timeout", "s", -EINVAL);
	assert_set_fails("connect_timeout", "1.5s", -EINVAL);
}

Test(config, bool_values)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "NO", "Off" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_set_ok("checksum", yes[i]);
		cr_assert_eq(cfg.checksum, true, "%s", yes[i]);
		assert_set_ok("fallback", no[i]);
		cr_assert_eq(cfg.fallback, false, "%s", no[i]);
		assert_set_ok("checksum", no[i]);
		cr_assert_eq(cfg.checksum, false, "%s", no[i]);
	}
	assert_set_fails("checksum", "maybe", -EINVAL);
	assert_set_fails("checksum", "2", -EINVAL);
	assert_set_fails("checksum", "y", -EINVAL);
	assert_set_fails("checksum", "", -EINVAL);
	cr_assert_eq(cfg.checksum, false);
}

Test(config, choice_values)
{
	assert_set_ok("path_manager", "fullmesh");
	cr_assert_str_eq(cfg.path_manager, "fullmesh");
	assert_set_ok("path_manager", "NDIFFPORTS");
	cr_assert_str_eq(cfg.path_manager, "ndiffports");
	assert_set_ok("loop", "uring");
	cr_assert_str_eq(cfg.loop, "uring");
	assert_set_ok("loop", "epoll");
	assert_set_ok("scheduler", "minrtt");

	assert_set_fails("path_manager", "bogus", -EINVAL);
	cr_assert_str_eq(err,
			 "path_manager: 'bogus' is not one of: auto ndiffports fullmesh");
	assert_set_ok("scheduler", "roundrobin");
	assert_set_ok("scheduler", "ecf");
	assert_set_fails("scheduler", "blest2", -EINVAL);
	assert_set_fails("loop", "", -EINVAL);
	cr_assert_str_eq(cfg.path_manager, "ndiffports");
}

Test(config, level_values)
{
	assert_set_ok("log_level", "debug");
	cr_assert_eq(cfg.log_level, MPS_LOG_DEBUG);
	assert_set_ok("log_level", "INFO");
	cr_assert_eq(cfg.log_level, MPS_LOG_INFO);
	assert_set_ok("log_level", "warning");
	cr_assert_eq(cfg.log_level, MPS_LOG_WARN);
	assert_set_ok("log_level", "error");
	cr_assert_eq(cfg.log_level, MPS_LOG_ERROR);
	assert_set_ok("log_level", "none");
	cr_assert_eq(cfg.log_level, MPS_LOG_NONE);
	assert_set_fails("log_level", "loud", -EINVAL);
	assert_set_fails("log_level", "2", -EINVAL);
	cr_assert_eq(cfg.log_level, MPS_LOG_NONE);
}

Test(config, string_values)
{
	char big[300];

	assert_set_ok("log_file", "/var/log/mpshim.log");
	cr_assert_str_eq(cfg.log_file, "/var/log/mpshim.log");
	assert_set_ok("log_file", "");
	cr_assert_str_eq(cfg.log_file, "");
	assert_set_ok("listen", "[::]:7000");
	cr_assert_str_eq(cfg.listen, "[::]:7000");
	assert_set_ok("backend", "127.0.0.1:80");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_set_fails("stats_file", big, -ERANGE);
	big[256] = '\0';
	assert_set_fails("stats_file", big, -ERANGE);
	big[255] = '\0';	/* 255 bytes and the NUL fill the field */
	assert_set_ok("stats_file", big);
	cr_assert_eq(strlen(cfg.stats_file), 255);
	big[128] = '\0';
	assert_set_fails("listen", big, -ERANGE);
	big[127] = '\0';
	assert_set_ok("listen", big);
	assert_set_ok("listen", "a b");
	cr_assert_str_eq(cfg.listen, "a b");
	assert_set_ok("listen", "[::]:7000");
	cr_assert_str_eq(cfg.listen, "[::]:7000");
}

Test(config, unknown_key)
{
	cr_assert_eq(set("no_such_key", "1"), -ENOENT);
	cr_assert_str_eq(err, "unknown key 'no_such_key'");
	cr_assert_eq(set("Subflows", "1"), -ENOENT);
	cr_assert_eq(set("MPSHIM_SUBFLOWS", "1"), -ENOENT);
}

/* ---- destination lists -------------------------------------------------- */

static void assert_rule_v4(const struct mps_dest_rule *r, const char *addr,
			   unsigned plen, int port)
{
	uint8_t a[4];

	cr_assert_not(r->any_addr);
	cr_assert_eq(r->family, AF_INET);
	cr_assert_eq(inet_pton(AF_INET, addr, a), 1);
	cr_assert_eq(memcmp(r->addr, a, 4), 0, "address is not %s", addr);
	cr_assert_eq(r->prefix_len, plen);
	if (port < 0) {
		cr_assert(r->any_port);
	} else {
		cr_assert_not(r->any_port);
		cr_assert_eq(r->port, port);
	}
}

static void assert_rule_v6(const struct mps_dest_rule *r, const char *addr,
			   unsigned plen, int port)
{
	uint8_t a[16];

	cr_assert_not(r->any_addr);
	cr_assert_eq(r->family, AF_INET6);
	cr_assert_eq(inet_pton(AF_INET6, addr, a), 1);
	cr_assert_eq(memcmp(r->addr, a, 16), 0, "address is not %s", addr);
	cr_assert_eq(r->prefix_len, plen);
	if (port < 0) {
		cr_assert(r->any_port);
	} else {
		cr_assert_not(r->any_port);
		cr_assert_eq(r->port, port);
	}
}

Test(config, dests_good)
{
	assert_set_ok("upgrade", "*");
	cr_assert_eq(cfg.n_upgrade, 1);
	cr_assert(cfg.upgrade[0].any_addr);
	cr_assert(cfg.upgrade[0].any_port);

	assert_set_ok("upgrade", "10.0.0.1:80, 10.0.0.2:*,*:443 ,[2001:db8::1]:443,"
		      "[::1]:*,10.0.0.0/8:*,[2001:db8::/32]:443,"
		      "[2001:db8:1::]/48:8443, 10.1.2.3/8:22, 172.16.0.0/12:65535");
	cr_assert_eq(cfg.n_upgrade, 10);
	assert_rule_v4(&cfg.upgrade[0], "10.0.0.1", 32, 80);
	assert_rule_v4(&cfg.upgrade[1], "10.0.0.2", 32, -1);
	cr_assert(cfg.upgrade[2].any_addr);
	cr_assert_not(cfg.upgrade[2].any_port);
	cr_assert_eq(cfg.upgrade[2].port, 443);
	assert_rule_v6(&cfg.upgrade[3], "2001:db8::1", 128, 443);
	assert_rule_v6(&cfg.upgrade[4], "::1", 128, -1);
	assert_rule_v4(&cfg.upgrade[5], "10.0.0.0", 8, -1);
	assert_rule_v6(&cfg.upgrade[6], "2001:db8::", 32, 443);
	assert_rule_v6(&cfg.upgrade[7], "2001:db8:1::", 48, 8443);
	/* host bits past the prefix are cleared */
	assert_rule_v4(&cfg.upgrade[8], "10.0.0.0", 8, 22);
	assert_rule_v4(&cfg.upgrade[9], "172.16.0.0", 12, 65535);

	assert_set_ok("upgrade", "localhost:8080");
	cr_assert_eq(cfg.n_upgrade, 2);
	assert_rule_v4(&cfg.upgrade[0], "127.0.0.1", 32, 8080);
	assert_rule_v6(&cfg.upgrade[1], "::1", 128, 8080);

	assert_set_ok("upgrade", "");
	cr_assert_eq(cfg.n_upgrade, 0);
	assert_set_ok("upgrade", "  ");
	cr_assert_eq(cfg.n_upgrade, 0);
}

Test(config, dests_bad)
{
	static const struct {
		const char *val;
		int ret;
	} bad[] = {
		{ "example.com:80", -EINVAL },
		{ "10.0.0.1", -EINVAL },		/* no port */
		{ "::1:80", -EINVAL },			/* v6 without brackets */
		{ "2001:db8::1", -EINVAL },
		{ "10.0.0.1:0", -ERANGE },
		{ "10.0.0.1:65536", -ERANGE },
		{ "10.0.0.1:99999999999999999999", -ERANGE },
		{ "10.0.0.1:http", -EINVAL },
		{ "10.0.0.1:-1", -EINVAL },
		{ "10.0.0.1:", -EINVAL },
		{ "10.0.0.0/33:80", -ERANGE },
		{ "10.0.0.0/99999999999999999999:80", -ERANGE },
		{ "10.0.0.0/-1:80", -EINVAL },
		{ "10.0.0.0/:80", -EINVAL },
		{ "10.0.0.0/8x:80", -EINVAL },
		{ "[::1/129]:80", -ERANGE },
		{ "10.0.0.256:80", -EINVAL },
		{ "10.0.0.1:80,,*:443", -EINVAL },
		{ "10.0.0.1:80,", -EINVAL },
		{ ",10.0.0.1:80", -EINVAL },
		{ "[::1]80", -EINVAL },
		{ "[::1:80", -EINVAL },
		{ "[::1]/64", -EINVAL },
		{ "[10.0.0.1]:80", -EINVAL },
		{ "[*]:80", -EINVAL },
		{ "*:*:80", -EINVAL },
		{ "**", -EINVAL },
		{ "localhost", -EINVAL },
		{ "localhost/8:80", -EINVAL },
		{ "[localhost]:80", -EINVAL },
	};
	size_t i;

	assert_set_ok("upgrade", "192.0.2.1:443");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_set_fails("upgrade", bad[i].val, bad[i].ret);

	/* the list is untouched by every failure */
	cr_assert_eq(cfg.n_upgrade, 1);
	assert_rule_v4(&cfg.upgrade[0], "192.0.2.1", 32, 443);

	assert_set_fails("upgrade", "10.0.0.1:80, my-host.example:443", -EINVAL);
	cr_assert(strstr(err, "hostnames are not supported, use an address"),
		  "%s", err);
	cr_assert(strstr(err, "my-host.example"), "%s", err);
	assert_set_fails("upgrade", "::1:80", -EINVAL);
	cr_assert(strstr(err, "brackets"), "%s", err);
	assert_set_fails("upgrade", "10.0.0.1:0", -ERANGE);
	cr_assert_str_eq(err, "upgrade: port 0 is out of range 1..65535");
}

Test(config, dests_limit)
{
	char list[2048] = "";
	size_t len = 0;
	int i;

	for (i = 0; i < MPS_CFG_MAX_RULES; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s*:%d",
					i ? "," : "", 1000 + i);
	assert_set_ok("upgrade", list);
	cr_assert_eq(cfg.n_upgrade, MPS_CFG_MAX_RULES);
	snprintf(list + len, sizeof(list) - len, ",*:1");
	assert_set_fails("upgrade", list, -ERANGE);
	cr_assert_eq(cfg.n_upgrade, MPS_CFG_MAX_RULES);

	/* localhost takes two of the 32 */
	len = 0;
	for (i = 0; i < MPS_CFG_MAX_RULES - 1; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "*:%d,",
					1000 + i);
	snprintf(list + len, sizeof(list) - len, "localhost:80");
	assert_set_fails("upgrade", list, -ERANGE);
}

/* ---- local lists -------------------------------------------------------- */

Test(config, locals)
{
	uint8_t a[16];

	assert_set_ok("local", "eth0, 10.0.1.2,2001:db8::2 , [2001:db8::3],wlp2s0.100,"
		      "br-lan,veth_a");
	cr_assert_eq(cfg.n_local, 7);
	cr_assert(cfg.local[0].is_iface);
	cr_assert_str_eq(cfg.local[0].name, "eth0");
	cr_assert_not(cfg.local[1].is_iface);
	cr_assert_eq(cfg.local[1].family, AF_INET);
	inet_pton(AF_INET, "10.0.1.2", a);
	cr_assert_eq(memcmp(cfg.local[1].addr, a, 4), 0);
	cr_assert_str_eq(cfg.local[1].name, "10.0.1.2");
	cr_assert_eq(cfg.local[2].family, AF_INET6);
	inet_pton(AF_INET6, "2001:db8::2", a);
	cr_assert_eq(memcmp(cfg.local[2].addr, a, 16), 0);
	cr_assert_eq(cfg.local[3].family, AF_INET6);
	cr_assert_str_eq(cfg.local[3].name, "[2001:db8::3]");
	cr_assert(cfg.local[4].is_iface);
	cr_assert(cfg.local[5].is_iface);
	cr_assert(cfg.local[6].is_iface);

	assert_set_ok("local", "abcdefghijklmno");	/* 15 characters */
	cr_assert_eq(cfg.n_local, 1);
	assert_set_ok("local", "");
	cr_assert_eq(cfg.n_local, 0);

	assert_set_fails("local", "abcdefghijklmnop", -EINVAL);	/* 16 */
	assert_set_fails("local", "eth 0", -EINVAL);
	assert_set_fails("local", "eth0:1", -EINVAL);
	assert_set_fails("local", "eth/0", -EINVAL);
	assert_set_fails("local", "10.0.0.256", -EINVAL);
	assert_set_fails("local", ".", -EINVAL);
	assert_set_fails("local", "..", -EINVAL);
	assert_set_fails("local", "[eth0]", -EINVAL);
	assert_set_fails("local", "[10.0.0.1]", -EINVAL);
	assert_set_fails("local", "eth0,,eth1", -EINVAL);
	assert_set_fails("local", "a,b,c,d,e,f,g,h,i", -ERANGE);
	assert_set_ok("local", "a,b,c,d,e,f,g,h");
	cr_assert_eq(cfg.n_local, MPS_CFG_MAX_LOCAL);
}

/* ---- files -------------------------------------------------------------- */

Test(config, file_parsing)
{
	const char *path = write_file("a.conf",
		"# mpshim test\n"
		"\n"
		"   subflows=4\n"
		"sndbuf = 1M   # inline comment\n"
		"\tlog_file = \"/tmp/with#hash.log\"\n"
		"stats_file = /tmp/x#y\n"
		"upgrade = 10.0.0.0/8:*, [2001:db8::1]:443\n"
		"   # indented comment\n"
		"backend = \"\"\n"
		"checksum = yes\r\n"
		"subflows = 5\n"
		"path_manager = fullmesh", 0644);
	int ret;

	ret = mps_config_load_file(&cfg, path, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_eq(cfg.subflows, 5);		/* last one wins */
	cr_assert_eq(cfg.sndbuf, M);
	cr_assert_str_eq(cfg.log_file, "/tmp/with#hash.log");
	cr_assert_str_eq(cfg.stats_file, "/tmp/x#y");
	cr_assert_eq(cfg.n_upgrade, 2);
	cr_assert_str_eq(cfg.backend, "");
	cr_assert_eq(cfg.checksum, true);
	cr_assert_str_eq(cfg.path_manager, "fullmesh");
	cr_assert_eq(cfg.frame_size, 16 * K);	/* untouched key keeps its value */
}

Test(config, file_bad_line)
{
	char want[PATH_MAX + 64];
	const char *path = write_file("bad.conf",
		"# comment\n"
		"subflows = 3\n"
		"\n"
		"sndbuf = 1M\n"
		"subflows = 9\n"
		"checksum = yes\n", 0600);

	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), -ERANGE);
	snprintf(want, sizeof(want), "%s:5: subflows: 9 is out of range 1..8", path);
	cr_assert_str_eq(err, want);
	/* all or nothing: lines before the bad one were not applied */
	cr_assert_eq(cfg.subflows, 2);
	cr_assert_eq(cfg.sndbuf, 4 * M);

	path = write_file("noeq.conf", "subflows = 3\n\nsubflows 4\n", 0644);
	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: expected 'key = value'", path);
	cr_assert_str_eq(err, want);

	path = write_file("unknown.conf", "subflows = 3\nfrobnicate = 1\n", 0644);
	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s:2: unknown key 'frobnicate'", path);
	cr_assert_str_eq(err, want);

	path = write_file("nokey.conf", " = 3\n", 0644);
	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":1: "), "%s", err);

	path = write_file("host.conf", "upgrade = example.com:443\n", 0644);
	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":1: upgrade: 'example.com': hostnames are not supported, use an address"),
		  "%s", err);
	cr_assert_eq(cfg.subflows, 2);
}

Test(config, file_long_line)
{
	char *text = malloc(5000);
	const char *path;

	cr_assert_not_null(text);
	memset(text, ' ', 4999);
	memcpy(text, "log_file = x", 12);
	text[4998] = '\n';
	text[4999] = '\0';
	path = write_file("long.conf", text, 0644);
	free(text);
	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, ":1: line too long"), "%s", err);
}

Test(config, file_world_writable_refused)
{
	const char *path = write_file("ww.conf", "subflows = 3\n", 0666);

	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), -EPERM);
	cr_assert(strstr(err, "world-writable"), "%s", err);
	cr_assert(strstr(err, path), "%s", err);
	cr_assert_eq(cfg.subflows, 2);

	/* group-writable is the admin's business */
	path = write_file("gw.conf", "subflows = 3\n", 0664);
	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.subflows, 3);
}

Test(config, file_missing_or_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	cr_assert_eq(mps_config_load_file(&cfg, path, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, path), "%s", err);
	cr_assert_eq(mps_config_load_file(&cfg, tmpdir, err, sizeof(err)), -EISDIR);
	/* a NULL err buffer is allowed */
	cr_assert_eq(mps_config_load_file(&cfg, path, NULL, 0), -ENOENT);
}

/* ---- environment and precedence ------------------------------------------ */

Test(config, env_values)
{
	setenv("MPSHIM_SUBFLOWS", "7", 1);
	setenv("MPSHIM_UPGRADE", "*:443", 1);
	setenv("MPSHIM_LOG", "debug", 1);
	setenv("MPSHIM_CHECKSUM", " on ", 1);
	cr_assert_eq(mps_config_load_env(&cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.subflows, 7);
	cr_assert_eq(cfg.n_upgrade, 1);
	cr_assert_eq(cfg.log_level, MPS_LOG_DEBUG);
	cr_assert_eq(cfg.checksum, true);

	mps_config_defaults(&cfg);
	setenv("MPSHIM_SNDBUF", "2G", 1);
	cr_assert_eq(mps_config_load_env(&cfg, err, sizeof(err)), -ERANGE);
	cr_assert_str_eq(err, "MPSHIM_SNDBUF: 2G is out of range 64K..1G");
	/* all or nothing */
	cr_assert_eq(cfg.subflows, 2);

	setenv("MPSHIM_SNDBUF", "", 1);
	cr_assert_eq(mps_config_load_env(&cfg, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "MPSHIM_SNDBUF: empty value");
}

Test(config, precedence)
{
	char dir[PATH_MAX], file[PATH_MAX];
	const char *p;

	snprintf(dir, sizeof(dir), "%s/.config", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	write_file(".config/mpshim.conf",
		   "subflows = 4\nframe_size = 2K\nchecksum = yes\n", 0644);
	p = write_file("explicit.conf", "subflows = 3\nframe_size = 4K\nsndbuf = 1M\n",
		       0644);
	snprintf(file, sizeof(file), "%s", p);

	/* user file over defaults */
	cr_assert_eq(mps_config_load(&cfg, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.subflows, 4);
	cr_assert_eq(cfg.frame_size, 2 * K);
	cr_assert_eq(cfg.checksum, true);

	/* MPSHIM_CONFIG over the user file */
	setenv("MPSHIM_CONFIG", file, 1);
	cr_assert_eq(mps_config_load(&cfg, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.subflows, 3);
	cr_assert_eq(cfg.frame_size, 4 * K);
	cr_assert_eq(cfg.sndbuf, M);
	cr_assert_eq(cfg.checksum, true);

	/* env over every file */
	setenv("MPSHIM_SUBFLOWS", "5", 1);
	cr_assert_eq(mps_config_load(&cfg, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.subflows, 5);
	cr_assert_eq(cfg.frame_size, 4 * K);

	/* a bad env value fails the load and names the variable */
	setenv("MPSHIM_SUBFLOWS", "9", 1);
	cr_assert_eq(mps_config_load(&cfg, NULL, err, sizeof(err)), -ERANGE);
	cr_assert_str_eq(err, "MPSHIM_SUBFLOWS: 9 is out of range 1..8");
	unsetenv("MPSHIM_SUBFLOWS");

	/* explicit_file takes MPSHIM_CONFIG's place */
	p = write_file("other.conf", "frame_size = 8K\n", 0644);
	cr_assert_eq(mps_config_load(&cfg, p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.frame_size, 8 * K);
	cr_assert_eq(cfg.subflows, 4);		/* from the user file */

	/* a named file must exist; optional ones need not */
	snprintf(file, sizeof(file), "%s/missing.conf", tmpdir);
	setenv("MPSHIM_CONFIG", file, 1);
	cr_assert_eq(mps_config_load(&cfg, NULL, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, file), "%s", err);
	unsetenv("MPSHIM_CONFIG");
	setenv("HOME", "/nonexistent/home", 1);
	cr_assert_eq(mps_config_load(&cfg, NULL, err, sizeof(err)), 0, "%s", err);
}

Test(config, bad_user_file_fails_load)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/.config", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	write_file(".config/mpshim.conf", "subflows = 3\n", 0666);
	cr_assert_eq(mps_config_load(&cfg, NULL, err, sizeof(err)), -EPERM);
	cr_assert(strstr(err, "world-writable"), "%s", err);
}

/* ---- destination match -------------------------------------------------- */

static bool match4(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	cr_assert_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	sin.sin_port = htons((uint16_t)port);
	return mps_config_dest_match(&cfg, (struct sockaddr *)&sin);
}

static bool match6(const char *addr, int port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	cr_assert_eq(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
	sin6.sin6_port = htons((uint16_t)port);
	return mps_config_dest_match(&cfg, (struct sockaddr *)&sin6);
}

Test(config, dest_match)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	/* nothing is upgraded by default */
	cr_assert_not(match4("10.0.0.1", 80));
	cr_assert_not(match6("::1", 80));

	assert_set_ok("upgrade", "10.0.0.0/8:*, [2001:db8::/32]:443, *:8080, "
		      "localhost:9000, 192.168.1.7:22, 172.16.0.0/12:*, "
		      "[fe80::/10]:*");
	cr_assert(match4("10.1.2.3", 80));
	cr_assert(match4("10.255.255.255", 1));
	cr_assert_not(match4("11.0.0.1", 80));
	cr_assert(match6("2001:db8:1::5", 443));
	cr_assert_not(match6("2001:db8:1::5", 80));
	cr_assert_not(match6("2001:db9::1", 443));
	cr_assert(match4("1.2.3.4", 8080));
	cr_assert(match6("2001:db9::1", 8080));
	cr_assert(match4("127.0.0.1", 9000));
	cr_assert(match6("::1", 9000));
	cr_assert_not(match4("127.0.0.2", 9000));
	cr_assert_not(match4("127.0.0.1", 9001));
	cr_assert(match4("192.168.1.7", 22));
	cr_assert_not(match4("192.168.1.7", 23));
	cr_assert_not(match4("192.168.1.8", 22));
	/* prefixes that end inside a byte */
	cr_assert(match4("172.16.0.0", 5));
	cr_assert(match4("172.31.255.255", 5));
	cr_assert_not(match4("172.32.0.0", 5));
	cr_assert_not(match4("172.15.255.255", 5));
	cr_assert(match6("fe80::1", 5));
	cr_assert(match6("febf::1", 5));
	cr_assert_not(match6("fec0::1", 5));
	/* v4-mapped v6 addresses match v4 rules */
	cr_assert(match6("::ffff:10.9.9.9", 1));
	cr_assert(match6("::ffff:192.168.1.7", 22));
	cr_assert_not(match6("::ffff:192.168.1.8", 22));
	cr_assert(match6("::ffff:127.0.0.1", 9000));
	/* a v6 address is not a v4 one */
	cr_assert_not(match6("::a09:909", 1));
	/* other families never match, nor NULL */
	cr_assert_not(mps_config_dest_match(&cfg, (struct sockaddr *)&sun));
	cr_assert_not(mps_config_dest_match(&cfg, NULL));

	assert_set_ok("upgrade", "*");
	cr_assert(match4("8.8.8.8", 53));
	cr_assert(match6("2001:4860::8888", 53));

	assert_set_ok("upgrade", "[::/0]:443, 0.0.0.0/0:80");
	cr_assert(match6("2a00::1", 443));
	cr_assert_not(match4("1.1.1.1", 443));
	cr_assert(match4("1.1.1.1", 80));
	cr_assert_not(match6("2a00::1", 80));
}

/* ---- help and man page -------------------------------------------------- */

/* Turn every run of blanks and newlines into one space, in place. */
static void squeeze_blanks(char *s)
{
	char *w = s;
	bool blank = false;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n') {
			blank = true;
			continue;
		}
		if (blank && w != s)
			*w++ = ' ';
		blank = false;
		*w++ = *s;
	}
	*w = '\0';
}

Test(config, print_help)
{
	char *buf = NULL, *squeeze;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	mps_config_print_help(f);
	fclose(f);
	cr_assert_null(strstr(buf, " \n"), "trailing blanks in the help");
	squeeze = strdup(buf);
	cr_assert_not_null(squeeze);
	squeeze_blanks(squeeze);
	for (i = 0; i < mps_options_count; i++) {
		cr_assert(strstr(buf, mps_options[i].name), "%s", mps_options[i].name);
		if (mps_options[i].env)
			cr_assert(strstr(buf, mps_options[i].env), "%s",
				  mps_options[i].env);
		/* help is wrapped: compare with runs of blanks squeezed */
		cr_assert(strstr(squeeze, mps_options[i].help), "%s",
			  mps_options[i].name);
	}
	free(squeeze);
	cr_assert(strstr(buf, "1..8"));
	cr_assert(strstr(buf, "64K..1G"));
	cr_assert(strstr(buf, "100ms..600s"));
	cr_assert(strstr(buf, "auto|ndiffports|fullmesh"));
	free(buf);
}

static char *read_man_page(void)
{
	static const char *const rel[] = {
		"man/mpshim.conf.5", "../man/mpshim.conf.5",
		"../../man/mpshim.conf.5",
	};
	const char *top = getenv("MPS_TOP_SRCDIR");
	char path[PATH_MAX];
	char *text;
	size_t i;

	if (top) {
		snprintf(path, sizeof(path), "%s/man/mpshim.conf.5", top);
		text = read_all(path, NULL);
		cr_assert_not_null(text, "cannot read %s", path);
		return text;
	}
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		text = read_all(rel[i], NULL);
		if (text)
			return text;
	}
	cr_assert_fail("mpshim.conf.5 not found; set MPS_TOP_SRCDIR");
	return NULL;
}

/* The bounds as the man page writes them, e.g. "64K..1G", "100ms..600s". */
static void man_number(enum mps_opt_type type, long v, char *buf, size_t len)
{
	if (v && type == MPS_OPT_SIZE && v % G == 0)
		snprintf(buf, len, "%ldG", v / G);
	else if (v && type == MPS_OPT_SIZE && v % M == 0)
		snprintf(buf, len, "%ldM", v / M);
	else if (v && type == MPS_OPT_SIZE && v % K == 0 && v > 1024)
		snprintf(buf, len, "%ldK", v / K);
	else if (v && type == MPS_OPT_MS && v % 1000 == 0)
		snprintf(buf, len, "%lds", v / 1000);
	else if (v && type == MPS_OPT_MS)
		snprintf(buf, len, "%ldms", v);
	else
		snprintf(buf, len, "%ld", v);
}

/* word appears in text as a whole word ("auto" not inside "automatic"). */
static bool has_word(const char *text, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = strstr(text, word); p; p = strstr(p + 1, word)) {
		char before = p == text ? ' ' : p[-1];
		char after = p[len];

		if ((before == ' ' || before == '\n') &&
		    !isalnum((unsigned char)after) && after != '_')
			return true;
	}
	return false;
}

static const char *man_type(enum mps_opt_type type)
{
	switch (type) {
	case MPS_OPT_INT:	return "Type: integer";
	case MPS_OPT_SIZE:	return "Type: size";
	case MPS_OPT_MS:	return "Type: duration";
	case MPS_OPT_BOOL:	return "Type: boolean";
	case MPS_OPT_STRING:	return "Type: string";
	case MPS_OPT_CHOICE:	return "Type: choice";
	case MPS_OPT_LEVEL:	return "Type: level";
	case MPS_OPT_DESTS:	return "Type: destinations";
	case MPS_OPT_LOCALS:	return "Type: locals";
	case MPS_OPT_POLICY:	return "Type: policies";
	case MPS_OPT_ADDR:	return "Type: address";
	case MPS_OPT_NETS:	return "Type: networks";
	case MPS_OPT_ADDRS:	return "Type: addresses";
	}
	return "?";
}

/*
 * Every key of the table has an entry in mpshim.conf(5) (".TP" then
 * ".B key") that names its variable, type, range and default as the
 * table has them; and every entry of the KEYS section is a table key.
 */
Test(config, man_page_documents_every_key)
{
	char *man = read_man_page();
	char marker[128], want[256], lo[32], hi[32];
	const char *keys, *keys_end, *p;
	size_t i, j;

	cr_assert(strstr(man, "MPSHIM_CONFIG"));
	keys = strstr(man, "\n.SH KEYS\n");
	cr_assert_not_null(keys);
	keys_end = strstr(keys + 1, "\n.SH ");
	cr_assert_not_null(keys_end);

	for (i = 0; i < mps_options_count; i++) {
		const struct mps_option *o = &mps_options[i];
		const char *start, *end = keys_end;
		char *sect;

		snprintf(marker, sizeof(marker), "\n.TP\n.B %s\n", o->name);
		start = strstr(keys, marker);
		cr_assert(start && start < keys_end,
			  "key %s is not in mpshim.conf(5)", o->name);
		for (j = 0; j < mps_options_count; j++) {
			snprintf(marker, sizeof(marker), "\n.TP\n.B %s\n",
				 mps_options[j].name);
			p = strstr(start + 1, marker);
			if (p && p < end)
				end = p;
		}
		sect = strndup(start, (size_t)(end - start));
		cr_assert_not_null(sect);

		if (o->env)
			snprintf(want, sizeof(want), "Environment:\n.BR %s .\n", o->env);
		else
			snprintf(want, sizeof(want), "Environment: none");
		cr_assert(strstr(sect, want), "%s: man page lacks '%s'", o->name, want);

		cr_assert(strstr(sect, man_type(o->type)), "%s: man page lacks '%s'",
			  o->name, man_type(o->type));

		if (*o->def)
			snprintf(want, sizeof(want), "Default: %s.\n", o->def);
		else
			snprintf(want, sizeof(want), "Default: empty.\n");
		if (!strstr(sect, want)) {
			/* a default too long for one source line (mandoc wants
			 * at most 80 bytes) may be wrapped: compare the sentence,
			 * up to the period that ends a line, with its line
			 * breaks read as blanks */
			const char *hit = strstr(sect, "Default: ");
			const char *stop = hit ? strstr(hit, ".\n") : NULL;
			char *flat;

			cr_assert(hit && stop, "%s: man page lacks '%s'", o->name, want);
			flat = strndup(hit, (size_t)(stop - hit + 1));
			cr_assert_not_null(flat);
			squeeze_blanks(flat);
			want[strlen(want) - 1] = '\0';
			cr_assert_str_eq(flat, want, "%s: man page lacks '%s'", o->name, want);
			free(flat);
		}

		if (o->type == MPS_OPT_INT || o->type == MPS_OPT_SIZE ||
		    o->type == MPS_OPT_MS) {
			man_number(o->type, o->min, lo, sizeof(lo));
			man_number(o->type, o->max, hi, sizeof(hi));
			snprintf(want, sizeof(want), ", %s..%s.\n", lo, hi);
			cr_assert(strstr(sect, want), "%s: man page lacks '%s'",
				  o->name, want);
		}
		if (o->type == MPS_OPT_CHOICE) {
			for (j = 0; o->choices[j]; j++) {
				cr_assert(has_word(sect, o->choices[j]),
					  "%s: man page lacks choice %s",
					  o->name, o->choices[j]);
			}
		}
		free(sect);
	}

	/* and nothing documented that the table does not have */
	for (p = keys; (p = strstr(p, "\n.TP\n.B ")) && p < keys_end; p++) {
		char name[64];
		size_t n = strcspn(p + 8, "\n");

		cr_assert_lt(n, sizeof(name));
		memcpy(name, p + 8, n);
		name[n] = '\0';
		cr_assert_not_null(mps_config_find(name),
				   "mpshim.conf(5) documents '%s', which is not a key", name);
	}
	free(man);
}

/* ---- log ---------------------------------------------------------------- */

Test(log, level_names)
{
	cr_assert_eq(mps_log_level_parse("debug"), MPS_LOG_DEBUG);
	cr_assert_eq(mps_log_level_parse("info"), MPS_LOG_INFO);
	cr_assert_eq(mps_log_level_parse("warn"), MPS_LOG_WARN);
	cr_assert_eq(mps_log_level_parse("WARNING"), MPS_LOG_WARN);
	cr_assert_eq(mps_log_level_parse("error"), MPS_LOG_ERROR);
	cr_assert_eq(mps_log_level_parse("err"), MPS_LOG_ERROR);
	cr_assert_eq(mps_log_level_parse("none"), MPS_LOG_NONE);
	cr_assert_eq(mps_log_level_parse("off"), MPS_LOG_NONE);
	cr_assert_eq(mps_log_level_parse("verbose"), -1);
	cr_assert_eq(mps_log_level_parse(""), -1);
	cr_assert_eq(mps_log_level_parse(NULL), -1);
	for (int l = MPS_LOG_DEBUG; l <= MPS_LOG_NONE; l++)
		cr_assert_eq(mps_log_level_parse(mps_log_level_name(l)), l);
	cr_assert_str_eq(mps_log_level_name(99), "?");
	cr_assert_eq(mps_log_level, MPS_LOG_WARN);
}

/* Count our fds numbered >= 100 (the log keeps exactly one). */
static int high_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)))
		if (atoi(de->d_name) >= 100 && atoi(de->d_name) != dirfd(d))
			n++;
	closedir(d);
	return n;
}

Test(log, file_lines_and_levels)
{
	char path[PATH_MAX], want[256];
	char *text;
	struct stat st;

	snprintf(path, sizeof(path), "%s/log", tmpdir);
	cr_assert_eq(mps_log_init(MPS_LOG_INFO, path, "tester"), 0);
	cr_assert_eq(mps_log_level, MPS_LOG_INFO);
	cr_assert_eq(high_fds(), 1);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	errno = EBADF;
	mps_debug("not shown %d", 1);
	mps_info("hello %d", 42);
	cr_assert_eq(errno, EBADF, "logging must not touch errno");
	mps_warn("with newline\n");
	errno = ECONNREFUSED;
	mps_err("failed: %m");
	cr_assert_eq(errno, ECONNREFUSED);

	text = read_all(path, NULL);
	cr_assert_not_null(text);
	snprintf(want, sizeof(want),
		 "tester[%ld]: info: hello 42\n"
		 "tester[%ld]: warn: with newline\n"
		 "tester[%ld]: error: failed: %s\n",
		 (long)getpid(), (long)getpid(), (long)getpid(),
		 strerror(ECONNREFUSED));
	cr_assert_str_eq(text, want);
	free(text);

	/* none silences everything, even a direct write at error */
	mps_log_init(MPS_LOG_NONE, path, NULL);
	mps_err("silenced");
	text = read_all(path, NULL);
	cr_assert_null(strstr(text, "silenced"));
	cr_assert(strstr(text, "tester["), "prog is kept when NULL is passed");
	free(text);
}

Test(log, long_line_truncated)
{
	char path[PATH_MAX], big[3000];
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/log", tmpdir);
	cr_assert_eq(mps_log_init(MPS_LOG_DEBUG, path, "t"), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mps_info("%s", big);
	text = read_all(path, &len);
	cr_assert_eq(len, 1024);
	cr_assert_eq(text[len - 1], '\n');
	cr_assert_eq(memcmp(text + len - 4, "...", 3), 0);
	cr_assert_eq(strchr(text, '\n'), text + len - 1);
	free(text);
}

Test(log, reinit_keeps_one_fd)
{
	char a[PATH_MAX], b[PATH_MAX];
	char *text;

	snprintf(a, sizeof(a), "%s/a.log", tmpdir);
	snprintf(b, sizeof(b), "%s/b.log", tmpdir);
	cr_assert_eq(mps_log_init(MPS_LOG_INFO, a, "t"), 0);
	mps_info("one");
	cr_assert_eq(mps_log_init(MPS_LOG_INFO, b, "t"), 0);
	mps_info("two");
	cr_assert_eq(high_fds(), 1);
	text = read_all(a, NULL);
	cr_assert(strstr(text, "one") && !strstr(text, "two"), "%s", text);
	free(text);
	text = read_all(b, NULL);
	cr_assert(strstr(text, "two") && !strstr(text, "one"), "%s", text);
	free(text);

	/* an unopenable file reports -errno and keeps logging somewhere */
	snprintf(a, sizeof(a), "%s/no/such/dir/x.log", tmpdir);
	cr_assert_eq(mps_log_init(MPS_LOG_INFO, a, "t"), -ENOENT);
	mps_info("three");
	text = read_all(b, NULL);
	cr_assert(strstr(text, "three"), "%s", text);
	free(text);
}

/*
 * The app closes fd 2 and the number is reused for its own file: our
 * lines must still go to the original stderr, never into the app's file.
 */
Test(log, stderr_survives_app_closing_fd2)
{
	char err_path[PATH_MAX], app_path[PATH_MAX];
	int fd, app_fd;
	char *text;

	snprintf(err_path, sizeof(err_path), "%s/stderr", tmpdir);
	snprintf(app_path, sizeof(app_path), "%s/app", tmpdir);
	fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dup2(fd, 2), 2);
	close(fd);

	cr_assert_eq(mps_log_init(MPS_LOG_INFO, NULL, "t"), 0);
	mps_info("before");
	close(2);
	app_fd = open(app_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(app_fd, 2, "the app got fd 2 back");
	mps_info("after");

	text = read_all(app_path, NULL);
	cr_assert_str_eq(text, "");
	free(text);
	text = read_all(err_path, NULL);
	cr_assert(strstr(text, "before") && strstr(text, "after"), "%s", text);
	free(text);
}

/* Logging without init captures stderr on first use. */
Test(log, lazy_capture_without_init)
{
	char err_path[PATH_MAX];
	int fd;
	char *text;

	snprintf(err_path, sizeof(err_path), "%s/stderr", tmpdir);
	fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dup2(fd, 2), 2);
	close(fd);
	mps_warn("early");
	close(2);
	mps_warn("late");
	text = read_all(err_path, NULL);
	cr_assert(strstr(text, "mpshim[") && strstr(text, ": warn: early\n") &&
		  strstr(text, ": warn: late\n"), "%s", text);
	free(text);
	cr_assert_eq(high_fds(), 1);
}

/* fd 2 closed before anything: lines are dropped, nothing else written. */
Test(log, stderr_closed_at_start)
{
	char app_path[PATH_MAX];
	int app_fd;
	char *text;

	snprintf(app_path, sizeof(app_path), "%s/app", tmpdir);
	close(2);
	mps_warn("dropped");
	app_fd = open(app_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(app_fd, 2);
	mps_warn("dropped too");
	text = read_all(app_path, NULL);
	cr_assert_str_eq(text, "");
	free(text);
}

#define LOG_WRITERS	8
#define LOG_LINES	500

/*
 * One write(2) per line: concurrent writers never interleave.  Writers are
 * forked processes sharing the log's open file description, which is what
 * threads share too; processes avoid <pthread.h>, which includes <sched.h>
 * and would find src/core/sched.h on the include path.
 */
Test(log, writers_do_not_interleave)
{
	char path[PATH_MAX], prefix[64];
	char *text, *line, *save;
	int counts[LOG_WRITERS] = { 0 };
	pid_t pids[LOG_WRITERS];
	int n = 0, status, i, j;

	snprintf(path, sizeof(path), "%s/log", tmpdir);
	cr_assert_eq(mps_log_init(MPS_LOG_INFO, path, "t"), 0);
	for (i = 0; i < LOG_WRITERS; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (!pids[i]) {
			for (j = 0; j < LOG_LINES; j++)
				mps_info("writer %d line %d %s", i, j,
					 "padding-padding-padding-padding-padding-padding");
			_exit(0);
		}
	}
	for (i = 0; i < LOG_WRITERS; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	text = read_all(path, NULL);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int id = -1, ln = -1;
		long pid = 0;
		char pad[64];

		cr_assert_eq(sscanf(line, "t[%ld]: info: writer %d line %d %63s",
				    &pid, &id, &ln, pad), 4, "%s", line);
		cr_assert(id >= 0 && id < LOG_WRITERS, "%s", line);
		cr_assert_eq(pid, (long)pids[id], "%s", line);
		snprintf(prefix, sizeof(prefix), "t[%ld]: info: writer ", pid);
		cr_assert_eq(strncmp(line, prefix, strlen(prefix)), 0, "%s", line);
		cr_assert_eq(ln, counts[id]++, "lines of one writer stay in order");
		cr_assert_str_eq(pad, "padding-padding-padding-padding-padding-padding");
		n++;
	}
	cr_assert_eq(n, LOG_WRITERS * LOG_LINES);
	free(text);
}

Test(config, policy_per_destination)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, b = { .sin_family = AF_INET };
	struct mps_config out;

	mps_config_defaults(&cfg);
	assert_set_ok("policy", "10.1.2.3:443 scheduler=redundant subflows=3 | "
		      "*:22 local=10.0.0.1,10.0.0.2 backup=10.0.0.2 path_subflows=3");
	cr_assert_eq(cfg.n_policy, 2);
	inet_pton(AF_INET, "10.1.2.3", &a.sin_addr);
	a.sin_port = htons(443);
	cr_assert(mps_config_for_dest(&cfg, (struct sockaddr *)&a, &out));
	cr_assert_str_eq(out.scheduler, "redundant");
	cr_assert_eq(out.subflows, 3);
	cr_assert_eq(out.n_local, 0, "untouched keys keep the base value");
	inet_pton(AF_INET, "192.0.2.9", &b.sin_addr);
	b.sin_port = htons(22);
	cr_assert(mps_config_for_dest(&cfg, (struct sockaddr *)&b, &out));
	cr_assert_eq(out.n_local, 2);
	cr_assert_eq(out.n_backup, 1);
	cr_assert_eq(out.path_subflows, 3);
	cr_assert_str_eq(out.scheduler, "ecf");
	b.sin_port = htons(80);
	cr_assert(!mps_config_for_dest(&cfg, (struct sockaddr *)&b, &out));
	/* keys a destination may not change, bad values, no key=value */
	assert_set_fails("policy", "*:22 log_level=debug", -EINVAL);
	assert_set_fails("policy", "*:22 subflows=99", -ERANGE);
	assert_set_fails("policy", "*:22 path_subflows=5", -ERANGE);
	assert_set_fails("policy", "*:22 subflows", -EINVAL);
	assert_set_fails("policy", "nohost:22 subflows=2", -EINVAL);
	cr_assert_eq(cfg.n_policy, 2, "a failed set leaves the old value");
}

/* early_data: a choice, from the environment and per destination; auto's
 * "declared server" is an upgrade entry of one address and one port. */
Test(config, early_data_key_and_declared_destinations)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_in6 b = { .sin6_family = AF_INET6 };
	struct mps_config out;
	char e[128];

	mps_config_defaults(&cfg);
	cr_assert_str_eq(cfg.early_data, "auto");
	assert_set_ok("early_data", "NO");
	cr_assert_str_eq(cfg.early_data, "no");
	assert_set_fails("early_data", "maybe", -EINVAL);
	setenv("MPSHIM_EARLY_DATA", "yes", 1);
	cr_assert_eq(mps_config_load_env(&cfg, e, sizeof(e)), 0, "%s", e);
	cr_assert_str_eq(cfg.early_data, "yes");
	assert_set_ok("policy", "10.1.2.3:443 early_data=no");
	inet_pton(AF_INET, "10.1.2.3", &a.sin_addr);
	a.sin_port = htons(443);
	cr_assert(mps_config_for_dest(&cfg, (struct sockaddr *)&a, &out));
	cr_assert_str_eq(out.early_data, "no");

	assert_set_ok("upgrade", "10.1.2.3:443, 10.9.0.0/16:80, *:8080, 10.1.2.4:*, "
		      "[2001:db8::1]:443, localhost:9000");
	cr_assert(mps_config_dest_declared(&cfg, (struct sockaddr *)&a));
	a.sin_port = htons(444);
	cr_assert(!mps_config_dest_declared(&cfg, (struct sockaddr *)&a), "another port");
	inet_pton(AF_INET, "10.9.1.1", &a.sin_addr);
	a.sin_port = htons(80);
	cr_assert(mps_config_dest_match(&cfg, (struct sockaddr *)&a));
	cr_assert(!mps_config_dest_declared(&cfg, (struct sockaddr *)&a), "a network");
	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	a.sin_port = htons(8080);
	cr_assert(!mps_config_dest_declared(&cfg, (struct sockaddr *)&a), "any address");
	inet_pton(AF_INET, "10.1.2.4", &a.sin_addr);
	cr_assert(!mps_config_dest_declared(&cfg, (struct sockaddr *)&a), "any port");
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	a.sin_port = htons(9000);
	cr_assert(mps_config_dest_declared(&cfg, (struct sockaddr *)&a), "localhost");
	inet_pton(AF_INET6, "2001:db8::1", &b.sin6_addr);
	b.sin6_port = htons(443);
	cr_assert(mps_config_dest_declared(&cfg, (struct sockaddr *)&b));
	inet_pton(AF_INET6, "::1", &b.sin6_addr);
	b.sin6_port = htons(9000);
	cr_assert(mps_config_dest_declared(&cfg, (struct sockaddr *)&b), "localhost, v6");
}

/* ---- forward mode and the shim's proxy ---------------------------------- */

Test(config, proxy_address)
{
	cr_assert_str_eq(cfg.proxy, "");
	cr_assert_str_eq(cfg.proxy_fallback, "direct");
	assert_set_ok("proxy", "198.51.100.7:9443");
	cr_assert_str_eq(cfg.proxy, "198.51.100.7:9443");
	assert_set_ok("proxy", "[2001:db8::7]:9443");
	cr_assert_str_eq(cfg.proxy, "[2001:db8::7]:9443");
	assert_set_ok("proxy", "none");
	cr_assert_str_eq(cfg.proxy, "");
	assert_set_ok("proxy", "  10.0.0.1:1  ");
	cr_assert_str_eq(cfg.proxy, "10.0.0.1:1");
	assert_set_ok("proxy", "");
	cr_assert_str_eq(cfg.proxy, "");

	assert_set_fails("proxy", "proxy.example:9443", -EINVAL);
	cr_assert(strstr(err, "hostnames are not supported"), "%s", err);
	assert_set_fails("proxy", "198.51.100.7", -EINVAL);
	assert_set_fails("proxy", "198.51.100.7:*", -EINVAL);
	assert_set_fails("proxy", "198.51.100.7:0", -ERANGE);
	assert_set_fails("proxy", "2001:db8::7:9443", -EINVAL);
	cr_assert(strstr(err, "brackets"), "%s", err);
	assert_set_fails("proxy", "[2001:db8::7]9443", -EINVAL);
	assert_set_fails("proxy", "[10.0.0.1]:9443", -EINVAL);
	cr_assert_str_eq(cfg.proxy, "", "a failed set keeps the old value");

	assert_set_ok("proxy_fallback", "FAIL");
	cr_assert_str_eq(cfg.proxy_fallback, "fail");
	cr_assert_not(mps_config_proxy_direct(&cfg));
	assert_set_ok("proxy_fallback", "direct");
	cr_assert(mps_config_proxy_direct(&cfg));
	assert_set_fails("proxy_fallback", "plain", -EINVAL);
}

Test(config, proxy_from_env_and_per_destination)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct mps_config out;

	setenv("MPSHIM_PROXY", "192.0.2.1:9000", 1);
	setenv("MPSHIM_PROXY_FALLBACK", "fail", 1);
	setenv("MPSHIM_PROXY_KEY_FILE", "/home/u/.config/mpshim.key", 1);
	cr_assert_eq(mps_config_load(&cfg, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.proxy, "192.0.2.1:9000");
	cr_assert_str_eq(cfg.proxy_fallback, "fail");
	cr_assert_str_eq(cfg.proxy_key_file, "/home/u/.config/mpshim.key");

	/* a policy sends one destination through another proxy, exempts
	 * one and leaves the rest to the global key */
	assert_set_ok("policy", "203.0.113.5:443 proxy=[2001:db8::1]:9000 proxy_fallback=direct"
		      " | 203.0.113.6:* proxy=none");
	inet_pton(AF_INET, "203.0.113.5", &a.sin_addr);
	a.sin_port = htons(443);
	cr_assert(mps_config_for_dest(&cfg, (struct sockaddr *)&a, &out));
	cr_assert_str_eq(out.proxy, "[2001:db8::1]:9000");
	cr_assert(mps_config_proxy_direct(&out));
	inet_pton(AF_INET, "203.0.113.6", &a.sin_addr);
	cr_assert(mps_config_for_dest(&cfg, (struct sockaddr *)&a, &out));
	cr_assert_str_eq(out.proxy, "");
	assert_set_fails("policy", "*:443 proxy=nohost:1", -EINVAL);
	assert_set_fails("policy", "*:443 proxy_key_file=/k", -EINVAL);
	cr_assert(strstr(err, "proxy_fallback, early_data)"), "%s", err);
	/* proxyd's keys have no environment variable: an inherited
	 * environment cannot open a forward proxy */
	cr_assert_null(mps_config_find("forward")->env);
	cr_assert_null(mps_config_find("forward_key_file")->env);
	cr_assert_null(mps_config_find("forward_allow")->env);
	cr_assert_null(mps_config_find("forward_deny")->env);
}

static bool permitted(const char *addr, unsigned port)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;

	memset(&u, 0, sizeof(u));
	if (inet_pton(AF_INET, addr, &u.in.sin_addr) == 1) {
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons((uint16_t)port);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, addr, &u.in6.sin6_addr), 1, "%s", addr);
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons((uint16_t)port);
	}
	return mps_config_forward_permitted(&cfg, &u.sa);
}

/* The defaults keep a client off the proxy's own host, private networks,
 * link-local and unspecified addresses, in either family and spelling. */
Test(config, forward_default_deny)
{
	static const char *const denied[] = {
		"127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.1.2",
		"172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
		"0.0.0.0", "0.1.2.3", "::1", "::", "fc00::1", "fd12:3456::1",
		"fe80::1", "febf::1", "::ffff:127.0.0.1", "::ffff:10.1.1.1",
		"::ffff:169.254.169.254", "::ffff:0.0.0.0",
	};
	static const char *const allowed[] = {
		"8.8.8.8", "172.15.255.255", "172.32.0.1", "192.167.1.1",
		"169.253.1.1", "11.0.0.1", "126.255.255.255", "128.0.0.1",
		"2001:db8::1", "::2", "fec0::1", "::ffff:8.8.8.8",
	};

	cr_assert_eq(cfg.n_forward_allow, 0);
	cr_assert_eq(cfg.n_forward_deny, 10);
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		cr_assert_not(permitted(denied[i], 443), "%s is not denied", denied[i]);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		cr_assert(permitted(allowed[i], 443), "%s is denied", allowed[i]);
	cr_assert_not(permitted("8.8.8.8", 0), "port 0");
}

Test(config, forward_allow_overrides_deny)
{
	/* the test bed's 10.x networks, one port range */
	assert_set_ok("forward_allow", "10.0.0.0/8:8000-8999, [fd00::1]");
	cr_assert_eq(cfg.n_forward_allow, 2);
	cr_assert(permitted("10.1.2.3", 8080));
	cr_assert(permitted("10.1.2.3", 8000));
	cr_assert(permitted("10.1.2.3", 8999));
	cr_assert_not(permitted("10.1.2.3", 22));
	cr_assert_not(permitted("10.1.2.3", 9000));
	cr_assert(permitted("::ffff:10.1.2.3", 8080));
	cr_assert(permitted("fd00::1", 22));
	cr_assert_not(permitted("fd00::2", 22));
	cr_assert_not(permitted("127.0.0.1", 8080));

	/* deny everything: only what forward_allow names */
	assert_set_ok("forward_deny", "*");
	assert_set_ok("forward_allow", "198.51.100.0/24:443, *:80");
	cr_assert(permitted("198.51.100.9", 443));
	cr_assert_not(permitted("198.51.100.9", 444));
	cr_assert_not(permitted("8.8.8.8", 443));
	cr_assert(permitted("8.8.8.8", 80));
	cr_assert(permitted("2001:db8::1", 80));

	/* nothing denied: an empty list */
	assert_set_ok("forward_deny", "");
	assert_set_ok("forward_allow", "");
	cr_assert(permitted("127.0.0.1", 22));
	assert_set_ok("forward_deny", "*:22, 192.0.2.0/24:1-1023");
	cr_assert_not(permitted("8.8.8.8", 22));
	cr_assert_not(permitted("192.0.2.1", 1023));
	cr_assert(permitted("192.0.2.1", 1024));
}

Test(config, forward_networks_syntax)
{
	assert_set_ok("forward_allow", "[2001:db8::]/32:443, [2001:db8::/48], "
		      "192.0.2.1, 192.0.2.0/24:*, *:1-65535, *");
	cr_assert_eq(cfg.n_forward_allow, 6);
	cr_assert_eq(cfg.forward_allow[0].family, AF_INET6);
	cr_assert_eq(cfg.forward_allow[0].prefix_len, 32);
	cr_assert_eq(cfg.forward_allow[0].port_min, 443);
	cr_assert_eq(cfg.forward_allow[0].port_max, 443);
	cr_assert_eq(cfg.forward_allow[1].prefix_len, 48);
	cr_assert_eq(cfg.forward_allow[1].port_min, 1);
	cr_assert_eq(cfg.forward_allow[1].port_max, 65535);
	cr_assert_eq(cfg.forward_allow[2].prefix_len, 32);
	cr_assert(cfg.forward_allow[5].any_addr);

	assert_set_fails("forward_allow", "fc00::/7", -EINVAL);
	cr_assert(strstr(err, "brackets"), "%s", err);
	assert_set_fails("forward_allow", "10.0.0.0/33", -ERANGE);
	assert_set_fails("forward_allow", "10.0.0.0/8:0", -ERANGE);
	assert_set_fails("forward_allow", "10.0.0.0/8:90-80", -ERANGE);
	assert_set_fails("forward_allow", "10.0.0.0/8:1-70000", -ERANGE);
	assert_set_fails("forward_allow", "10.0.0.0/8:a", -EINVAL);
	assert_set_fails("forward_allow", "10.0.0.0/8:1--2", -EINVAL);
	assert_set_fails("forward_allow", "10.0.0.0/8:-2", -EINVAL);
	assert_set_fails("forward_allow", "[fc00::]x", -EINVAL);
	assert_set_fails("forward_allow", "[fc00::", -EINVAL);
	assert_set_fails("forward_allow", "example.org", -EINVAL);
	assert_set_fails("forward_allow", "10.0.0.1,,10.0.0.2", -EINVAL);
	cr_assert_eq(cfg.n_forward_allow, 6, "a failed set keeps the old list");
}

/* proxyd's own addresses behind a load balancer: reachable ones only. */
Test(config, advertise_takes_reachable_addresses)
{
	cr_assert_eq(cfg.n_advertise, 0, "nothing advertised by default");
	cr_assert_null(mps_config_find("advertise")->env);
	assert_set_ok("advertise", "192.0.2.10:7000, [2001:db8::7]:7443");
	cr_assert_eq(cfg.n_advertise, 2);
	cr_assert_str_eq(cfg.advertise[0], "192.0.2.10:7000");
	cr_assert_str_eq(cfg.advertise[1], "[2001:db8::7]:7443");

	assert_set_fails("advertise", "0.0.0.0:7000", -EINVAL);
	cr_assert(strstr(err, "reach"), "%s", err);
	assert_set_fails("advertise", "[::]:7000", -EINVAL);
	assert_set_fails("advertise", "192.0.2.10", -EINVAL);
	assert_set_fails("advertise", "192.0.2.10:*", -EINVAL);
	assert_set_fails("advertise", "2001:db8::7:7000", -EINVAL);
	assert_set_fails("advertise", "lb.example:7000", -EINVAL);
	assert_set_fails("advertise", "192.0.2.1:1, none", -EINVAL);
	assert_set_fails("advertise", "192.0.2.1:1,,192.0.2.2:1", -EINVAL);
	assert_set_fails("advertise", "192.0.2.1:1, 192.0.2.2:1, 192.0.2.3:1, "
			 "192.0.2.4:1, 192.0.2.5:1, 192.0.2.6:1, 192.0.2.7:1, "
			 "192.0.2.8:1, 192.0.2.9:1", -ERANGE);
	cr_assert_eq(cfg.n_advertise, 2, "a failed set keeps the old list");
	assert_set_ok("advertise", "none");
	cr_assert_eq(cfg.n_advertise, 0);
	assert_set_ok("advertise", "");
	cr_assert_eq(cfg.n_advertise, 0);
}
