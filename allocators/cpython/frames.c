// SPDX-License-Identifier: MIT
// Each Python thread's stack: per interpreter its thread states, per
// thread state its chain of interpreter frames (innermost first), each
// frame's code object named (co_qualname, co_filename) and its line found
// from the instruction it is at (co_linetable, the location table of 3.11
// and later: Objects/locations.md, Objects/codeobject.c), and the
// exception the thread is handling (sys.exception(): the topmost
// _PyErr_StackItem holding one). Reported to the host with
// add_runtime_stack; the native thread is the thread state's
// native_thread_id.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython.h"

/** The most thread states followed, in all interpreters. */
#define PY_MAX_THREADS 4096
/** The most frames reported for a thread (the innermost ones; Python's
 * default recursion limit is 1000). */
#define PY_MAX_THREAD_FRAMES 1024
/** The most frames reported in all. */
#define PY_MAX_FRAMES 65536
/** The most frame links followed in all. */
#define PY_MAX_FRAME_STEPS (1 << 20)
/** The most exception stack items followed. */
#define PY_MAX_EXC_ITEMS 4096
/** The longest location table read (bytes): a function of 100k lines. */
#define PY_MAX_LINETABLE (UINT64_C(1) << 22)
/** Longest file name kept. */
#define PY_MAX_FILE 1024
/** Longest exception message kept. */
#define PY_MAX_MESSAGE 512

/** A cursor over a bytes object's contents, read a window at a time. */
struct byte_reader {
	struct py_walk *walk;
	uint64_t start, size, pos;
	uint64_t window_start;
	uint32_t window_len;
	uint8_t window[512];
};

// The byte at the cursor; false past the end or where the core lacks it.
static bool peek(struct byte_reader *reader, uint8_t *ret)
{
	if (reader->pos >= reader->size)
		return false;
	if (reader->pos < reader->window_start ||
	    reader->pos >= reader->window_start + reader->window_len) {
		uint64_t left = reader->size - reader->pos;
		uint32_t len = left < sizeof(reader->window) ?
				       (uint32_t)left :
				       (uint32_t)sizeof(reader->window);

		if (reader->walk->host->read(reader->walk->host,
					     reader->start + reader->pos,
					     reader->window, len))
			return false;
		reader->window_start = reader->pos;
		reader->window_len = len;
	}
	*ret = reader->window[reader->pos - reader->window_start];
	return true;
}

static bool next_byte(struct byte_reader *reader, uint8_t *ret)
{
	if (!peek(reader, ret))
		return false;
	reader->pos++;
	return true;
}

// An unsigned varint of the location table: 6 bits a byte, bit 6 more.
static bool read_varint(struct byte_reader *reader, uint32_t *ret)
{
	uint8_t byte;
	uint32_t value, shift = 0;

	if (!next_byte(reader, &byte))
		return false;
	value = byte & 63;
	while (byte & 64) {
		shift += 6;
		if (shift > 30 || !next_byte(reader, &byte))
			return false;
		value |= (uint32_t)(byte & 63) << shift;
	}
	*ret = value;
	return true;
}

static bool read_signed_varint(struct byte_reader *reader, int64_t *ret)
{
	uint32_t value;

	if (!read_varint(reader, &value))
		return false;
	*ret = value & 1 ? -(int64_t)(value >> 1) : (int64_t)(value >> 1);
	return true;
}

int64_t py_code_line(struct py_walk *walk, uint64_t code, uint64_t instr)
{
	const struct py_layout *layout = walk->layout;
	struct byte_reader reader = { .walk = walk };
	uint64_t linetable, start = code + layout->co_code_adaptive;
	uint64_t addrq, end = 0;
	int32_t firstlineno;
	int64_t line;

	if (walk->host->read(walk->host, code + layout->co_firstlineno,
			     &firstlineno, sizeof(firstlineno)) ||
	    !py_read_u64(walk, code + layout->co_linetable, &linetable) ||
	    !py_read_u64(walk, linetable + layout->ob_size, &reader.size))
		return 0;
	// A frame not started yet: its function's first line, as Python says.
	if (instr < start)
		return firstlineno;
	if (reader.size > PY_MAX_LINETABLE)
		return 0;
	reader.start = linetable + layout->bytes_sval;
	// The byte offset of the instruction's code unit (2 bytes).
	addrq = (instr - start) & ~UINT64_C(1);
	line = firstlineno;
	for (;;) {
		uint8_t first, byte;
		unsigned kind;
		int64_t delta = 0;

		if (!next_byte(&reader, &first) || !(first & 0x80))
			return 0;
		kind = (first >> 3) & 15;
		if (kind == 13 || kind == 14) {
			// No columns, or the long form: the line's delta first.
			if (!read_signed_varint(&reader, &delta))
				return 0;
		} else if (kind >= 10 && kind <= 12) {
			delta = kind - 10;
		}
		line += delta;
		end += ((first & 7) + 1) * 2;
		if (addrq < end)
			return kind == 15 ? 0 : line;
		// Past the entry's other bytes, to the next entry's first.
		while (peek(&reader, &byte) && !(byte & 0x80))
			reader.pos++;
	}
}

