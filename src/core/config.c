/*
 * config.c - parse configuration text into struct mps_config.
 *
 * Owns: type-driven parsing of one key (driven by mps_options[] in
 * options.c), the `key = value` file loader, the MPSHIM_* environment
 * loader, the precedence order of mps_config_load(), the destination
 * match run on every connect(), and the --help-config listing.
 *
 * Every setter is all-or-nothing: a value, a file or the environment that
 * fails to parse leaves the config as it was, so a caller that falls open
 * to plain TCP never runs with half a file applied.
 */
#include "config.h"
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include "addr.h"
#include "log.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define CFG_SYSTEM_FILE	SYSCONFDIR "/mpshim.conf"
#define CFG_USER_FILE	"/.config/mpshim.conf"	/* under $HOME */
#define CFG_VALUE_MAX	4096	/* longest value, after trimming */
#define CFG_LINE_MAX	4096	/* longest line of a config file */
#define CFG_ITEM_MAX	128	/* longest entry of a comma list */
#define CFG_MSG_MAX	256	/* message before a FILE:LINE or env prefix */
#define IFNAME_MAX	15	/* IFNAMSIZ - 1 */

#define K	1024L
#define M	(1024L * 1024L)
#define G	(1024L * 1024L * 1024L)

static void cfg_msg(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cfg_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Setuid/setgid (or otherwise secure-mode) process: trust no user input. */
static bool cfg_secure(void)
{
	return getauxval(AT_SECURE) != 0;
}

static const char *cfg_getenv(const char *name)
{
	if (cfg_secure())
		return NULL;
	return getenv(name);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	       c == '\v' || c == '\f';
}

/* Trim [*s, *e) of white space on both ends. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

/* Copy [s, e) into buf as a string; false when it does not fit. */
static bool copy_span(char *buf, size_t size, const char *s, const char *e)
{
	size_t len = (size_t)(e - s);

	if (len >= size)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return true;
}

/* ---- numbers ---------------------------------------------------------- */

/*
 * Decimal digits with an optional '-'; *sp is left after the digits, even
 * on overflow, so the caller can still check what follows.
 * Returns 0, -EINVAL when there are no digits, -ERANGE on overflow.
 * Hand-rolled instead of strtol so no errno is touched and "+", leading
 * blanks and "0x" are refused rather than half-accepted.
 */
static int parse_digits(const char **sp, long *out)
{
	const char *s = *sp;
	bool neg = false;
	int ret = 0;
	long v = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		int d = *s - '0';

		if (v > (LONG_MAX - d) / 10)
			ret = -ERANGE;
		else
			v = v * 10 + d;
	}
	*sp = s;
	if (!ret)
		*out = neg ? -v : v;
	return ret;
}

/*
 * A bound as the user would write it: 64K, 1G, 30s, 250ms; sizes up to
 * 1024 stay in bytes (1024..65519 reads better than 1K..65519).
 */
static void fmt_number(enum mps_opt_type type, long v, char *buf, size_t len)
{
	if (v > 1024 && type == MPS_OPT_SIZE) {
		if (v % G == 0)
			snprintf(buf, len, "%ldG", v / G);
		else if (v % M == 0)
			snprintf(buf, len, "%ldM", v / M);
		else if (v % K == 0)
			snprintf(buf, len, "%ldK", v / K);
		else
			snprintf(buf, len, "%ld", v);
	} else if (v != 0 && type == MPS_OPT_MS) {
		if (v % 1000 == 0)
			snprintf(buf, len, "%lds", v / 1000);
		else
			snprintf(buf, len, "%ldms", v);
	} else {
		snprintf(buf, len, "%ld", v);
	}
}

static int parse_number(const struct mps_option *opt, const char *val,
			long *out, char *err, size_t errlen)
{
	const char *s = val;
	long v, mult = 1;
	char lo[32], hi[32];
	int ret;

	ret = parse_digits(&s, &v);
	if (ret == -EINVAL)
		goto bad;
	if (opt->type == MPS_OPT_SIZE) {
		if (!strcmp(s, "k") || !strcmp(s, "K"))
			mult = K;
		else if (!strcmp(s, "m") || !strcmp(s, "M"))
			mult = M;
		else if (!strcmp(s, "g") || !strcmp(s, "G"))
			mult = G;
		else if (*s)
			goto bad;
	} else if (opt->type == MPS_OPT_MS) {
		if (!strcmp(s, "s"))
			mult = 1000;
		else if (*s && strcmp(s, "ms"))
			goto bad;
	} else if (*s) {
		goto bad;
	}
	if (!ret && (v > LONG_MAX / mult || v < LONG_MIN / mult))
		ret = -ERANGE;
	if (!ret)
		v *= mult;
	if (ret || v < opt->min || v > opt->max) {
		fmt_number(opt->type, opt->min, lo, sizeof(lo));
		fmt_number(opt->type, opt->max, hi, sizeof(hi));
		cfg_msg(err, errlen, "%s is out of range %s..%s", val, lo, hi);
		return -ERANGE;
	}
	*out = v;
	return 0;
bad:
	if (opt->type == MPS_OPT_SIZE)
		cfg_msg(err, errlen,
			"'%s' is not a size (a number of bytes, optionally followed by K, M or G)",
			val);
	else if (opt->type == MPS_OPT_MS)
		cfg_msg(err, errlen,
			"'%s' is not a duration (milliseconds, or a number followed by ms or s)",
			val);
	else
		cfg_msg(err, errlen, "'%s' is not a number", val);
	return -EINVAL;
}

static int parse_bool(const char *val, bool *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(val, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(val, no[i])) {
			*out = false;
			return 0;
		}
	}
	cfg_msg(err, errlen, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)",
		val);
	return -EINVAL;
}

/* ---- addresses -------------------------------------------------------- */

/* Something a resolver would take: letters, digits, '-', '.', one letter. */
static bool looks_like_hostname(const char *s)
{
	bool alpha = false;

	for (; *s; s++) {
		if (isalpha((unsigned char)*s))
			alpha = true;
		else if (!isdigit((unsigned char)*s) && *s != '-' && *s != '.')
			return false;
	}
	return alpha;
}

