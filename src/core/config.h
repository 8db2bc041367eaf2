/*
 * config.h - every configuration key of mpshim, in one table.
 *
 * Owns: struct mps_config, the options table (name, type, bounds, default,
 * help) and the loaders that fill a config from defaults, files and
 * MPSHIM_* environment variables.  The same table feeds the file parser,
 * the environment parser, `mpshim --help`, and the test that checks every
 * key is documented in mpshim.conf(5).
 *
 * Precedence: MPSHIM_* env > $MPSHIM_CONFIG > ~/.config/mpshim.conf >
 * /etc/mpshim.conf (SYSCONFDIR) > built-in defaults.  A config file that is
 * world-writable is refused.
 */
#ifndef MPS_CONFIG_H
#define MPS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define MPS_CFG_MAX_RULES	32
#define MPS_CFG_MAX_LOCAL	8
#define MPS_CFG_NAME_LEN	64
#define MPS_CFG_MAX_POLICIES	16
#define MPS_CFG_POLICY_LEN	240
#define MPS_CFG_ADDR_LEN	64	/* "[V6ADDR]:PORT" */
#define MPS_CFG_MAX_ADDRS	8	/* entries of an ADDRS list */

/* One entry of the `upgrade` list: which TCP destinations become multipath.
 * any_addr / any_port stand for `*`; prefix_len selects a CIDR range. */
struct mps_dest_rule {
	bool any_addr;
	bool any_port;
	int family;			/* AF_INET or AF_INET6 when !any_addr */
	uint8_t addr[16];		/* network order; v4 uses the first 4 */
	unsigned prefix_len;		/* 32 / 128 for a single host */
	uint16_t port;			/* host order, when !any_port */
};

/* One `policy` entry: settings that apply to connections to dest. */
struct mps_policy {
	struct mps_dest_rule dest;
	char sets[MPS_CFG_POLICY_LEN];	/* validated "key=value key=value" */
};

/* One entry of forward_allow / forward_deny: a network and a port range.
 * any_addr stands for `*`. */
struct mps_net_rule {
	bool any_addr;
	int family;			/* AF_INET or AF_INET6 when !any_addr */
	uint8_t addr[16];		/* network order, masked to prefix_len */
	unsigned prefix_len;
	uint16_t port_min, port_max;	/* host order, inclusive */
};

/* One `local` entry: an address to bind subflows to, or an interface. */
struct mps_local {
	char name[MPS_CFG_NAME_LEN];	/* as written: "10.0.1.1", "eth1" or "*" */
	bool is_iface;
	bool any_iface;			/* "*": every interface that is up */
	int family;			/* AF_INET/AF_INET6 when !is_iface */
	uint8_t addr[16];
};

enum mps_opt_type {
	MPS_OPT_INT,		/* integer within [min, max] */
	MPS_OPT_SIZE,		/* byte count, suffixes k/K m/M g/G (powers of 1024) */
	MPS_OPT_MS,		/* milliseconds, suffixes ms/s */
	MPS_OPT_BOOL,		/* yes/no/true/false/1/0/on/off */
	MPS_OPT_STRING,		/* free text up to the field's size */
	MPS_OPT_CHOICE,		/* one of a NULL-terminated list */
	MPS_OPT_LEVEL,		/* log level name */
	MPS_OPT_DESTS,		/* comma list of destination rules */
	MPS_OPT_LOCALS,		/* comma list of addresses or interfaces */
	MPS_OPT_POLICY,		/* "DEST key=value ... | DEST ..." */
	MPS_OPT_ADDR,		/* ADDR:PORT or [V6ADDR]:PORT, or empty; kept as text */
	MPS_OPT_NETS,		/* comma list of NETWORK[:PORTS] */
	MPS_OPT_ADDRS,		/* comma list of ADDR:PORT, none unspecified; kept as text */
};

