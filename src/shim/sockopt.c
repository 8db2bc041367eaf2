/*
 * sockopt.c - getsockopt/setsockopt on a relay or a listener's channel.
 *
 * A listener's options are the TCP listener's: the shim keeps a
 * descriptor of it for exactly this.
 *
 * On a relay, socket-level options that describe the socket itself
 * (SO_ERROR, SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN) answer as the
 * TCP socket would; other socket-level options act on the relay itself,
 * which is what the app's reads and writes touch (SO_RCVBUF,
 * SO_RCVTIMEO...).  TCP_INFO and TCP_CONGESTION go to the engine.  Other
 * integer options of the TCP and IP levels are judged by the kernel on a
 * TCP socket of the app's family made for the purpose (the probe), so a
 * value TCP refuses is refused with TCP's errno, and what the kernel
 * keeps (TCP_NODELAY 5 reads back as 1) is remembered and read back;
 * one never set reads as the probe's, the kernel's default.  They are not
 * applied to the subflows (IP_TOS, IPV6_TCLASS: ssh and sshd set them on
 * every connection).  IPV6_V6ONLY is the socket's from before connect.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include "fdtab.h"
#include "shim.h"
#include "tcpopt.h"

/* An int option as the kernel returns it: a shorter buffer gets the
 * first bytes. */