static int bad_address(const char *host, char *err, size_t errlen)
{
	if (looks_like_hostname(host))
		cfg_msg(err, errlen,
			"'%s': hostnames are not supported, use an address",
			host);
	else
		cfg_msg(err, errlen, "'%s' is not an IP address", host);
	return -EINVAL;
}

/* Clear the bits past the prefix so matching compares whole bytes. */
static void mask_prefix(uint8_t *addr, unsigned alen, unsigned plen)
{
	unsigned i;

	for (i = 0; i < alen; i++) {
		if (plen >= 8) {
			plen -= 8;
		} else {
			addr[i] &= (uint8_t)(0xff << (8 - plen));
			plen = 0;
		}
	}
}

/*
 * host is "ADDR" or "ADDR/PREFIX", without brackets; v6 tells which
 * family the syntax promised (brackets).
 */
static int parse_rule_addr(char *host, bool v6, struct mps_dest_rule *r,
			   char *err, size_t errlen)
{
	char *slash = strchr(host, '/');
	unsigned alen = v6 ? 16 : 4;
	long plen = v6 ? 128 : 32;

	if (slash) {
		const char *p = slash + 1;
		int ret;

		*slash = '\0';
		ret = parse_digits(&p, &plen);
		if (ret == -EINVAL || *p || slash[1] == '-') {
			cfg_msg(err, errlen, "'%s' is not a prefix length",
				slash + 1);
			return -EINVAL;
		}
		if (ret)
			plen = LONG_MAX;	/* overflow: refused below */
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, r->addr) != 1) {
		if (!v6 && inet_pton(AF_INET6, host, r->addr) == 1) {
			cfg_msg(err, errlen,
				"'%s': IPv6 addresses need brackets, as in [%s]:PORT",
				host, host);
			return -EINVAL;
		}
		return bad_address(host, err, errlen);
	}
	if (plen > (long)alen * 8) {
		cfg_msg(err, errlen, "prefix /%s is out of range 0..%u",
			slash + 1, alen * 8);
		return -ERANGE;
	}
	r->family = v6 ? AF_INET6 : AF_INET;
	r->prefix_len = (unsigned)plen;
	mask_prefix(r->addr, alen, r->prefix_len);
	return 0;
}

static int parse_port(const char *s, struct mps_dest_rule *r, char *err,
		      size_t errlen)
{
	const char *p = s;
	long port;
	int ret;

	if (!strcmp(s, "*")) {
		r->any_port = true;
		return 0;
	}
	ret = parse_digits(&p, &port);
	if (ret == -EINVAL || *p || *s == '-') {
		cfg_msg(err, errlen, "'%s' is not a port number", s);
		return -EINVAL;
	}
	if (ret || port < 1 || port > 65535) {
		cfg_msg(err, errlen, "port %s is out of range 1..65535", s);
		return -ERANGE;
	}
	r->port = (uint16_t)port;
	return 0;
}

static int parse_policies(const char *val, struct mps_config *cfg, char *err,
			  size_t errlen);

/* One entry of the upgrade list; appends one rule, or two for localhost. */
static int parse_dest(char *item, struct mps_dest_rule *rules, unsigned *n,
		      char *err, size_t errlen)
{
	struct mps_dest_rule r;
	char *host, *port;
	bool v6 = false;
	int ret;

	memset(&r, 0, sizeof(r));
	if (!strcmp(item, "*")) {
		r.any_addr = true;
		r.any_port = true;
		goto add;
	}

	if (item[0] == '[') {
		char *close = strchr(item, ']');

		if (!close) {
			cfg_msg(err, errlen, "'%s': missing ']'", item);
			return -EINVAL;
		}
		*close = '\0';
		host = item + 1;
		port = close + 1;
		/* [V6ADDR]/PREFIX:PORT: move the prefix inside the brackets */
		if (*port == '/') {
			char *colon = strrchr(port, ':');
			size_t hlen = strlen(host), plen;

			if (!colon) {
				cfg_msg(err, errlen,
					"'%s' needs a port: [ADDR]:PORT or [ADDR]:*",
					item + 1);
				return -EINVAL;
			}
			plen = (size_t)(colon - port);
			memmove(host + hlen, port, plen);
			host[hlen + plen] = '\0';
			port = colon;
		}
		if (*port != ':') {
			cfg_msg(err, errlen,
				"'%s' needs a port: [ADDR]:PORT or [ADDR]:*",
				host);
			return -EINVAL;
		}
		port++;
		v6 = true;
	} else {
		port = strrchr(item, ':');
		if (!port) {
			cfg_msg(err, errlen,
				"'%s' needs a port: ADDR:PORT or ADDR:* (* alone matches everything)",
				item);
			return -EINVAL;
		}
		*port++ = '\0';
		host = item;
		if (strchr(host, ':')) {
			cfg_msg(err, errlen,
				"'%s:%s': IPv6 addresses need brackets, as in [ADDR]:PORT",
				host, port);
			return -EINVAL;
		}
	}

	ret = parse_port(port, &r, err, errlen);
	if (ret)
		return ret;

	if (!v6 && !strcmp(host, "*")) {
		r.any_addr = true;
		goto add;
	}
	if (!v6 && !strcasecmp(host, "localhost")) {
		/* what connect() sees for localhost: either loopback */
		if (*n + 2 > MPS_CFG_MAX_RULES)
			goto full;
		r.family = AF_INET;
		r.prefix_len = 32;
		inet_pton(AF_INET, "127.0.0.1", r.addr);
		rules[(*n)++] = r;
		r.family = AF_INET6;
		r.prefix_len = 128;
		inet_pton(AF_INET6, "::1", r.addr);
		rules[(*n)++] = r;
		return 0;
	}
	ret = parse_rule_addr(host, v6, &r, err, errlen);
	if (ret)
		return ret;
add:
	if (*n + 1 > MPS_CFG_MAX_RULES)
		goto full;
	rules[(*n)++] = r;
	return 0;
full:
	cfg_msg(err, errlen, "more than %d destination rules", MPS_CFG_MAX_RULES);
	return -ERANGE;
}

