// SPDX-License-Identifier: MIT
#include <inttypes.h>

#include "report/process.h"

bool ch_out_signal(struct ch_out *out, const struct ch_signal *signal)
{
	if (!signal->present) {
		if (!signal->taken_by_gdb)
			return false;
		ch_out_str(out, "none: the core was taken by gdb (gcore) from the running process\n");
		return true;
	}
	if (signal->name)
		ch_out_printf(out, "SIG%s (%d)", signal->name, signal->number);
	else
		ch_out_printf(out, "signal %d", signal->number);
	if (signal->has_code && signal->code_name.name)
		ch_out_printf(out, ", %s: %s", signal->code_name.name,
			      signal->code_name.meaning);
	else if (signal->has_code)
		ch_out_printf(out, ", code %d", signal->code);
	if (signal->has_fault_address)
		ch_out_printf(out, ", at 0x%" PRIx64, signal->fault_address);
	if (signal->has_sender)
		ch_out_printf(out, ", by pid %" PRId32 " (uid %" PRIu32 ")",
			      signal->sender_pid, signal->sender_uid);
	ch_out_char(out, '\n');
	return true;
}

void ch_json_signal(struct ch_json *json, const struct ch_core *core,
		    const struct ch_signal *signal)
{
	ch_json_key(json, "signal");
	if (!signal->present) {
		ch_json_null(json);
		return;
	}
	ch_json_begin_object(json);
	ch_json_member_i64(json, "number", signal->number);
	ch_json_member_string(json, "name", signal->name ? signal->name : "?");
	ch_json_key(json, "code");
	if (signal->has_code)
		ch_json_i64(json, signal->code);
	else
		ch_json_null(json);
	ch_json_key(json, "address");
	if (core->has_siginfo)
		ch_json_address(json, core->signal_address);
	else
		ch_json_null(json);
	ch_json_member_string_or_null(json, "code_name", signal->code_name.name);
	ch_json_member_string_or_null(json, "code_meaning",
				      signal->code_name.meaning);
	ch_json_key(json, "fault_address");
	if (signal->has_fault_address)
		ch_json_address(json, signal->fault_address);
	else
		ch_json_null(json);
	ch_json_key(json, "sender");
	if (signal->has_sender) {
		ch_json_begin_object(json);
		ch_json_member_i64(json, "pid", signal->sender_pid);
		ch_json_member_u64(json, "uid", signal->sender_uid);
		ch_json_end_object(json);
	} else {
		ch_json_null(json);
	}
	ch_json_end_object(json);
}

const char *ch_core_writer_name(const struct ch_core *core)
{
	return core->written_by_gdb ? "gdb" : "kernel";
}

void ch_out_command_line(struct ch_out *out, const struct ch_core *core,
			 const struct ch_command_line *command_line)
{
	// Bytes from a core: no terminal escape goes out as it is.
	for (const char *p = command_line->text; *p; p++)
		ch_out_char(out, (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
	if (!command_line->cut)
		return;
	if (command_line->source == CH_COMMAND_LINE_MEMORY)
		ch_out_printf(out, " (cut at %d bytes)", CH_COMMAND_LINE_MAX);
	else if (core->written_by_gdb)
		ch_out_str(out, " (may lack arguments: gdb keeps only the program's path in NT_PRPSINFO, and the arguments were not found in memory)");
	else
		ch_out_str(out, " (may be cut: NT_PRPSINFO keeps its first 79 bytes, and the arguments were not found in memory)");
}

void ch_json_command_line(struct ch_json *json,
			  const struct ch_command_line *command_line)
{
	static const char *const sources[] = {
		[CH_COMMAND_LINE_MEMORY] = "memory",
		[CH_COMMAND_LINE_PSINFO] = "psinfo",
	};

	ch_json_member_string(json, "command_line", command_line->text);
	ch_json_member_string_or_null(json, "command_line_source",
				      sources[command_line->source]);
	ch_json_member_bool(json, "command_line_cut", command_line->cut);
}