static int put_int(void *val, socklen_t *len, int v)
{
	if (!len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	if (*len > sizeof(int))
		*len = sizeof(int);
	if (*len && !val)
		return -EFAULT;
	memcpy(val, &v, *len);
	return 0;
}

static bool probed_level(int level)
{
	return level == IPPROTO_TCP || level == IPPROTO_IP || level == IPPROTO_IPV6;
}

/* A TCP socket of the relay's family, unconnected, for the kernel to
 * judge an option on: the fd or -errno.  One per call, never kept: a
 * program that closes every descriptor cannot pull it from under us. */
static int probe_open(const struct mps_fdent *e)
{
	int fd = mps_real_socket(e->domain, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

/* The entry's engine, if this process runs it, and the connection's id. */
static struct mps_engine *relay_engine(struct mps_fdent *e, unsigned *id)
{
	pid_t owner;

	pthread_mutex_lock(&e->lock);
	*id = e->meta_id;
	owner = e->owner;
	pthread_mutex_unlock(&e->lock);
	return *id && owner == getpid() ? mps_shim_engine_running() : NULL;
}

/*
 * TCP_INFO: the engine merges the subflows' (tcpopt.h).  Without it (a
 * relay inherited through exec or fork, or a connection already gone)
 * only the state is known.  Like TCP, a short buffer gets the start of
 * the struct and the length is written back.
 */
static int relay_tcp_info(struct mps_fdent *e, void *val, socklen_t *len)
{
	struct mps_engine *eng;
	uint8_t buf[512];
	size_t n;
	unsigned id;
	int rc = -ENOENT;

	if (!len || (int)*len < 0)
		return len ? -EINVAL : -EFAULT;
	if (*len && !val)
		return -EFAULT;
	eng = relay_engine(e, &id);
	pthread_mutex_lock(&e->lock);
	memset(buf, 0, sizeof(buf));
	buf[0] = e->state == MPS_FDS_CONNECTED ? TCP_ESTABLISHED :
		 e->state == MPS_FDS_CONNECTING ? TCP_SYN_SENT : TCP_CLOSE;
	pthread_mutex_unlock(&e->lock);
	n = mps_tcpinfo_size() < sizeof(buf) ? mps_tcpinfo_size() : sizeof(buf);
	if (n > *len)
		n = *len;
	/* the entry's lock is not held: the engine takes it to report a
	 * connect */
	if (eng) {
		rc = mps_engine_tcp_info(eng, id, val, &n);
		if (rc == -ENOENT)
			buf[0] = TCP_CLOSE;	/* the connection has ended */
	}
	if (rc && n)
		memcpy(val, buf, n);
	*len = (socklen_t)n;
	return 0;
}

/*
 * TCP_CONGESTION on a relay.  The kernel judges the name on a TCP socket
 * of the application's family made for the purpose (same credentials,
 * same namespace, so ENOENT, EPERM, EINVAL as TCP would say), and the
 * name it keeps goes to the engine, which gives it to every subflow.
 */
static int congestion_probe(int domain, const void *val, socklen_t len, char name[16])
{
	socklen_t nlen = 16;
	int rc = 0, fd = mps_real_socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memset(name, 0, 16);
	if ((val && mps_real_setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, val, len)) ||
	    mps_real_getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &nlen))
		rc = -errno;
	mps_real_close(fd);
	return rc;
}

static int relay_congestion_set(struct mps_fdent *e, const void *val, socklen_t len)
{
	struct mps_engine *eng;
	char name[16];
	unsigned id;
	int rc = congestion_probe(e->domain, val, len, name);

	if (rc)
		return rc;
	eng = relay_engine(e, &id);
	if (!eng || mps_engine_congestion_set(eng, id, name)) {
		/* nothing carries it (any more): remembered, as a closed
		 * TCP socket would */
		pthread_mutex_lock(&e->lock);
		memcpy(e->congestion, name, sizeof(e->congestion));
		pthread_mutex_unlock(&e->lock);
	}
	return 0;
}

static int relay_congestion_get(struct mps_fdent *e, void *val, socklen_t *len)
{
	struct mps_engine *eng;
	char name[16];
	unsigned id;
	int rc = -ENOENT;

	if (!len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	eng = relay_engine(e, &id);
	if (eng)
		rc = mps_engine_congestion_get(eng, id, name);
	if (rc) {
		pthread_mutex_lock(&e->lock);
		memcpy(name, e->congestion, sizeof(name));
		pthread_mutex_unlock(&e->lock);
		rc = name[0] ? 0 : congestion_probe(e->domain, NULL, 0, name);
		if (rc)
			return rc;
	}
	if (*len > sizeof(name))
		*len = sizeof(name);
	if (*len && !val)
		return -EFAULT;
	memcpy(val, name, *len);
	return 0;
}

/* TCP_MAXSEG of a connection reads its MSS: the engine's best subflow's. */
static int relay_maxseg(struct mps_fdent *e, int *mss)
{
	struct tcp_info ti;
	socklen_t n = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	relay_tcp_info(e, &ti, &n);
	*mss = (int)ti.tcpi_snd_mss;
	return ti.tcpi_snd_mss ? 0 : -ENOENT;
}

/* Options not answered under the entry's lock: the engine's, and the
 * kernel's defaults on a probe. */
static int relay_getsockopt_slow(struct mps_fdent *e, int level, int opt, void *val,
				 socklen_t *len)
{
	int fd, rc, v;

	if (level == IPPROTO_TCP && opt == TCP_INFO)
		return relay_tcp_info(e, val, len);
	if (level == IPPROTO_TCP && opt == TCP_CONGESTION)
		return relay_congestion_get(e, val, len);
	if (level == IPPROTO_TCP && opt == TCP_MAXSEG && !relay_maxseg(e, &v))
		return put_int(val, len, v);
	fd = probe_open(e);
	if (fd < 0)
		return fd;
	rc = mps_real_getsockopt(fd, level, opt, val, len) ? -errno : 0;
	mps_real_close(fd);
	return rc;
}

/* *handled: 0 the relay itself answers, 1 answered, 2 answer with
 * relay_getsockopt_slow (without the lock). */
static int relay_getsockopt(struct mps_fdent *e, int level, int opt, void *val,
			    socklen_t *len, int *handled)
{
	int v, rc = 0;

	*handled = 1;
	pthread_mutex_lock(&e->lock);
	if (level == SOL_SOCKET) {
		switch (opt) {
		case SO_ERROR:
			rc = put_int(val, len, e->error);
			if (!rc)
				e->error = 0;
			break;
		case SO_TYPE:
			rc = put_int(val, len, SOCK_STREAM);
			break;
		case SO_DOMAIN:
			rc = put_int(val, len, e->domain);
			break;
		case SO_PROTOCOL:
			rc = put_int(val, len, IPPROTO_TCP);
			break;
		case SO_ACCEPTCONN:
			rc = put_int(val, len, 0);
			break;
		default:
			*handled = 0;
		}
	} else if (probed_level(level)) {
		if (mps_fdent_opt_get(e, level, opt, &v))
			rc = put_int(val, len, v);
		else
			*handled = 2;
	} else {
		*handled = 0;
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

MPS_EXPORT int getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	struct mps_fdent *e;
	int handled = 0, rc = 0;

	if (mps_shim_bypass())
		return mps_real_getsockopt ? mps_real_getsockopt(fd, level, opt, val, len) :
					     (errno = ENOSYS, -1);
	e = mps_fdtab_get(fd);
	if (e && mps_fdent_kind(e) == MPS_FD_RELAY)
		rc = relay_getsockopt(e, level, opt, val, len, &handled);
	if (handled == 2)
		rc = relay_getsockopt_slow(e, level, opt, val, len);
	if (e && mps_fdent_kind(e) == MPS_FD_LISTEN) {
		/* the TCP listener itself answers: SO_ACCEPTCONN, SO_DOMAIN,
		 * SO_REUSEADDR, TCP_DEFER_ACCEPT ... */
		handled = 1;
		if (mps_real_getsockopt(e->lfd, level, opt, val, len))
			rc = -errno;
	}
	mps_fdent_put(e);
	if (!handled)
		return mps_real_getsockopt(fd, level, opt, val, len);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* Before connect: the TCP socket takes it, and the engine will too. */
static int congestion_tcp_set(int fd, struct mps_fdent *e, const void *val, socklen_t len)
{
	char name[16] = "";
	socklen_t nlen = sizeof(name);

	if (mps_real_setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, val, len))
		return -errno;
	if (!mps_real_getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &nlen)) {
		pthread_mutex_lock(&e->lock);
		memcpy(e->congestion, name, sizeof(e->congestion));
		pthread_mutex_unlock(&e->lock);
	}
	return 0;
}

/* Remember what the kernel kept of an int option set on sock. */
static void remember(struct mps_fdent *e, int sock, int level, int opt)
{
	socklen_t n = sizeof(int);
	int v;

	if (mps_real_getsockopt(sock, level, opt, &v, &n) || n != sizeof(int))
		return;
	pthread_mutex_lock(&e->lock);
	mps_fdent_opt_set(e, level, opt, v);
	pthread_mutex_unlock(&e->lock);
}

/* A TCP- or IP-level option on a relay: the probe judges it. */
static int relay_setsockopt(struct mps_fdent *e, int level, int opt, const void *val,
			    socklen_t len)
{
	int fd, rc = 0;

	/* a connected (bound) socket refuses to change it */
	if (level == IPPROTO_IPV6 && opt == IPV6_V6ONLY && e->domain == AF_INET6)
		return -EINVAL;
	fd = probe_open(e);
	if (fd < 0)
		return fd;
	if (mps_real_setsockopt(fd, level, opt, val, len))
		rc = -errno;
	else if (len >= sizeof(int))
		remember(e, fd, level, opt);
	mps_real_close(fd);
	return rc;
}

MPS_EXPORT int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	struct mps_fdent *e;
	int rc;

	if (mps_shim_bypass())
		return mps_real_setsockopt ? mps_real_setsockopt(fd, level, opt, val, len) :
					     (errno = ENOSYS, -1);
	e = mps_fdtab_get(fd);
	if (!e)
		return mps_real_setsockopt(fd, level, opt, val, len);
	if (mps_fdent_kind(e) == MPS_FD_LISTEN) {
		/* options go to the TCP listener, whose accepted sockets
		 * inherit them; the accept timeouts to the channel too,
		 * which is what accept() waits on */
		rc = mps_real_setsockopt(e->lfd, level, opt, val, len);
		if (!rc && level == SOL_SOCKET &&
		    (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO))
			rc = mps_real_setsockopt(fd, level, opt, val, len);
		mps_fdent_put(e);
		return rc;
	}
	if (level == IPPROTO_TCP && opt == TCP_CONGESTION) {
		rc = mps_fdent_kind(e) == MPS_FD_RELAY ? relay_congestion_set(e, val, len) :
					       congestion_tcp_set(fd, e, val, len);
	} else if (mps_fdent_kind(e) == MPS_FD_RELAY && probed_level(level)) {
		rc = relay_setsockopt(e, level, opt, val, len);
	} else {
		/* a TCP socket before connect: the kernel's own answer, and
		 * what it kept is read back after the upgrade */
		rc = mps_real_setsockopt(fd, level, opt, val, len) ? -errno : 0;
		if (!rc && probed_level(level) && len >= sizeof(int))
			remember(e, fd, level, opt);
	}
	mps_fdent_put(e);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}