/* PORTS of a network rule: *, N or N-M (1..65535, N <= M). */
static int parse_port_range(const char *s, struct mps_net_rule *r, char *err,
			    size_t errlen)
{
	const char *p = s;
	long lo, hi;
	int ret;

	if (!strcmp(s, "*")) {
		r->port_min = 1;
		r->port_max = 65535;
		return 0;
	}
	ret = parse_digits(&p, &lo);
	hi = lo;
	if (!ret && *p == '-') {
		p++;
		if (*p == '-')
			ret = -EINVAL;
		else
			ret = parse_digits(&p, &hi);
	}
	if (ret == -EINVAL || *p || *s == '-') {
		cfg_msg(err, errlen, "'%s' is not a port or port range (N or N-M)", s);
		return -EINVAL;
	}
	if (ret || lo < 1 || hi > 65535 || lo > hi) {
		cfg_msg(err, errlen, "port range %s is out of range 1..65535 or reversed", s);
		return -ERANGE;
	}
	r->port_min = (uint16_t)lo;
	r->port_max = (uint16_t)hi;
	return 0;
}

/*
 * One entry of forward_allow / forward_deny: *, ADDR[/PREFIX] or
 * [V6ADDR][/PREFIX], each optionally followed by :PORTS; *:PORTS.  An
 * entry without ports covers every port.
 */
static int parse_net(char *item, struct mps_net_rule *r, char *err, size_t errlen)
{
	struct mps_dest_rule d;
	char *host = item, *ports = NULL;
	bool v6 = false;
	int ret;

	memset(r, 0, sizeof(*r));
	r->port_min = 1;
	r->port_max = 65535;
	if (!strcmp(item, "*")) {
		r->any_addr = true;
		return 0;
	}
	if (item[0] == '[') {
		char *close = strchr(item, ']');
		size_t hlen;

		if (!close) {
			cfg_msg(err, errlen, "'%s': missing ']'", item);
			return -EINVAL;
		}
		*close = '\0';
		host = item + 1;
		hlen = strlen(host);
		ports = close + 1;
		/* [V6ADDR]/PREFIX: move the prefix inside, as upgrade does */
		if (*ports == '/') {
			size_t plen = strcspn(ports, ":");

			memmove(host + hlen, ports, plen);
			host[hlen + plen] = '\0';
			ports += plen;
		}
		if (*ports && *ports != ':') {
			cfg_msg(err, errlen, "'%s': expected :PORTS after ']'", host);
			return -EINVAL;
		}
		ports = *ports ? ports + 1 : NULL;
		v6 = true;
	} else {
		char *colon = strchr(item, ':');

		if (colon && strchr(colon + 1, ':')) {
			cfg_msg(err, errlen,
				"'%s': IPv6 networks need brackets, as in [fc00::]/7",
				item);
			return -EINVAL;
		}
		if (colon) {
			*colon = '\0';
			ports = colon + 1;
		}
	}
	if (ports) {
		ret = parse_port_range(ports, r, err, errlen);
		if (ret)
			return ret;
	}
	if (!v6 && !strcmp(host, "*")) {
		r->any_addr = true;
		return 0;
	}
	memset(&d, 0, sizeof(d));
	ret = parse_rule_addr(host, v6, &d, err, errlen);
	if (ret)
		return ret;
	r->family = d.family;
	r->prefix_len = d.prefix_len;
	memcpy(r->addr, d.addr, sizeof(r->addr));
	return 0;
}

/* ADDR:PORT or [V6ADDR]:PORT, checked and kept as written; "" or "none"
 * for no address. */
static int parse_addr_value(const char *val, char *field, size_t size,
			    char *err, size_t errlen)
{
	char buf[MPS_CFG_ADDR_LEN], *host, *port;
	struct mps_dest_rule r;
	uint8_t a[16];
	bool v6;
	int ret;

	if (!*val || !strcasecmp(val, "none")) {
		field[0] = '\0';
		return 0;
	}
	if (strlen(val) >= sizeof(buf) || strlen(val) >= size) {
		cfg_msg(err, errlen, "'%s' is too long for an address", val);
		return -ERANGE;
	}
	memcpy(buf, val, strlen(val) + 1);
	v6 = buf[0] == '[';
	if (v6) {
		char *close = strchr(buf, ']');

		if (!close || close[1] != ':') {
			cfg_msg(err, errlen, "'%s': want [V6ADDR]:PORT", val);
			return -EINVAL;
		}
		*close = '\0';
		host = buf + 1;
		port = close + 2;
	} else {
		port = strrchr(buf, ':');
		if (!port) {
			cfg_msg(err, errlen, "'%s' needs a port: ADDR:PORT", val);
			return -EINVAL;
		}
		*port++ = '\0';
		host = buf;
	}
	memset(&r, 0, sizeof(r));
	ret = parse_port(port, &r, err, errlen);
	if (!ret && r.any_port) {
		cfg_msg(err, errlen, "'%s': the port cannot be *", val);
		ret = -EINVAL;
	}
	if (ret)
		return ret;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1) {
		if (!v6 && inet_pton(AF_INET6, host, a) == 1) {
			cfg_msg(err, errlen,
				"'%s': IPv6 addresses need brackets, as in [%s]:PORT",
				host, host);
			return -EINVAL;
		}
		return bad_address(host, err, errlen);
	}
	memcpy(field, val, strlen(val) + 1);
	return 0;
}

/* One entry of an ADDRS list: an address a peer can connect to, so
 * neither "none" nor the unspecified address a listener binds. */
static int parse_addrs_item(const char *item, char *field, char *err, size_t errlen)
{
	union mps_sockaddr sa;
	int ret = parse_addr_value(item, field, MPS_CFG_ADDR_LEN, err, errlen);

	if (ret)
		return ret;
	if (!field[0] || mps_addr_parse(field, &sa) || mps_addr_is_any(&sa.sa)) {
		cfg_msg(err, errlen, "'%s' is not an address a client can reach", item);
		return -EINVAL;
	}
	return 0;
}

