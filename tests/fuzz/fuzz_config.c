/*
 * fuzz_config.c - libFuzzer harness for the configuration parser
 * (src/core/config.c, the table in src/core/options.c).
 *
 * The input is used twice:
 *  - split into lines, each line into KEY=VALUE at its first '=' (a line
 *    without one is KEY with no value), and handed to mps_config_set() on
 *    a config holding the defaults; the value is also set on the table key
 *    the KEY bytes hash to, so every value reaches a typed parser even when
 *    the key is noise;
 *  - written to an unlinked temp file (mode 0600) and loaded with
 *    mps_config_load_file() through /proc/self/fd.
 * Invariants: nothing crashes; the only errors are the documented ones,
 * each with a message; a failed set or load leaves the config exactly as
 * it was (all-or-nothing); a successful set is idempotent; after every
 * step the config is within the table's bounds.  Then both configs are
 * matched against fixed destinations, where an IPv4 address that matches
 * must also match as a v4-mapped IPv6 address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_LEN		512

static int tmp_fd = -1;
static char tmp_path[64];	/* /proc/self/fd/N */

static void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_config: invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Every field within what the table allows. */
static void check_config(const struct mps_config *cfg)
{
	size_t i;

	if (cfg->n_upgrade > MPS_CFG_MAX_RULES || cfg->n_local > MPS_CFG_MAX_LOCAL ||
	    cfg->n_backup > MPS_CFG_MAX_LOCAL)
		fail("list count out of bounds: upgrade %u local %u backup %u",
		     cfg->n_upgrade, cfg->n_local, cfg->n_backup);
	for (i = 0; i < cfg->n_upgrade; i++) {
		const struct mps_dest_rule *r = &cfg->upgrade[i];

		if (r->any_addr)
			continue;
		if (r->family == AF_INET ? r->prefix_len > 32 :
		    r->family == AF_INET6 ? r->prefix_len > 128 : true)
			fail("upgrade rule %zu: family %d prefix /%u", i,
			     r->family, r->prefix_len);
		if (!r->any_port && r->port == 0)
			fail("upgrade rule %zu: port 0", i);
	}
	for (i = 0; i < cfg->n_local; i++)
		if (!terminated(cfg->local[i].name, sizeof(cfg->local[i].name)))
			fail("local %zu: name not terminated", i);
	for (i = 0; i < cfg->n_backup; i++)
		if (!terminated(cfg->backup[i].name, sizeof(cfg->backup[i].name)))
			fail("backup %zu: name not terminated", i);

	for (i = 0; i < mps_options_count; i++) {
		const struct mps_option *opt = &mps_options[i];
		const char *field = (const char *)cfg + opt->offset;
		const char *const *c;
		long v;

		switch (opt->type) {
		case MPS_OPT_INT:
		case MPS_OPT_SIZE:
		case MPS_OPT_MS:
			memcpy(&v, field, sizeof(v));
			if (v < opt->min || v > opt->max)
				fail("%s = %ld outside [%ld, %ld]", opt->name, v,
				     opt->min, opt->max);
			break;
		case MPS_OPT_LEVEL:
			memcpy(&v, field, sizeof(v));
			if (v < 0 || v > 4)
				fail("%s = %ld is no level", opt->name, v);
			break;
		case MPS_OPT_STRING:
			if (!terminated(field, opt->size))
				fail("%s not terminated", opt->name);
			break;
		case MPS_OPT_CHOICE:
			for (c = opt->choices; c && *c; c++)
				if (!strcmp(field, *c))
					break;
			if (!c || !*c)
				fail("%s = '%.*s' is not a choice", opt->name,
				     (int)opt->size, field);
			break;
		case MPS_OPT_BOOL:
		case MPS_OPT_DESTS:
		case MPS_OPT_LOCALS:
			break;
		case MPS_OPT_ADDR:
			if (!terminated(field, opt->size))
				fail("%s not terminated", opt->name);
			break;
		case MPS_OPT_ADDRS: {
			const char (*a)[MPS_CFG_ADDR_LEN] = (const void *)field;
			unsigned n;

			memcpy(&n, field + opt->size, sizeof(n));
			if (n > MPS_CFG_MAX_ADDRS)
				fail("%s: %u addresses stored", opt->name, n);
			for (unsigned k = 0; k < n; k++)
				if (!terminated(a[k], MPS_CFG_ADDR_LEN))
					fail("%s %u: not terminated", opt->name, k);
			break;
		}
		case MPS_OPT_NETS: {
			const struct mps_net_rule *r = (const void *)field;
			unsigned n;

			memcpy(&n, field + opt->size, sizeof(n));
			if (n > MPS_CFG_MAX_RULES)
				fail("%s: %u networks stored", opt->name, n);
			for (unsigned k = 0; k < n; k++) {
				if (r[k].port_min < 1 || r[k].port_min > r[k].port_max)
					fail("%s %u: ports %u-%u", opt->name, k,
					     r[k].port_min, r[k].port_max);
				if (!r[k].any_addr &&
				    (r[k].family == AF_INET ? r[k].prefix_len > 32 :
				     r[k].family == AF_INET6 ? r[k].prefix_len > 128 : true))
					fail("%s %u: family %d prefix /%u", opt->name, k,
					     r[k].family, r[k].prefix_len);
			}
			break;
		}
		case MPS_OPT_POLICY:
			if (cfg->n_policy > MPS_CFG_MAX_POLICIES)
				fail("%u policies stored", cfg->n_policy);
			break;
		}
	}
}

