/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE 1
#include "exact_harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "liveset.h"

/* What a test needs from the environment; missing means a broken harness. */
static const char *required_env(const char *name)
{
	const char *value = getenv(name);

	if (!value || !*value)
		cr_assert_fail("%s is not set: run the tests with `make check', or "
			 "export COREHEAP, FIXTURES, SRCDIR and CORE_DIR", name);
	return value;
}

static char *path_join(const char *dir, const char *name, const char *suffix)
{
	char *path;

	if (asprintf(&path, "%s/%s%s", dir, name, suffix) < 0)
		cr_assert_fail("out of memory");
	return path;
}

/*
 * Run argv with stdout and stderr to files (NULL: inherit). Returns the
 * exit status, or 128 + signal.
 */
static int run_command(char *const argv[], const char *stdout_path,
		       const char *stderr_path)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		cr_assert_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		const char *paths[2] = { stdout_path, stderr_path };
		int fd;

		for (fd = 1; fd <= 2; fd++) {
			int out;

			if (!paths[fd - 1])
				continue;
			out = open(paths[fd - 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (out < 0 || dup2(out, fd) < 0)
				_exit(126);
			close(out);
		}
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			cr_assert_fail("waitpid: %s", strerror(errno));
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Appends a titled copy of the file at path to report (if it exists). */
static void append_file(FILE *report, const char *path, const char *title)
{
	FILE *file = fopen(path, "r");
	char buf[4096];
	size_t n;

	if (!file)
		return;
	fprintf(report, "--- %s (%s):\n", title, path);
	while ((n = fread(buf, 1, sizeof(buf), file)) > 0)
		fwrite(buf, 1, n, report);
	fclose(file);
}

/*
 * Tests run in parallel into one log: each failure report goes out in a
 * single write, so that reports do not interleave.
 */
static void emit_files(const char *const paths[], const char *const titles[],
		       size_t count)
{
	char *text = NULL;
	size_t size = 0, i;
	FILE *report = open_memstream(&text, &size);

	if (!report)
		return;
	for (i = 0; i < count; i++)
		append_file(report, paths[i], titles[i]);
	fclose(report);
	fflush(stderr);
	if (size && write(STDERR_FILENO, text, size) < 0)
		perror("write");
	free(text);
}

static void copy_file_to_stderr(const char *path, const char *title)
{
	emit_files(&path, &title, 1);
}

struct exact_paths {
	char *fixture;		/* $FIXTURES/<fixture> */
	char *prefix;		/* $CORE_DIR/<name> */
	char *core;
	char *live;
	char *jsonl;		/* coreheap's stdout */
	char *coreheap_err;	/* coreheap's stderr */
	char *diff;		/* the mismatch report */
	char *explain;		/* gdb-heap-oracle.sh --explain on the diff */
};

static void exact_paths_init(struct exact_paths *p, const char *fixture,
			     const char *name)
{
	const char *core_dir = required_env("CORE_DIR");

	p->fixture = path_join(required_env("FIXTURES"), fixture, "");
	p->prefix = path_join(core_dir, name, "");
	p->core = path_join(core_dir, name, ".core");
	p->live = path_join(core_dir, name, ".live");
	p->jsonl = path_join(core_dir, name, ".jsonl");
	p->coreheap_err = path_join(core_dir, name, ".coreheap.err");
	p->diff = path_join(core_dir, name, ".diff");
	p->explain = path_join(core_dir, name, ".explain");
}

/* Removes what a passing test made, unless CH_KEEP_CORES is set. */
static void exact_paths_cleanup(struct exact_paths *p)
{
	const char *keep = getenv("CH_KEEP_CORES");
	const char *suffixes[] = { ".out", ".err", ".gcore.log" };
	size_t i;

	if (keep && *keep && strcmp(keep, "0") != 0)
		return;
	unlink(p->core);
	unlink(p->live);
	unlink(p->jsonl);
	unlink(p->coreheap_err);
	unlink(p->diff);
	unlink(p->explain);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char *path;

		if (asprintf(&path, "%s%s", p->prefix, suffixes[i]) >= 0) {
			unlink(path);
			free(path);
		}
	}
}

static void make_core(const struct exact_paths *p, enum core_source source)
{
	char *script = path_join(required_env("SRCDIR"), "tests/make-core.sh", "");
	char *argv[] = {
		"/bin/bash", script, p->fixture, p->prefix,
		source == CORE_FROM_KERNEL ? "--kernel" : NULL, NULL,
	};
	int status = run_command(argv, "/dev/null", NULL);

	free(script);
	if (status == 77)
		cr_skip_test("make-core.sh cannot make this core here (see its message)");
	if (status != 0)
		cr_assert_fail("make-core.sh %s %s%s failed with status %d", p->fixture,
			 p->prefix, source == CORE_FROM_KERNEL ? " --kernel" : "",
			 status);
}

static int run_coreheap(const struct exact_paths *p, enum libc_debuginfo debuginfo)
{
	char *coreheap = (char *)required_env("COREHEAP");
	char *argv_default[] = {
		coreheap, "objects", "--format", "jsonl", p->core, NULL,
	};
	char *argv_hidden[] = {
		coreheap, "objects", "--debuginfo-path", "/nonexistent",
		"--format", "jsonl", p->core, NULL,
	};

	if (access(coreheap, X_OK) != 0)
		cr_assert_fail("COREHEAP=%s is not executable: %s", coreheap, strerror(errno));
	return run_command(debuginfo == LIBC_DEBUGINFO_HIDDEN ? argv_hidden : argv_default,
			   p->jsonl, p->coreheap_err);
}

/* Names what each differing chunk is, per gdb and libc's debug info. */
static void explain_with_gdb(const struct exact_paths *p)
{
	char *command;

	if (asprintf(&command,
		     "bash '%s/tests/gdb-heap-oracle.sh' --explain '%s' '%s' '%s' >'%s' 2>&1",
		     required_env("SRCDIR"), p->fixture, p->core, p->diff,
		     p->explain) < 0)
		return;
	if (system(command) != 0) {
		FILE *explain = fopen(p->explain, "a");

		if (explain) {
			fputs("(gdb-heap-oracle.sh could not tell)\n", explain);
			fclose(explain);
		}
	}
	free(command);
}

static size_t compare_and_report(struct exact_paths *p, struct liveset *expected,
				 struct liveset *actual, const char *what,
				 bool explain)
{
	FILE *report = fopen(p->diff, "w");
	struct liveset_diff diff;
	size_t differences;

	if (!report)
		cr_assert_fail("%s: %s", p->diff, strerror(errno));
	fprintf(report, "%s\n"
		"missing: recorded live by the fixture, not reported by coreheap\n"
		"extra: reported by coreheap, not live in the fixture\n", what);
	differences = liveset_compare(expected, actual, report, &diff);
	fclose(report);
	if (differences) {
		const char *paths[] = { p->diff, p->explain };
		const char *titles[] = {
			"live set mismatch", "what gdb says these addresses are",
		};

		if (explain)
			explain_with_gdb(p);
		emit_files(paths, titles, explain ? 2 : 1);
	}
	return differences;
}

void exact_check_allocator(const char *fixture, const char *name,
			   enum core_source source,
			   enum libc_debuginfo debuginfo,
			   const char *allocator)
{
	struct liveset expected, actual;
	struct exact_paths p;
	char err[512];
	char *what;
	FILE *jsonl;
	size_t differences, expected_count, actual_count;
	int status;

	exact_paths_init(&p, fixture, name);
	if (asprintf(&what, "%s: coreheap objects%s on the %s core of %s", name,
		     debuginfo == LIBC_DEBUGINFO_HIDDEN ? " --debuginfo-path /nonexistent" : "",
		     source == CORE_FROM_KERNEL ? "kernel" : "gcore", fixture) < 0)
		cr_assert_fail("out of memory");

	make_core(&p, source);
	liveset_init(&expected);
	if (liveset_read_recorded(p.live, &expected, err, sizeof(err)))
		cr_assert_fail("%s: the fixture's live set is unreadable: %s", what, err);
	cr_assert_gt(expected.count, 0, "%s: the fixture recorded no allocation", what);

	/*
	 * A non-zero exit fails the test, but the sets are still compared:
	 * what was missed says more than the status.
	 */
	status = run_coreheap(&p, debuginfo);
	if (status != 0) {
		copy_file_to_stderr(p.coreheap_err, "coreheap stderr");
		cr_expect_eq(status, 0, "%s: coreheap exited with status %d (core kept: %s)",
			     what, status, p.core);
	}

	liveset_init(&actual);
	jsonl = fopen(p.jsonl, "r");
	if (!jsonl)
		cr_assert_fail("%s: %s", p.jsonl, strerror(errno));
	if (liveset_read_jsonl(jsonl, allocator, &actual, err, sizeof(err))) {
		copy_file_to_stderr(p.coreheap_err, "coreheap stderr");
		cr_assert_fail("%s: bad coreheap output %s: %s", what, p.jsonl, err);
	}
	fclose(jsonl);

	expected_count = expected.count;
	actual_count = actual.count;
	differences = compare_and_report(&p, &expected, &actual, what,
					 strcmp(allocator, "glibc") == 0);
	cr_assert_eq(differences, 0,
		     "%s: %zu differences between the %zu recorded and the %zu "
		     "reported allocations (listed above and in %s; core and outputs "
		     "kept: %s.*)",
		     what, differences, expected_count, actual_count, p.diff, p.prefix);

	exact_paths_cleanup(&p);
	liveset_free(&expected);
	liveset_free(&actual);
	free(what);
}

/*
 * If every test skipped (no gcore here, no core files), say so to automake
 * with 77 rather than pass: a suite that checked nothing must not look
 * green.
 */
static bool every_test_skipped;

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	every_test_skipped = stats->nb_tests > 0 &&
			     stats->tests_skipped == stats->nb_tests;
}

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int status = 0;

	if (criterion_handle_args(argc, argv, true))
		status = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	if (status == 0 && every_test_skipped)
		return 77;
	return status;
}
