/*
 * mps-ifaddrs.c - a library preloaded after the shim that counts
 * getifaddrs() calls: each appends a line to the file named by
 * $MPS_IFADDRS_LOG, then the real one runs.
 *
 * The engine looks interfaces up with getifaddrs, 0.1 ms each here; a
 * test reads the log to see when it does (tests/net/test_first.c).  Only
 * the suite's own helpers ever run with it.
 */
#include <dlfcn.h>		/* RTLD_NEXT: _GNU_SOURCE comes from configure */
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((visibility("default"))) int getifaddrs(struct ifaddrs **ifap)
{
	static int (*real)(struct ifaddrs **);
	const char *log = getenv("MPS_IFADDRS_LOG");

	if (!real)
		real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
	if (log) {
		int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0) {
			ssize_t n = write(fd, "getifaddrs\n", 11);

			(void)n;	/* a short log fails the test that reads it */
			close(fd);
		}
	}
	return real(ifap);
}
