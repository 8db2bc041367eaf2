/*
 * init.c - the shim's start: configuration, logging, and the engine,
 * started lazily the first time an application connects somewhere the
 * policy upgrades (that connect's SYN leaves first: presyn.c).
 *
 * Fail open: if the configuration cannot be read, the shim logs one line
 * and stays out of the way, and the application runs as plain TCP.
 *
 * The wrappers may run before this library's constructor: from another
 * library's constructor (initialised first when the program needs it), or
 * from a program's preinit_array, which runs before any library is
 * initialised, the C library's environment included.  So everything the
 * constructor sets up also happens on the first call (shim_load, once),
 * except while the environment is not there yet: the configuration would
 * miss every MPSHIM_* variable, so such early calls pass through as plain
 * TCP and the load waits for a later call.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fdtab.h"
#include "log.h"
#include "shim.h"

static struct mps_config cfg;
static bool active;
static struct mps_engine *engine;
static pid_t engine_pid;		/* a forked child has no engine thread */
static bool engine_failed;
static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static bool loaded;

static void mps_shim_atfork_child(void);

static void shim_load(void)
{
	char err[256] = "";
	int rc;

	__atomic_store_n(&loaded, true, __ATOMIC_RELEASE);
	if (mps_libc_init())
		return;
	/* OpenSSL's atexit cleanup would run before this library's
	 * destructor, while the engine thread may still draw nonces or
	 * keys during the exit drain: initialise it first, without that
	 * handler (the process is ending anyway) */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	pthread_atfork(NULL, NULL, mps_shim_atfork_child);
	rc = mps_config_load(&cfg, NULL, err, sizeof(err));
	mps_log_init((int)cfg.log_level, cfg.log_file, "mpshim");
	if (rc) {
		mps_err("configuration error, running as plain TCP: %s", err);
		return;
	}
	active = cfg.n_upgrade > 0 || cfg.n_accept > 0;
	if (!active)
		mps_debug("no upgrade or accept rules: interposing nothing");
}

/*
 * A forked child has the parent's memory but not its engine thread.  The
 * relays it inherited are still served by the parent's engine (they are
 * shared descriptors); new connections of the child need an engine of its
 * own, started on first use like the parent's.  Its copies of the parent's
 * stats socket are closed, or they would keep the parent's name alive.
 */
static void mps_shim_atfork_child(void)
{
	if (engine)
		mps_engine_atfork_child(engine);
	pthread_mutex_init(&engine_lock, NULL);
	engine = NULL;
	engine_failed = false;
}

/* Before the C library has set up the environment (preinit_array), the
 * configuration cannot be loaded yet. */
static bool shim_loadable(void)
{
	return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE) || environ;
}

__attribute__((constructor)) static void mps_shim_ctor(void)
{
	pthread_once(&cfg_once, shim_load);
	/* after the configuration: a listener given back may be taken
	 * over again, which needs the engine */
	if (active)
		mps_shim_inherit_load();
}

bool mps_shim_active(void)
{
	if (!shim_loadable())
		return false;
	pthread_once(&cfg_once, shim_load);
	return active;
}

const struct mps_config *mps_shim_config(void)
{
	pthread_once(&cfg_once, shim_load);
	return &cfg;
}

struct mps_engine *mps_shim_engine_for(const struct sockaddr *dest, struct mps_presyn *ps)
{
	struct mps_engine *eng;
	int rc;

	pthread_mutex_lock(&engine_lock);
	if (!engine && !engine_failed) {
		/* the SYN first: all that follows would delay it */
		if (dest)
			mps_shim_presyn_open(dest, ps);
		rc = mps_engine_new(&engine, &cfg);
		if (!rc) {
			mps_engine_set_relay_reset(engine, mps_shim_relay_reset, NULL);
			mps_engine_set_relay_settled(engine, mps_shim_relay_settled, NULL);
			rc = mps_engine_start_thread(engine);
			if (rc) {
				mps_engine_free(engine);
				engine = NULL;
			}
		}
		if (rc) {
			engine_failed = true;
			mps_err("engine cannot start (%s): running as plain TCP",
				strerror(-rc));
		} else {
			engine_pid = getpid();
			mps_debug("engine started (%s loop)", mps_engine_loop_name(engine));
		}
	}
	eng = engine;
	pthread_mutex_unlock(&engine_lock);
	return eng;
}

struct mps_engine *mps_shim_engine(void)
{
	return mps_shim_engine_for(NULL, NULL);
}

struct mps_engine *mps_shim_engine_running(void)
{
	struct mps_engine *eng;

	pthread_mutex_lock(&engine_lock);
	eng = engine;
	pthread_mutex_unlock(&engine_lock);
	return eng;
}

static void half_close(int fd, void *arg)
{
	(void)arg;
	shutdown(fd, SHUT_WR);
}

/*
 * At exit the kernel would close every descriptor and keep sending what a
 * TCP socket still held.  The engine dies with the process, so do the
 * same here first: end the app's side of every relay and let the engine
 * deliver what is queued before the process goes.
 */
__attribute__((destructor)) static void mps_shim_dtor(void)
{
	unsigned left;

	if (!engine || engine_pid != getpid() || !cfg.exit_linger_ms)
		return;
	mps_fdtab_each_relay(half_close, NULL);
	left = mps_engine_drain(engine, (unsigned)cfg.exit_linger_ms);
	if (left)
		mps_warn("exit: %u connection(s) had unacknowledged data after %ld ms",
			 left, cfg.exit_linger_ms);
}