static void check_ret(int ret, const char *err, const char *what)
{
	if (ret != 0 && ret != -ENOENT && ret != -EINVAL && ret != -ERANGE)
		fail("%s returned %d", what, ret);
	if (!terminated(err, ERR_LEN))
		fail("%s: message not terminated", what);
	if (ret && !*err)
		fail("%s failed (%d) without a message", what, ret);
}

static void set_one(struct mps_config *cfg, const char *key, const char *value)
{
	static struct mps_config before, again;
	char err[ERR_LEN];
	int ret, ret2;

	memcpy(&before, cfg, sizeof(before));
	memset(err, 0, sizeof(err));
	ret = mps_config_set(cfg, key, value, err, sizeof(err));
	check_ret(ret, err, "mps_config_set");
	if (ret) {
		if (memcmp(&before, cfg, sizeof(before)))
			fail("failed set of '%s' (%d: %s) changed the config",
			     key, ret, err);
		return;
	}
	check_config(cfg);
	/* the same text again gives the same config */
	memcpy(&again, cfg, sizeof(again));
	ret2 = mps_config_set(&again, key, value, err, sizeof(err));
	if (ret2 || memcmp(&again, cfg, sizeof(again)))
		fail("setting '%s' twice is not idempotent (%d)", key, ret2);
}

/* Split into lines, each into KEY=VALUE, and set them. */
static void set_lines(struct mps_config *cfg, const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char *line, *next, *eq;
	unsigned h;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (eq)
			*eq = '\0';
		set_one(cfg, line, eq ? eq + 1 : NULL);
		if (!eq)
			continue;
		for (h = 0; *line; line++)
			h = h * 31 + (unsigned char)*line;
		set_one(cfg, mps_options[h % mps_options_count].name, eq + 1);
	}
	free(text);
}