static bool valid_ifname(const char *s)
{
	size_t len = strlen(s), i;
	bool only_dots_digits = true;

	if (len < 1 || len > IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
		if (!isdigit(c) && c != '.')
			only_dots_digits = false;
	}
	/* "10.0.0.256" is a typo of an address, not an interface */
	return !only_dots_digits;
}

static int parse_local(char *item, struct mps_local *l, char *err,
		       size_t errlen)
{
	char *a = item;
	size_t len = strlen(item);

	memset(l, 0, sizeof(*l));
	if (len >= sizeof(l->name)) {
		cfg_msg(err, errlen, "'%s' is too long", item);
		return -EINVAL;
	}
	memcpy(l->name, item, len + 1);

	if (!strcmp(item, "*")) {
		l->is_iface = true;
		l->any_iface = true;
		return 0;
	}
	if (item[0] == '[' && len > 2 && item[len - 1] == ']') {
		item[len - 1] = '\0';
		a = item + 1;
		if (inet_pton(AF_INET6, a, l->addr) == 1) {
			l->family = AF_INET6;
			return 0;
		}
		cfg_msg(err, errlen, "'%s' is not an IPv6 address", a);
		return -EINVAL;
	}
	if (inet_pton(AF_INET, a, l->addr) == 1) {
		l->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, a, l->addr) == 1) {
		l->family = AF_INET6;
		return 0;
	}
	if (valid_ifname(a)) {
		l->is_iface = true;
		return 0;
	}
	cfg_msg(err, errlen,
		"'%s' is neither an IP address nor an interface name (1..%d of A-Z a-z 0-9 _ . -)",
		a, IFNAME_MAX);
	return -EINVAL;
}

/*
 * Walk a comma list, handing each trimmed entry (a writable copy) to the
 * type's parser.  An empty list is valid; an empty entry is not.
 */
static int parse_list(const struct mps_option *opt, const char *val,
		      struct mps_dest_rule *rules, unsigned *n_rules,
		      struct mps_local *locals, unsigned *n_locals,
		      struct mps_net_rule *nets, unsigned *n_nets,
		      char (*addrs)[MPS_CFG_ADDR_LEN], unsigned *n_addrs,
		      char *err, size_t errlen)
{
	const char *s = val, *e;
	char item[CFG_ITEM_MAX];
	int ret;

	if (!*val)
		return 0;
	for (;;) {
		const char *is, *ie;

		e = strchr(s, ',');
		if (!e)
			e = s + strlen(s);
		is = s;
		ie = e;
		trim(&is, &ie);
		if (is == ie) {
			cfg_msg(err, errlen, "empty entry in list '%s'", val);
			return -EINVAL;
		}
		if (!copy_span(item, sizeof(item), is, ie)) {
			cfg_msg(err, errlen, "entry '%.*s...' is too long",
				20, is);
			return -EINVAL;
		}
		if (opt->type == MPS_OPT_DESTS) {
			ret = parse_dest(item, rules, n_rules, err, errlen);
		} else if (opt->type == MPS_OPT_NETS) {
			if (*n_nets >= MPS_CFG_MAX_RULES) {
				cfg_msg(err, errlen, "more than %d networks",
					MPS_CFG_MAX_RULES);
				ret = -ERANGE;
			} else {
				ret = parse_net(item, &nets[*n_nets], err, errlen);
				if (!ret)
					(*n_nets)++;
			}
		} else if (opt->type == MPS_OPT_ADDRS) {
			if (*n_addrs >= MPS_CFG_MAX_ADDRS) {
				cfg_msg(err, errlen, "more than %d addresses",
					MPS_CFG_MAX_ADDRS);
				ret = -ERANGE;
			} else {
				ret = parse_addrs_item(item, addrs[*n_addrs], err,
						       errlen);
				if (!ret)
					(*n_addrs)++;
			}
		} else if (*n_locals >= MPS_CFG_MAX_LOCAL) {
			cfg_msg(err, errlen, "more than %d local entries",
				MPS_CFG_MAX_LOCAL);
			ret = -ERANGE;
		} else {
			ret = parse_local(item, &locals[*n_locals], err,
					  errlen);
			if (!ret)
				(*n_locals)++;
		}
		if (ret)
			return ret;
		if (!*e)
			return 0;
		s = e + 1;
	}
}

/* ---- one key ---------------------------------------------------------- */

/*
 * Parse val (already trimmed) for opt and store it in cfg, only on
 * success.  The message in err does not name the key: callers prefix it
 * with the key, the env variable or FILE:LINE.
 */
