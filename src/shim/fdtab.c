/*
 * fdtab.c - descriptor table of the shim (see fdtab.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fdtab.h"
#include "libc.h"

static struct mps_fdent **tab;
static int tab_len;
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;

struct mps_fdent *mps_fdent_new(int domain)
{
	struct mps_fdent *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->refs = 1;
	e->domain = domain;
	e->lfd = -1;
	e->relay_app = -1;
	return e;
}

void mps_fdent_get(struct mps_fdent *e)
{
	__atomic_add_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
}

void mps_fdent_put(struct mps_fdent *e)
{
	if (!e || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (e->lfd >= 0)
		mps_real_close(e->lfd);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e);
}

static int tab_grow(int fd)
{
	int nlen = tab_len ? tab_len : 256;
	struct mps_fdent **nt;

	while (nlen <= fd)
		nlen *= 2;
	nt = realloc(tab, (size_t)nlen * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	memset(nt + tab_len, 0, (size_t)(nlen - tab_len) * sizeof(*nt));
	tab = nt;
	tab_len = nlen;
	return 0;
}

int mps_fdtab_set(int fd, struct mps_fdent *e)
{
	struct mps_fdent *old = NULL;
	int rc = 0;

	if (fd < 0)
		return -EBADF;
	pthread_mutex_lock(&tab_lock);
	if (fd >= tab_len)
		rc = tab_grow(fd);
	if (!rc) {
		old = tab[fd];
		mps_fdent_get(e);
		tab[fd] = e;
	}
	pthread_mutex_unlock(&tab_lock);
	mps_fdent_put(old);
	return rc;
}

struct mps_fdent *mps_fdtab_get(int fd)
{
	struct mps_fdent *e = NULL;

	pthread_mutex_lock(&tab_lock);
	if (fd >= 0 && fd < tab_len && tab[fd]) {
		e = tab[fd];
		mps_fdent_get(e);
	}
	pthread_mutex_unlock(&tab_lock);
	return e;
}

void mps_fdtab_clear(int fd)
{
	struct mps_fdent *old = NULL;

	pthread_mutex_lock(&tab_lock);
	if (fd >= 0 && fd < tab_len) {
		old = tab[fd];
		tab[fd] = NULL;
	}
	pthread_mutex_unlock(&tab_lock);
	mps_fdent_put(old);
}

void mps_fdtab_dup(int oldfd, int newfd)
{
	struct mps_fdent *e = mps_fdtab_get(oldfd);

	if (e) {
		mps_fdtab_set(newfd, e);
		mps_fdent_put(e);
	} else {
		mps_fdtab_clear(newfd);
	}
}

bool mps_fdent_opt_set(struct mps_fdent *e, int level, int opt, int val)
{
	for (unsigned i = 0; i < e->n_opts; i++) {
		if (e->opts[i].level == level && e->opts[i].opt == opt) {
			e->opts[i].val = val;
			return true;
		}
	}
	if (e->n_opts == MPS_FD_OPTS)
		return false;
	e->opts[e->n_opts].level = level;
	e->opts[e->n_opts].opt = opt;
	e->opts[e->n_opts].val = val;
	e->n_opts++;
	return true;
}

bool mps_fdent_opt_get(const struct mps_fdent *e, int level, int opt, int *val)
{
	for (unsigned i = 0; i < e->n_opts; i++) {
		if (e->opts[i].level == level && e->opts[i].opt == opt) {
			*val = e->opts[i].val;
			return true;
		}
	}
	return false;
}

void mps_fdtab_each(void (*fn)(int fd, struct mps_fdent *e, void *arg), void *arg)
{
	pthread_mutex_lock(&tab_lock);
	for (int fd = 0; fd < tab_len; fd++)
		if (tab[fd])
			fn(fd, tab[fd], arg);
	pthread_mutex_unlock(&tab_lock);
}

void mps_fdtab_each_relay(void (*fn)(int fd, void *arg), void *arg)
{
	pthread_mutex_lock(&tab_lock);
	for (int fd = 0; fd < tab_len; fd++)
		if (tab[fd] && mps_fdent_kind(tab[fd]) == MPS_FD_RELAY)
			fn(fd, arg);
	pthread_mutex_unlock(&tab_lock);
}