struct mps_config {
	/* every DESTS field is an array followed by its count (config.c) */
	struct mps_dest_rule upgrade[MPS_CFG_MAX_RULES];
	unsigned n_upgrade;
	struct mps_dest_rule accept[MPS_CFG_MAX_RULES];	/* shim server side */
	unsigned n_accept;
	struct mps_dest_rule accept_plain[MPS_CFG_MAX_RULES];
	unsigned n_accept_plain;
	long accept_wait_ms;		/* cap of the classification wait */
	struct mps_local local[MPS_CFG_MAX_LOCAL];
	unsigned n_local;		/* must follow local[] (config.c) */
	struct mps_local backup[MPS_CFG_MAX_LOCAL];
	unsigned n_backup;		/* must follow backup[] */
	struct mps_policy policy[MPS_CFG_MAX_POLICIES];
	unsigned n_policy;
	long subflows;			/* ndiffports: subflows per connection */
	long path_subflows;		/* fullmesh: subflows per path */
	long lossy_subflows;		/* lossy.c: a loss-limited path's most */
	char scheduler[MPS_CFG_NAME_LEN];
	char path_manager[MPS_CFG_NAME_LEN];
	char loop[MPS_CFG_NAME_LEN];	/* auto | uring | epoll */
	long log_level;
	char log_file[256];
	char stats_file[256];
	bool stats_socket;		/* live snapshot on @mpshim/stats/PID */
	long sndbuf;			/* meta send buffer bound, bytes */
	long rcvbuf;			/* meta receive buffer bound = advertised window */
	long frame_size;		/* max DATA payload per frame */
	long notsent_lowat;		/* TCP_NOTSENT_LOWAT on subflows */
	long connect_timeout_ms;
	long connect_stagger_ms;	/* first subflow: next path after this */
	long hello_timeout_ms;		/* wait for HELLO_ACK before falling back */
	long hello_hold_ms;		/* proxyd: HELLO_ACK waits for the first answer */
	long subflow_timeout_ms;	/* TCP_USER_TIMEOUT on subflows */
	long fail_min_ms;		/* liveness: floor of the no-ACK time */
	long fail_rtts;			/* liveness: no-ACK time in SRTTs */
	long heartbeat_ms;		/* PING an idle subflow this often */
	long retry_min_ms, retry_max_ms;	/* re-creating a failed subflow */
	long exit_linger_ms;		/* shim: time to deliver queued data at exit */
	long reinject_rtts;		/* deadline reinjection, in own SRTTs */
	bool checksum;			/* CRC32C on DATA payloads */
	bool fallback;			/* plain TCP when the peer is not mpshim */
	char early_data[8];		/* auto | yes | no: data before HELLO_ACK */
	char fastopen[8];		/* auto | yes | no: TCP Fast Open */
	long fastopen_wait_ms;		/* shim: a deferred SYN waits for the app */
	/* shim: forward proxy for the destinations it applies to */
	char proxy[MPS_CFG_ADDR_LEN];	/* ADDR:PORT of mpshim-proxyd, "" none */
	char proxy_fallback[16];	/* proxy unusable: direct | fail */
	char proxy_key_file[256];	/* the client's pre-shared key */
	/* mpshim-proxyd only: forward mode (file or command line, no env) */
	bool forward;
	char forward_key_file[256];	/* every client's pre-shared key */
	struct mps_net_rule forward_allow[MPS_CFG_MAX_RULES];
	unsigned n_forward_allow;	/* must follow forward_allow[] */
	struct mps_net_rule forward_deny[MPS_CFG_MAX_RULES];
	unsigned n_forward_deny;	/* must follow forward_deny[] */
	/* mpshim-proxyd only (file or command line, no env variable) */
	char listen[128];		/* ADDR:PORT, [V6]:PORT */
	char backend[128];		/* ADDR:PORT of the plain TCP service */
	/* this instance's own addresses, told to clients behind a load balancer */
	char advertise[MPS_CFG_MAX_ADDRS][MPS_CFG_ADDR_LEN];
	unsigned n_advertise;		/* must follow advertise[] */
};

struct mps_option {
	const char *name;		/* file key, e.g. "subflows" */
	const char *env;		/* env variable, e.g. "MPSHIM_SUBFLOWS"; NULL: file only */
	enum mps_opt_type type;
	long min, max;			/* bounds for INT/SIZE/MS */
	const char *def;		/* default, as text (parsed like user input) */
	const char *const *choices;	/* MPS_OPT_CHOICE */
	size_t offset;			/* into struct mps_config */
	size_t size;			/* field size for strings */
	const char *help;
};

extern const struct mps_option mps_options[];
extern const size_t mps_options_count;

const struct mps_option *mps_config_find(const char *name);

/* Fill with defaults (always succeeds for the built-in table). */
void mps_config_defaults(struct mps_config *cfg);

/* Set one key from text.  Returns 0, -ENOENT (unknown key), -EINVAL or
 * -ERANGE, with a human message in err. */
int mps_config_set(struct mps_config *cfg, const char *key, const char *value,
		   char *err, size_t errlen);

/* Parse a `key = value` file (# comments, blank lines).  Returns 0,
 * -errno from open, -EPERM for a world-writable file, or the first bad
 * line's error with "FILE:LINE: message" in err. */
int mps_config_load_file(struct mps_config *cfg, const char *path,
			 char *err, size_t errlen);

/* Apply every MPSHIM_* variable of the table found in the environment. */
int mps_config_load_env(struct mps_config *cfg, char *err, size_t errlen);

/* Defaults, then the files and env in precedence order.  A missing
 * optional file is not an error; a file named by MPSHIM_CONFIG (or
 * explicit_file, which takes its place) that is missing is. */
int mps_config_load(struct mps_config *cfg, const char *explicit_file,
		    char *err, size_t errlen);

/* Does the destination match the upgrade list? */
bool mps_config_dest_match(const struct mps_config *cfg,
			   const struct sockaddr *sa);

/*
 * Should a listening socket bound to sa accept multipath clients?  1: yes
 * (it matches `accept`), 0: no, -1: it matches `accept_plain`, whose
 * listeners take plain TCP only and without a classification wait.
 */
int mps_config_accept_match(const struct mps_config *cfg, const struct sockaddr *sa);

/* The configuration for connections to sa: base with the settings of the
 * first matching `policy` entry applied.  Returns true (out filled) when
 * a policy matched, false otherwise (out untouched). */
bool mps_config_for_dest(const struct mps_config *base, const struct sockaddr *sa,
			 struct mps_config *out);

/* Forward mode: may proxyd connect to sa for a client?  A v4-mapped
 * address is judged as the IPv4 address it is; port 0 never is allowed.
 * True when sa matches forward_allow, or does not match forward_deny. */
bool mps_config_forward_permitted(const struct mps_config *cfg,
				  const struct sockaddr *sa);

/* proxy_fallback = direct: an unusable proxy means a plain connection to
 * the destination itself (else the connect fails). */
bool mps_config_proxy_direct(const struct mps_config *cfg);

/* Does an `upgrade` entry name exactly this destination: one address (no
 * prefix shorter than the address) and one port?  Such an entry declares
 * an mpshim server, so early_data = auto sends it early data. */
bool mps_config_dest_declared(const struct mps_config *cfg, const struct sockaddr *sa);

/* Print the table as `mpshim --help-config` shows it. */
void mps_config_print_help(FILE *out);

#endif