static int opt_parse(const struct mps_option *opt, struct mps_config *cfg,
		     const char *val, char *err, size_t errlen)
{
	void *field = (char *)cfg + opt->offset;
	const char *const *c;
	long num;
	bool b;
	int ret, lvl;

	switch (opt->type) {
	case MPS_OPT_INT:
	case MPS_OPT_SIZE:
	case MPS_OPT_MS:
		assert(opt->size == sizeof(long));
		ret = parse_number(opt, val, &num, err, errlen);
		if (!ret)
			*(long *)field = num;
		return ret;
	case MPS_OPT_BOOL:
		assert(opt->size == sizeof(bool));
		ret = parse_bool(val, &b, err, errlen);
		if (!ret)
			*(bool *)field = b;
		return ret;
	case MPS_OPT_STRING:
		if (strlen(val) >= opt->size) {
			cfg_msg(err, errlen, "value is too long (at most %zu bytes)",
				opt->size - 1);
			return -ERANGE;
		}
		memcpy(field, val, strlen(val) + 1);
		return 0;
	case MPS_OPT_CHOICE:
		for (c = opt->choices; c && *c; c++) {
			if (!strcasecmp(val, *c)) {
				assert(strlen(*c) < opt->size);
				/* store the table's spelling, not the user's */
				memcpy(field, *c, strlen(*c) + 1);
				return 0;
			}
		}
		cfg_msg(err, errlen, "'%s' is not one of:", val);
		for (c = opt->choices; c && *c; c++) {
			size_t len = err ? strlen(err) : 0;

			if (len < errlen)
				cfg_msg(err + len, errlen - len, " %s", *c);
		}
		return -EINVAL;
	case MPS_OPT_LEVEL:
		assert(opt->size == sizeof(long));
		lvl = mps_log_level_parse(val);
		if (lvl < 0) {
			cfg_msg(err, errlen,
				"'%s' is not a log level (debug, info, warn, error, none)",
				val);
			return -EINVAL;
		}
		*(long *)field = lvl;
		return 0;
	case MPS_OPT_DESTS: {
		struct mps_dest_rule rules[MPS_CFG_MAX_RULES];
		unsigned n = 0;

		/* every DESTS field is a rule array followed by its count */
		assert(opt->size == sizeof(rules));
		ret = parse_list(opt, val, rules, &n, NULL, NULL, NULL, NULL, NULL, NULL,
				 err, errlen);
		if (ret)
			return ret;
		memcpy(field, rules, n * sizeof(rules[0]));
		*(unsigned *)((char *)cfg + opt->offset + opt->size) = n;
		return 0;
	}
	case MPS_OPT_POLICY:
		return parse_policies(val, cfg, err, errlen);
	case MPS_OPT_LOCALS: {
		struct mps_local locals[MPS_CFG_MAX_LOCAL];
		unsigned n = 0;

		/* every LOCALS field is an array followed by its count */
		ret = parse_list(opt, val, NULL, NULL, locals, &n, NULL, NULL, NULL, NULL,
				 err, errlen);
		if (ret)
			return ret;
		memcpy((char *)cfg + opt->offset, locals, n * sizeof(locals[0]));
		*(unsigned *)((char *)cfg + opt->offset + opt->size) = n;
		return 0;
	}
	case MPS_OPT_NETS: {
		struct mps_net_rule nets[MPS_CFG_MAX_RULES];
		unsigned n = 0;

		/* every NETS field is an array followed by its count */
		ret = parse_list(opt, val, NULL, NULL, NULL, NULL, nets, &n, NULL, NULL,
				 err, errlen);
		if (ret)
			return ret;
		memcpy((char *)cfg + opt->offset, nets, n * sizeof(nets[0]));
		*(unsigned *)((char *)cfg + opt->offset + opt->size) = n;
		return 0;
	}
	case MPS_OPT_ADDR:
		return parse_addr_value(val, field, opt->size, err, errlen);
	case MPS_OPT_ADDRS: {
		char addrs[MPS_CFG_MAX_ADDRS][MPS_CFG_ADDR_LEN];
		unsigned n = 0;

		/* every ADDRS field is an array followed by its count */
		assert(opt->size == sizeof(addrs));
		if (strcasecmp(val, "none"))
			ret = parse_list(opt, val, NULL, NULL, NULL, NULL, NULL, NULL,
					 addrs, &n, err, errlen);
		else
			ret = 0;
		if (ret)
			return ret;
		memcpy(field, addrs, n * sizeof(addrs[0]));
		*(unsigned *)((char *)cfg + opt->offset + opt->size) = n;
		return 0;
	}
	}
	cfg_msg(err, errlen, "unknown option type %d", (int)opt->type);
	return -EINVAL;
}

/* Trim value, then parse it; err gets the bare message. */
static int opt_set_text(const struct mps_option *opt, struct mps_config *cfg,
			const char *value, char *err, size_t errlen)
{
	char buf[CFG_VALUE_MAX];
	const char *s = value, *e = value + strlen(value);

	trim(&s, &e);
	if (!copy_span(buf, sizeof(buf), s, e)) {
		cfg_msg(err, errlen, "value is too long (at most %d bytes)",
			CFG_VALUE_MAX - 1);
		return -ERANGE;
	}
	if (!*buf && (opt->type == MPS_OPT_INT || opt->type == MPS_OPT_SIZE ||
		      opt->type == MPS_OPT_MS || opt->type == MPS_OPT_BOOL ||
		      opt->type == MPS_OPT_CHOICE || opt->type == MPS_OPT_LEVEL)) {
		cfg_msg(err, errlen, "empty value");
		return -EINVAL;
	}
	return opt_parse(opt, cfg, buf, err, errlen);
}

const struct mps_option *mps_config_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < mps_options_count; i++)
		if (!strcmp(mps_options[i].name, name))
			return &mps_options[i];
	return NULL;
}

void mps_config_defaults(struct mps_config *cfg)
{
	size_t i;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < mps_options_count; i++) {
		ret = opt_parse(&mps_options[i], cfg, mps_options[i].def,
				NULL, 0);
		assert(ret == 0);
		(void)ret;
	}
}

int mps_config_set(struct mps_config *cfg, const char *key, const char *value,
		   char *err, size_t errlen)
{
	const struct mps_option *opt = mps_config_find(key);
	char msg[CFG_MSG_MAX];
	int ret;

	if (!opt) {
		cfg_msg(err, errlen, "unknown key '%s'", key ? key : "(null)");
		return -ENOENT;
	}
	if (!value) {
		cfg_msg(err, errlen, "%s: missing value", opt->name);
		return -EINVAL;
	}
	ret = opt_set_text(opt, cfg, value, msg, sizeof(msg));
	if (ret)
		cfg_msg(err, errlen, "%s: %s", opt->name, msg);
	return ret;
}

/* ---- files ------------------------------------------------------------ */