// A str object's text into buf, or "?" when it is none.
static void str_or_unknown(struct py_walk *walk, uint64_t str, char *buf,
			   size_t max)
{
	if (!py_read_str(walk, str, buf, max))
		snprintf(buf, max, "?");
}

uint64_t py_frame_code(struct py_walk *walk, uint64_t frame)
{
	const struct py_layout *layout = walk->layout;
	uint64_t code, code_type;
	uint8_t owner;

	if (walk->host->read(walk->host, frame + layout->frame_owner, &owner,
			     1) ||
	    !py_read_u64(walk, frame + layout->frame_code, &code) ||
	    !py_read_u64(walk, code + layout->ob_type, &code_type))
		return 0;
	if ((layout->frame_owner_cstack && owner == layout->frame_owner_cstack) ||
	    (walk->st->code_type && code_type != walk->st->code_type))
		return 0;
	return code;
}

/*
 * The frame at frame as function, file and line (strings in the caller's
 * buffers); false if it is no Python function's frame (a C entry frame,
 * or not a code object).
 */
static bool read_frame(struct py_walk *walk, uint64_t frame,
		       struct coreheap_runtime_frame *ret, char *function,
		       char *file)
{
	const struct py_layout *layout = walk->layout;
	uint64_t code = py_frame_code(walk, frame), instr, name;

	if (!code || !py_read_u64(walk, frame + layout->frame_instr, &instr))
		return false;
	if (!py_read_u64(walk, code + layout->co_qualname, &name) ||
	    !py_read_str(walk, name, function, PY_MAX_NAME)) {
		if (!py_read_u64(walk, code + layout->co_name, &name))
			name = 0;
		str_or_unknown(walk, name, function, PY_MAX_NAME);
	}
	if (!py_read_u64(walk, code + layout->co_filename, &name))
		name = 0;
	str_or_unknown(walk, name, file, PY_MAX_FILE);
	*ret = (struct coreheap_runtime_frame){
		.function = function,
		.file = file,
		.line = py_code_line(walk, code, instr),
		.address = frame,
	};
	return true;
}

uint64_t py_current_frame(struct py_walk *walk, uint64_t tstate)
{
	const struct py_layout *layout = walk->layout;
	uint64_t frame, cframe;

	if (layout->ts_cframe) {
		if (!py_read_u64(walk, tstate + layout->ts_cframe, &cframe) ||
		    !cframe ||
		    !py_read_u64(walk, cframe + layout->cframe_current_frame,
				 &frame))
			return 0;
		return frame;
	}
	return py_read_u64(walk, tstate + layout->ts_current_frame, &frame) ?
		       frame :
		       0;
}

/*
 * The exception the thread state at tstate is handling (sys.exception():
 * the first stack item whose value is neither NULL nor None): its
 * address, or 0; its type's name and its message into the buffers.
 */
static uint64_t handled_exception(struct py_walk *walk, uint64_t tstate,
				  char *type_name, char *message,
				  bool *has_message)
{
	const struct py_layout *layout = walk->layout;
	uint64_t item, value = 0, type, args, count, first;
	const struct py_type *type_found;

	*has_message = false;
	if (!py_read_u64(walk, tstate + layout->ts_exc_info, &item))
		return 0;
	for (int n = 0; item && n < PY_MAX_EXC_ITEMS; n++) {
		if (!py_read_u64(walk, item + layout->exc_item_value, &value))
			return 0;
		if (value && value != walk->st->none)
			break;
		value = 0;
		if (!py_read_u64(walk, item + layout->exc_item_previous, &item))
			return 0;
	}
	if (!value || !py_read_u64(walk, value + layout->ob_type, &type))
		return 0;
	type_found = py_type_at(walk, type);
	snprintf(type_name, PY_MAX_NAME, "%s",
		 type_found ? type_found->name : "?");
	// Its first argument, when it is a str: what str(exception) shows.
	if (py_read_u64(walk, value + layout->exc_args, &args) && args &&
	    py_read_u64(walk, args + layout->ob_size, &count) && count >= 1 &&
	    count < (UINT64_C(1) << 32) &&
	    py_read_u64(walk, args + layout->tuple_items, &first) &&
	    py_read_str(walk, first, message, PY_MAX_MESSAGE))
		*has_message = true;
	return value;
}

/*
 * One walk over the stacks: the frames' strings (kept until the host copied
 * them), and what is left of the budgets that bound a hostile core's
 * loops and sizes.
 */