static void load_file(struct mps_config *cfg, const uint8_t *data, size_t size)
{
	static struct mps_config before;
	char err[ERR_LEN];
	int ret;

	if (tmp_fd < 0) {
		char path[] = "/tmp/fuzz_config.XXXXXX";
		const char *dir = getenv("TMPDIR");
		char buf[4096];

		if (dir && *dir &&
		    (size_t)snprintf(buf, sizeof(buf), "%s/fuzz_config.XXXXXX", dir) < sizeof(buf))
			tmp_fd = mkstemp(buf);
		else
			tmp_fd = mkstemp(path);
		if (tmp_fd < 0 || fchmod(tmp_fd, 0600) < 0)
			fail("cannot create a temp file: %s", strerror(errno));
		/* gone from the directory at once: nothing is left behind */
		unlink(dir && *dir ? buf : path);
		snprintf(tmp_path, sizeof(tmp_path), "/proc/self/fd/%d", tmp_fd);
	}
	if (ftruncate(tmp_fd, 0) < 0 ||
	    (size && pwrite(tmp_fd, data, size, 0) != (ssize_t)size))
		fail("cannot write the temp file: %s", strerror(errno));

	memcpy(&before, cfg, sizeof(before));
	memset(err, 0, sizeof(err));
	ret = mps_config_load_file(cfg, tmp_path, err, sizeof(err));
	check_ret(ret, err, "mps_config_load_file");
	if (ret) {
		if (memcmp(&before, cfg, sizeof(before)))
			fail("failed load (%d: %s) changed the config", ret, err);
		if (strncmp(err, tmp_path, strlen(tmp_path)))
			fail("load error does not name the file: %s", err);
		return;
	}
	check_config(cfg);
}

static void sin4(struct sockaddr_storage *ss, const char *a, unsigned port)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, a, &s->sin_addr);
}

static void sin6(struct sockaddr_storage *ss, const char *a, unsigned port)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, a, &s->sin6_addr);
}

static void check_match(const struct mps_config *cfg)
{
	static const struct { const char *v4; unsigned port; } dests[] = {
		{ "127.0.0.1", 80 }, { "10.1.2.3", 443 }, { "192.0.2.1", 8080 },
		{ "0.0.0.0", 1 }, { "255.255.255.255", 65535 },
	};
	static const struct { const char *v6; unsigned port; } dests6[] = {
		{ "::1", 22 }, { "2001:db8::1", 443 }, { "fe80::1", 80 }, { "::", 9 },
	};
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	char mapped[64];
	bool any = false, m4, m6;
	size_t i;

	for (i = 0; i < cfg->n_upgrade; i++)
		if (cfg->upgrade[i].any_addr && cfg->upgrade[i].any_port)
			any = true;
	for (i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
		sin4(&ss, dests[i].v4, dests[i].port);
		m4 = mps_config_dest_match(cfg, (struct sockaddr *)&ss);
		snprintf(mapped, sizeof(mapped), "::ffff:%s", dests[i].v4);
		sin6(&ss, mapped, dests[i].port);
		m6 = mps_config_dest_match(cfg, (struct sockaddr *)&ss);
		if (m4 && !m6)
			fail("%s:%u matches, %s does not", dests[i].v4,
			     dests[i].port, mapped);
		if (any && !m4)
			fail("'*' in upgrade, yet %s:%u does not match",
			     dests[i].v4, dests[i].port);
	}
	for (i = 0; i < sizeof(dests6) / sizeof(dests6[0]); i++) {
		sin6(&ss, dests6[i].v6, dests6[i].port);
		m6 = mps_config_dest_match(cfg, (struct sockaddr *)&ss);
		if (any && !m6)
			fail("'*' in upgrade, yet [%s]:%u does not match",
			     dests6[i].v6, dests6[i].port);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (mps_config_dest_match(cfg, (struct sockaddr *)&sun))
		fail("an AF_UNIX address matched");
	if (mps_config_dest_match(cfg, NULL))
		fail("NULL matched");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mps_config cfg;

	mps_config_defaults(&cfg);
	check_config(&cfg);
	set_lines(&cfg, data, size);
	check_match(&cfg);

	mps_config_defaults(&cfg);
	load_file(&cfg, data, size);
	check_match(&cfg);
	return 0;
}