/* Cut a comment: '#' at the start of the line or after white space. */
static void strip_comment(char *line)
{
	char *p;

	for (p = line; *p; p++) {
		if (*p == '#' && (p == line || is_space(p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

/* Parse one line into cfg; err gets the message without FILE:LINE. */
static int parse_line(struct mps_config *cfg, char *line, char *err,
		      size_t errlen)
{
	char key[MPS_CFG_NAME_LEN];
	const char *ks, *ke, *vs, *ve;
	char *eq;

	strip_comment(line);
	ks = line;
	ke = line + strlen(line);
	trim(&ks, &ke);
	if (ks == ke)
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		cfg_msg(err, errlen, "expected 'key = value'");
		return -EINVAL;
	}
	vs = eq + 1;
	ve = ke;
	ke = eq;
	trim(&ks, &ke);
	trim(&vs, &ve);
	if (ks == ke) {
		cfg_msg(err, errlen, "missing key before '='");
		return -EINVAL;
	}
	if (!copy_span(key, sizeof(key), ks, ke)) {
		cfg_msg(err, errlen, "unknown key '%.*s...'", 20, ks);
		return -ENOENT;
	}
	/* "..." lets a value start or end with blanks or be visibly empty */
	if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
		vs++;
		ve--;
	}
	*(char *)ve = '\0';
	return mps_config_set(cfg, key, vs, err, errlen);
}

/*
 * Load one file into cfg.  optional: a file that does not exist is fine
 * (0).  Kept apart from mps_config_load_file so "missing" is told from
 * "unknown key", which are both -ENOENT.
 */
static int load_path(struct mps_config *cfg, const char *path, bool optional,
		     char *err, size_t errlen)
{
	char line[CFG_LINE_MAX];
	char msg[CFG_MSG_MAX];
	struct mps_config tmp;
	unsigned lineno = 0;
	struct stat st;
	int ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		if (optional && (ret == -ENOENT || ret == -ENOTDIR))
			return 0;
		cfg_msg(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fileno(f), &st) < 0) {
		ret = -errno;
		cfg_msg(err, errlen, "%s: %s", path, strerror(-ret));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		cfg_msg(err, errlen, "%s: is a directory", path);
		goto out;
	}
	/* anyone could make every program on the host talk to them */
	if (st.st_mode & S_IWOTH) {
		ret = -EPERM;
		cfg_msg(err, errlen,
			"%s: refusing a world-writable config file (chmod o-w it)",
			path);
		goto out;
	}

	tmp = *cfg;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n' &&
		    !feof(f)) {
			ret = -EINVAL;
			cfg_msg(err, errlen, "%s:%u: line too long (at most %d bytes)",
				path, lineno, CFG_LINE_MAX - 2);
			goto out;
		}
		ret = parse_line(&tmp, line, msg, sizeof(msg));
		if (ret) {
			cfg_msg(err, errlen, "%s:%u: %s", path, lineno, msg);
			goto out;
		}
	}
	if (ferror(f)) {
		ret = -EIO;
		cfg_msg(err, errlen, "%s: read error", path);
		goto out;
	}
	*cfg = tmp;
out:
	fclose(f);
	return ret;
}

int mps_config_load_file(struct mps_config *cfg, const char *path,
			 char *err, size_t errlen)
{
	return load_path(cfg, path, false, err, errlen);
}

int mps_config_load_env(struct mps_config *cfg, char *err, size_t errlen)
{
	char msg[CFG_MSG_MAX];
	struct mps_config tmp = *cfg;
	const char *v;
	size_t i;
	int ret;

	for (i = 0; i < mps_options_count; i++) {
		const struct mps_option *opt = &mps_options[i];

		if (!opt->env)
			continue;
		v = cfg_getenv(opt->env);
		if (!v)
			continue;
		ret = opt_set_text(opt, &tmp, v, msg, sizeof(msg));
		if (ret) {
			cfg_msg(err, errlen, "%s: %s", opt->env, msg);
			return ret;
		}
	}
	*cfg = tmp;
	return 0;
}

int mps_config_load(struct mps_config *cfg, const char *explicit_file,
		    char *err, size_t errlen)
{
	bool secure = cfg_secure();
	char path[4096];
	const char *home, *file;
	int ret;

	mps_config_defaults(cfg);
	ret = load_path(cfg, CFG_SYSTEM_FILE, true, err, errlen);
	if (ret)
		return ret;

	/* setuid/setgid: the invoking user must not steer the process */
	if (!secure) {
		home = getenv("HOME");
		if (home && *home) {
			if ((size_t)snprintf(path, sizeof(path), "%s%s", home,
					     CFG_USER_FILE) >= sizeof(path)) {
				cfg_msg(err, errlen, "$HOME is too long");
				return -ENAMETOOLONG;
			}
			ret = load_path(cfg, path, true, err, errlen);
			if (ret)
				return ret;
		}
	}

	file = explicit_file;
	if (!file && !secure)
		file = getenv("MPSHIM_CONFIG");
	if (file && *file) {
		ret = load_path(cfg, file, false, err, errlen);
		if (ret)
			return ret;
	}

	if (!secure)
		return mps_config_load_env(cfg, err, errlen);
	return 0;
}

/* ---- destination match (every connect()) ------------------------------ */

static bool prefix_match(const uint8_t *net, const uint8_t *addr,
			 unsigned plen)
{
	unsigned bytes = plen / 8, bits = plen % 8;

	if (memcmp(net, addr, bytes))
		return false;
	if (!bits)
		return true;
	return !((net[bytes] ^ addr[bytes]) & (uint8_t)(0xff << (8 - bits)));
}

/* Index of the first of n rules that sa matches, or -1. */
static int rules_match(const struct mps_dest_rule *rules, unsigned n,
		       const struct sockaddr *sa)
{
	const uint8_t *a4 = NULL, *a6 = NULL;
	uint16_t port;
	unsigned i;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		a4 = (const uint8_t *)&sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
			(const struct sockaddr_in6 *)sa;

		a6 = sin6->sin6_addr.s6_addr;
		/* a dual-stack socket's ::ffff:a.b.c.d is an IPv4 peer */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			a4 = a6 + 12;
		port = ntohs(sin6->sin6_port);
	} else {
		return -1;
	}

	for (i = 0; i < n; i++) {
		const struct mps_dest_rule *r = &rules[i];

		if (!r->any_port && r->port != port)
			continue;
		if (r->any_addr)
			return (int)i;
		if (r->family == AF_INET && a4 &&
		    prefix_match(r->addr, a4, r->prefix_len))
			return (int)i;
		if (r->family == AF_INET6 && a6 &&
		    prefix_match(r->addr, a6, r->prefix_len))
			return (int)i;
	}
	return -1;
}

