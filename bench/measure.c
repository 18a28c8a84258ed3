// SPDX-License-Identifier: MIT
/*
 * measure COMMAND [ARGS...]: run a command with its stdout sent to
 * /dev/null and print "WALL CPU PEAK_ANON_KIB" on stdout: wall seconds,
 * CPU seconds (user + system, children included), and the peak of the
 * command's anonymous resident memory. The anonymous memory is what the
 * command allocated itself; the core it maps from the page cache is file
 * memory and does not count, which is what make bench reports as "memory
 * beyond the mapped core". The kernel keeps no peak of RssAnon, so it is
 * sampled from /proc/PID/status every millisecond.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long anon_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *status;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = fopen(path, "r");
	if (!status)
		return -1;
	while (fgets(line, sizeof(line), status))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(status);
	return kib;
}

int main(int argc, char **argv)
{
	struct rusage usage;
	double start;
	long peak = 0;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: measure COMMAND [ARGS...]\n");
		return 2;
	}
	start = now();
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(null, 1) < 0)
			_exit(127);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	for (;;) {
		pid_t done = wait4(pid, &status, WNOHANG, &usage);
		long kib;

		if (done == pid)
			break;
		if (done < 0)
			return 2;
		kib = anon_kib(pid);
		if (kib > peak)
			peak = kib;
		usleep(1000);
	}
	printf("%.2f %.2f %ld\n", now() - start,
	       usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
		       usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6,
	       peak);
	return WIFEXITED(status) && WEXITSTATUS(status) <= 1 ? 0 : 1;
}