struct stacks_walk {
	struct py_walk *walk;
	struct coreheap_runtime_frame frames[PY_MAX_THREAD_FRAMES];
	char (*names)[PY_MAX_NAME];
	char (*files)[PY_MAX_FILE];
	uint64_t steps_left;
	uint64_t frames_left;
	uint64_t threads_left;
	bool cut;
};

// One thread state: its frames and exception, reported.
static void report_thread(struct stacks_walk *stacks, uint64_t tstate,
			  const char *context)
{
	struct py_walk *walk = stacks->walk;
	const struct py_layout *layout = walk->layout;
	char exc_type[PY_MAX_NAME], message[PY_MAX_MESSAGE];
	uint64_t native_id = 0, frame, exception;
	uint32_t count = 0;
	bool has_message;

	if (!py_read_u64(walk, tstate + layout->ts_native_thread_id,
			 &native_id))
		native_id = 0;
	frame = py_current_frame(walk, tstate);
	// The chain is bounded: a loop is cut where a budget ends.
	while (frame) {
		uint64_t previous;

		if (count == PY_MAX_THREAD_FRAMES || !stacks->frames_left ||
		    !stacks->steps_left) {
			stacks->cut = true;
			break;
		}
		stacks->steps_left--;
		if (read_frame(walk, frame, &stacks->frames[count],
			       stacks->names[count], stacks->files[count])) {
			count++;
			stacks->frames_left--;
		}
		if (!py_read_u64(walk, frame + layout->frame_previous,
				 &previous) ||
		    previous == frame)
			break;
		frame = previous;
	}
	exception = handled_exception(walk, tstate, exc_type, message,
				      &has_message);
	struct coreheap_runtime_stack stack = {
		.tid = native_id <= INT32_MAX ? (int32_t)native_id : 0,
		.num_frames = count,
		.frames = stacks->frames,
		.thread = tstate,
		.context = context,
		.exception_type = exception ? exc_type : NULL,
		.exception_message = exception && has_message ? message : NULL,
		.exception = exception,
	};

	if (walk->host->add_runtime_stack(walk->host, &stack) ==
	    COREHEAP_NOMEM)
		walk->status = COREHEAP_NOMEM;
}

// Each thread state of the interpreter at interp, newest first.
static void walk_threads(struct stacks_walk *stacks, uint64_t tstate,
			 const char *context)
{
	struct py_walk *walk = stacks->walk;

	while (tstate && walk->status == COREHEAP_OK) {
		uint64_t next;

		if (!stacks->threads_left) {
			stacks->cut = true;
			return;
		}
		stacks->threads_left--;
		report_thread(stacks, tstate, context);
		if (!py_read_u64(walk, tstate + walk->layout->ts_next, &next) ||
		    next == tstate)
			return;
		tstate = next;
	}
}

void py_walk_stacks(struct py_walk *walk)
{
	const struct py_layout *layout = walk->layout;
	const struct coreheap_host *host = walk->host;
	struct stacks_walk *stacks;
	uint64_t interp;

	if (!COREHEAP_HOST_HAS(host, add_runtime_stack) ||
	    !py_read_u64(walk, walk->st->runtime +
				       layout->runtime_interpreters_head,
			 &interp))
		return;
	stacks = calloc(1, sizeof(*stacks));
	if (stacks) {
		stacks->names = calloc(PY_MAX_THREAD_FRAMES,
				       sizeof(*stacks->names));
		stacks->files = calloc(PY_MAX_THREAD_FRAMES,
				       sizeof(*stacks->files));
	}
	if (!stacks || !stacks->names || !stacks->files) {
		walk->status = COREHEAP_NOMEM;
		goto out;
	}
	stacks->walk = walk;
	stacks->steps_left = PY_MAX_FRAME_STEPS;
	stacks->frames_left = PY_MAX_FRAMES;
	stacks->threads_left = PY_MAX_THREADS;
	for (int n = 0; interp && n < PY_MAX_INTERPRETERS &&
			walk->status == COREHEAP_OK;
	     n++) {
		uint64_t id, next, tstate;
		char context[64];

		if (!py_read_u64(walk, interp + layout->interp_id, &id) ||
		    !py_read_u64(walk, interp + layout->interp_next, &next) ||
		    !py_read_u64(walk, interp + layout->interp_threads_head,
				 &tstate))
			break;
		snprintf(context, sizeof(context), "interpreter %lld",
			 (long long)id);
		walk_threads(stacks, tstate, context);
		if (next == interp || !stacks->threads_left)
			break;
		interp = next;
	}
	if (stacks->cut)
		host->log(host, COREHEAP_LOG_WARNING,
			  "Python stacks cut short: more than %d threads, %d frames in a thread, %d frames in all or %d frame links (a loop?)",
			  PY_MAX_THREADS, PY_MAX_THREAD_FRAMES, PY_MAX_FRAMES,
			  PY_MAX_FRAME_STEPS);
out:
	if (stacks) {
		free(stacks->names);
		free(stacks->files);
	}
	free(stacks);
}