bool mps_config_dest_match(const struct mps_config *cfg,
			   const struct sockaddr *sa)
{
	if (!cfg || !sa || !cfg->n_upgrade)
		return false;
	return rules_match(cfg->upgrade, cfg->n_upgrade < MPS_CFG_MAX_RULES ?
			   cfg->n_upgrade : MPS_CFG_MAX_RULES, sa) >= 0;
}

int mps_config_accept_match(const struct mps_config *cfg, const struct sockaddr *sa)
{
	if (!cfg || !sa)
		return 0;
	if (cfg->n_accept_plain &&
	    rules_match(cfg->accept_plain, cfg->n_accept_plain, sa) >= 0)
		return -1;
	return cfg->n_accept && rules_match(cfg->accept, cfg->n_accept, sa) >= 0;
}

static bool nets_match(const struct mps_net_rule *rules, unsigned n,
		       const uint8_t *a4, const uint8_t *a6, uint16_t port)
{
	for (unsigned i = 0; i < n && i < MPS_CFG_MAX_RULES; i++) {
		const struct mps_net_rule *r = &rules[i];

		if (port < r->port_min || port > r->port_max)
			continue;
		if (r->any_addr)
			return true;
		if (r->family == AF_INET && a4 && prefix_match(r->addr, a4, r->prefix_len))
			return true;
		if (r->family == AF_INET6 && a6 && prefix_match(r->addr, a6, r->prefix_len))
			return true;
	}
	return false;
}

bool mps_config_forward_permitted(const struct mps_config *cfg,
				  const struct sockaddr *sa)
{
	const uint8_t *a4 = NULL, *a6 = NULL;
	uint16_t port;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		a4 = (const uint8_t *)&sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		a6 = sin6->sin6_addr.s6_addr;
		/* ::ffff:127.0.0.1 reaches 127.0.0.1: judge it as that, or
		 * the IPv4 deny rules could be walked around */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			a4 = a6 + 12;
		port = ntohs(sin6->sin6_port);
	} else {
		return false;
	}
	if (!port)
		return false;
	if (nets_match(cfg->forward_allow, cfg->n_forward_allow, a4, a6, port))
		return true;
	return !nets_match(cfg->forward_deny, cfg->n_forward_deny, a4, a6, port);
}

bool mps_config_proxy_direct(const struct mps_config *cfg)
{
	return !strcmp(cfg->proxy_fallback, "direct");
}

bool mps_config_dest_declared(const struct mps_config *cfg, const struct sockaddr *sa)
{
	unsigned n = cfg->n_upgrade < MPS_CFG_MAX_RULES ? cfg->n_upgrade : MPS_CFG_MAX_RULES;

	/* a wildcard, a network or any port is a wish to try multipath;
	 * one host and one port is a server the user knows */
	for (unsigned i = 0; i < n; i++) {
		const struct mps_dest_rule *r = &cfg->upgrade[i];

		if (r->any_addr || r->any_port ||
		    r->prefix_len != (r->family == AF_INET6 ? 128u : 32u))
			continue;
		if (rules_match(r, 1, sa) >= 0)
			return true;
	}
	return false;
}

/* Keys a policy may set: what a destination reasonably changes. */
static const char *const policy_keys[] = {
	"scheduler", "path_manager", "subflows", "path_subflows", "lossy_subflows",
	"local", "backup", "checksum", "proxy", "proxy_fallback", "early_data", NULL
};

