/* SPDX-License-Identifier: MIT */
/**
 * @file
 * How summary and triage tell the process a core came from: its command
 * line and the signal it was dumped for, in text and in JSON.
 */
#ifndef COREHEAP_REPORT_PROCESS_H
#define COREHEAP_REPORT_PROCESS_H

#include "core/core.h"
#include "core/process.h"
#include "report/output.h"

/**
 * The signal, after a label: "SIGSEGV (11), SEGV_MAPERR: address not
 * mapped to object, at 0x1234", "SIGSEGV (11), SI_USER: sent by kill, by
 * pid 42 (uid 1000)", or for a core gdb took of a running process "none:
 * the core was taken by gdb (gcore) from the running process". Nothing
 * (false) if the core names no signal and gdb did not write it.
 */
bool ch_out_signal(struct ch_out *out, const struct ch_signal *signal);

/**
 * The "signal" member: null when no signal stopped the process (no
 * NT_SIGINFO, or gcore's), else {"number", "name", "code", "address" (the
 * raw si_addr word, as coreheap-triage/1 always gave it), "code_name",
 * "code_meaning", "fault_address" (null unless a fault), "sender"
 * ({"pid", "uid"}, null unless a process sent it)}.
 */
void ch_json_signal(struct ch_json *json, const struct ch_core *core,
		    const struct ch_signal *signal);

/** "gdb" or "kernel": who wrote the core. */
const char *ch_core_writer_name(const struct ch_core *core);

/**
 * The command line, control characters as '?', and when it may be cut,
 * why: " (may be cut: ...)".
 */
void ch_out_command_line(struct ch_out *out, const struct ch_core *core,
			 const struct ch_command_line *command_line);

/**
 * The members "command_line", "command_line_source" ("memory", "psinfo"
 * or null) and "command_line_cut".
 */
void ch_json_command_line(struct ch_json *json,
			  const struct ch_command_line *command_line);

#endif /* COREHEAP_REPORT_PROCESS_H */
