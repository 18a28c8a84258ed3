// SPDX-License-Identifier: MIT
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/progress.h"
#include "cli/commands.h"
#include "heap/allocators.h"

const struct ch_command ch_commands[] = {
	{ "summary", cmd_summary,
	  "the process, its threads and modules, allocators and arenas" },
	{ "objects", cmd_objects, "every live allocation" },
	{ "types", cmd_types, "the live heap by type: count, bytes, share" },
	{ "describe", cmd_describe,
	  "what lives at an address: allocation, type, fields" },
	{ "why", cmd_why, "the shortest chains of pointers from a root to an allocation" },
	{ "leaks", cmd_leaks, "the allocations no root reaches" },
	{ "refs", cmd_refs, "what points into an allocation, and what it points to" },
	{ "top", cmd_top, "retained sizes, per allocation and per type, largest first" },
	{ "diff", cmd_diff, "what changed per type between two cores of one program" },
	{ "triage", cmd_triage, "one report for crash-triage pipelines" },
	{ "report", cmd_report, "a self-contained HTML page of one core, or of two" },
	{ NULL, NULL, NULL },
};

static void print_help(FILE *stream)
{
	fprintf(stream,
		"usage: coreheap COMMAND [OPTIONS] CORE\n"
		"       coreheap --version | --help | --list-allocators\n"
		"\nwhat is live on the heap of an ELF core dump\n\ncommands:\n");
	for (const struct ch_command *cmd = ch_commands; cmd->name; cmd++)
		fprintf(stream, "  %-10s %s\n", cmd->name, cmd->summary);
	fprintf(stream,
		"\n'coreheap COMMAND --help' shows a command's options.\n"
		"exit status: 0 complete, 1 partial (something missing or damaged; see stderr),\n"
		"2 fatal (nothing could be reported), 64 usage error; triage: 3 heap damaged\n");
}

static int list_allocators(void)
{
	for (size_t i = 0; ch_builtin_allocators[i]; i++)
		printf("%-10s %s\n", ch_builtin_allocators[i]->name,
		       ch_builtin_allocators[i]->description);
	return fflush(stdout) == 0 ? CH_EXIT_OK : CH_EXIT_FATAL;
}

int main(int argc, char **argv)
{
	// The analyses free large arrays while others grow (a scan thread's
	// edges, joined into one). After the first such free, glibc raises
	// its mmap threshold and serves the next ones from its arenas, which
	// keep what is freed: at 30 million allocations, 175 MB more at the
	// peak. A fixed threshold gives each large array back when freed.
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (argc < 2) {
		print_help(stderr);
		return CH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_help(stdout);
		return CH_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("coreheap %s\n", PACKAGE_VERSION);
		return CH_EXIT_OK;
	}
	if (strcmp(argv[1], "--list-allocators") == 0)
		return list_allocators();
	// Progress of long stages for a person at a terminal; CH_PROGRESS
	// (0 or 1) decides instead when set.
	const char *progress = getenv("CH_PROGRESS");
	ch_progress_enable(progress ? strcmp(progress, "1") == 0 :
				      isatty(STDERR_FILENO));
	for (const struct ch_command *cmd = ch_commands; cmd->name; cmd++) {
		if (strcmp(argv[1], cmd->name) == 0)
			return cmd->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "coreheap: unknown command '%s' (see 'coreheap --help')\n",
		argv[1]);
	return CH_EXIT_USAGE;
}