static bool policy_key_ok(const char *key)
{
	for (const char *const *k = policy_keys; *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

/* Apply "key=value key=value" to cfg; every key is policy_key_ok. */
static int policy_apply(struct mps_config *cfg, const char *sets, char *err,
			size_t errlen)
{
	char buf[MPS_CFG_POLICY_LEN], *save = NULL, *tok;
	int ret;

	snprintf(buf, sizeof(buf), "%s", sets);
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			cfg_msg(err, errlen, "'%s' is not key=value", tok);
			return -EINVAL;
		}
		*eq = '\0';
		if (!policy_key_ok(tok)) {
			cfg_msg(err, errlen, "'%s' cannot be set per destination "
				"(scheduler, path_manager, subflows, local, backup, checksum, "
				"proxy, proxy_fallback, early_data)",
				tok);
			return -EINVAL;
		}
		ret = mps_config_set(cfg, tok, eq + 1, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* "DEST k=v ... | DEST k=v ...": every entry checked on a scratch config
 * before anything is stored. */
static int parse_policies(const char *val, struct mps_config *cfg, char *err,
			  size_t errlen)
{
	struct mps_policy pol[MPS_CFG_MAX_POLICIES];
	unsigned n = 0;
	char *buf = strdup(val), *save = NULL, *entry;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (entry = strtok_r(buf, "|", &save); entry && !ret;
	     entry = strtok_r(NULL, "|", &save)) {
		struct mps_dest_rule rules[2];
		struct mps_config *scratch;
		unsigned nr = 0;
		char *dest, *sets;

		while (*entry == ' ' || *entry == '\t')
			entry++;
		if (!*entry)
			continue;
		dest = entry;
		sets = dest + strcspn(dest, " \t");
		if (*sets)
			*sets++ = '\0';
		ret = parse_dest(dest, rules, &nr, err, errlen);
		if (ret)
			break;
		if (strlen(sets) >= MPS_CFG_POLICY_LEN) {
			cfg_msg(err, errlen, "policy for %s is too long", dest);
			ret = -ERANGE;
			break;
		}
		scratch = malloc(sizeof(*scratch));
		if (!scratch) {
			ret = -ENOMEM;
			break;
		}
		mps_config_defaults(scratch);
		ret = policy_apply(scratch, sets, err, errlen);
		free(scratch);
		for (unsigned i = 0; i < nr && !ret; i++) {
			if (n == MPS_CFG_MAX_POLICIES) {
				cfg_msg(err, errlen, "more than %d policies",
					MPS_CFG_MAX_POLICIES);
				ret = -ERANGE;
				break;
			}
			pol[n].dest = rules[i];
			snprintf(pol[n].sets, sizeof(pol[n].sets), "%s", sets);
			n++;
		}
	}
	free(buf);
	if (ret)
		return ret;
	memcpy(cfg->policy, pol, n * sizeof(pol[0]));
	cfg->n_policy = n;
	return 0;
}

bool mps_config_for_dest(const struct mps_config *base, const struct sockaddr *sa,
			 struct mps_config *out)
{
	char err[128];

	for (unsigned i = 0; i < base->n_policy && i < MPS_CFG_MAX_POLICIES; i++) {
		if (rules_match(&base->policy[i].dest, 1, sa) < 0)
			continue;
		*out = *base;
		/* validated when it was set: applying it again cannot fail */
		policy_apply(out, base->policy[i].sets, err, sizeof(err));
		return true;
	}
	return false;
}

/* ---- help ------------------------------------------------------------- */

static const char *type_name(enum mps_opt_type type)
{
	switch (type) {
	case MPS_OPT_INT:	return "integer";
	case MPS_OPT_SIZE:	return "size";
	case MPS_OPT_MS:	return "duration";
	case MPS_OPT_BOOL:	return "boolean";
	case MPS_OPT_STRING:	return "string";
	case MPS_OPT_CHOICE:	return "choice";
	case MPS_OPT_LEVEL:	return "level";
	case MPS_OPT_DESTS:	return "destinations";
	case MPS_OPT_LOCALS:	return "locals";
	case MPS_OPT_POLICY:	return "policies";
	case MPS_OPT_ADDR:	return "address";
	case MPS_OPT_NETS:	return "networks";
	case MPS_OPT_ADDRS:	return "addresses";
	}
	return "?";
}

/* What values a key takes: "1..8", "auto|uring|epoll", ... */
static void fmt_bounds(const struct mps_option *opt, char *buf, size_t len)
{
	const char *const *c;
	char lo[32], hi[32];
	size_t used;

	buf[0] = '\0';
	switch (opt->type) {
	case MPS_OPT_INT:
	case MPS_OPT_SIZE:
	case MPS_OPT_MS:
		fmt_number(opt->type, opt->min, lo, sizeof(lo));
		fmt_number(opt->type, opt->max, hi, sizeof(hi));
		snprintf(buf, len, "%s..%s", lo, hi);
		break;
	case MPS_OPT_BOOL:
		snprintf(buf, len, "yes|no");
		break;
	case MPS_OPT_LEVEL:
		snprintf(buf, len, "debug|info|warn|error|none");
		break;
	case MPS_OPT_CHOICE:
		for (c = opt->choices; c && *c; c++) {
			used = strlen(buf);
			snprintf(buf + used, len - used, "%s%s",
				 c == opt->choices ? "" : "|", *c);
		}
		break;
	case MPS_OPT_DESTS:
		snprintf(buf, len, "up to %d rules", MPS_CFG_MAX_RULES);
		break;
	case MPS_OPT_LOCALS:
		snprintf(buf, len, "up to %d entries", MPS_CFG_MAX_LOCAL);
		break;
	case MPS_OPT_POLICY:
		snprintf(buf, len, "up to %d entries", MPS_CFG_MAX_POLICIES);
		break;
	case MPS_OPT_NETS:
		snprintf(buf, len, "up to %d networks", MPS_CFG_MAX_RULES);
		break;
	case MPS_OPT_ADDRS:
		snprintf(buf, len, "up to %d addresses", MPS_CFG_MAX_ADDRS);
		break;
	case MPS_OPT_STRING:
	case MPS_OPT_ADDR:
		break;
	}
}

#define HELP_WIDTH	79

/* text as lines of at most width columns, each indented by indent. */
static void print_wrapped(FILE *out, const char *text, int indent, int width)
{
	const char *p = text;
	int col = 0;

	while (*p) {
		int len;

		while (*p == ' ')
			p++;
		len = (int)strcspn(p, " ");
		if (!len)
			break;
		if (col && col + 1 + len > width) {
			fputc('\n', out);
			col = 0;
		}
		if (!col)
			col = fprintf(out, "%*s%.*s", indent, "", len, p);
		else
			col += fprintf(out, " %.*s", len, p);
		p += len;
	}
	if (col)
		fputc('\n', out);
}

void mps_config_print_help(FILE *out)
{
	int wname = 3, wenv = 3, wtype = 4, wdef = 7;
	char bounds[128];
	size_t i;

	for (i = 0; i < mps_options_count; i++) {
		const struct mps_option *opt = &mps_options[i];
		int l;

		l = (int)strlen(opt->name);
		wname = l > wname ? l : wname;
		l = opt->env ? (int)strlen(opt->env) : 1;
		wenv = l > wenv ? l : wenv;
		l = (int)strlen(type_name(opt->type));
		wtype = l > wtype ? l : wtype;
		l = *opt->def ? (int)strlen(opt->def) : 2;
		wdef = l > wdef ? l : wdef;
	}

	fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", wname, "KEY", wenv, "ENV",
		wtype, "TYPE", wdef, "DEFAULT", "VALUES");
	for (i = 0; i < mps_options_count; i++) {
		const struct mps_option *opt = &mps_options[i];

		fmt_bounds(opt, bounds, sizeof(bounds));
		fprintf(out, "%-*s  %-*s  %-*s  %-*s%s%s\n", wname, opt->name,
			wenv, opt->env ? opt->env : "-", wtype,
			type_name(opt->type), *bounds ? wdef : 0,
			*opt->def ? opt->def : "\"\"", *bounds ? "  " : "",
			bounds);
		print_wrapped(out, opt->help, wname + 2, HELP_WIDTH);
	}
}
