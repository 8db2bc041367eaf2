/*
 * stats_addr.c - where a process's stats socket is (see stats.h).  Kept
 * apart from the records so that the tool and the fuzz harness can use it
 * without the engine.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "stats.h"

socklen_t mps_stats_socket_addr(pid_t pid, struct sockaddr_un *sun)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	/* sun_path[0] stays 0: the abstract namespace */
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "%s%ld",
		     MPS_STATS_SOCKET_PREFIX, (long)pid);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

pid_t mps_stats_socket_pid(const char *path)
{
	size_t plen = strlen(MPS_STATS_SOCKET_PREFIX);
	const char *p;
	long pid = 0;

	if (path[0] != '@' || strncmp(path + 1, MPS_STATS_SOCKET_PREFIX, plen))
		return -1;
	p = path + 1 + plen;
	/* digits only, no sign, no leading zero, within pid_t */
	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		pid = pid * 10 + (*p - '0');
		if (pid > 0x7fffffff)
			return -1;
	}
	return *p ? -1 : (pid_t)pid;
}
