/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The subcommands: one file each (src/cmd_<name>.c), each a
 * `int cmd_<name>(int argc, char **argv)` that parses its own options with
 * ch_options_parse(), does its work through the library and returns the
 * exit status. argv[0] is the command's name.
 */
#ifndef COREHEAP_COMMANDS_H
#define COREHEAP_COMMANDS_H

struct ch_command {
	const char *name;
	int (*run)(int argc, char **argv);
	/** One line for `coreheap --help`. */
	const char *summary;
};

int cmd_summary(int argc, char **argv);
int cmd_objects(int argc, char **argv);
int cmd_types(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_why(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_refs(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_triage(int argc, char **argv);
int cmd_report(int argc, char **argv);

/** Every command, NULL-terminated; see main.c. */
extern const struct ch_command ch_commands[];

#endif /* COREHEAP_COMMANDS_H */
