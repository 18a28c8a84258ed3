// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/sort.h"
#include "base/vector.h"
#include "core/core.h"
#include "core/coredump_store.h"

// The kernel's TASK_COMM_LEN, less its NUL.
#define COMM_MAX 15

static bool parse_digits(const char *s, size_t len, uint64_t max,
			 uint64_t *ret)
{
	uint64_t value = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    __builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, (uint64_t)(s[i] - '0'), &value))
			return false;
	}
	if (value > max)
		return false;
	*ret = value;
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

// systemd escapes the command name with xescape(): \xNN for what is not
// safe in a file name.
static bool unescape_comm(const char *s, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < len && s[i + 1] == 'x' &&
		    hex_digit(s[i + 2]) >= 0 && hex_digit(s[i + 3]) >= 0) {
			c = (char)(hex_digit(s[i + 2]) * 16 + hex_digit(s[i + 3]));
			i += 3;
		}
		if (n + 1 >= size)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n > 0;
}

bool ch_coredump_parse_name(const char *name, struct ch_coredump_name *ret)
{
	static const char *const suffixes[] = { ".zst", ".xz", ".lz4", ".gz" };
	const char *fields[4], *end;
	size_t len = strlen(name);
	uint64_t value;

	if (strncmp(name, "core.", 5) != 0)
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t n = strlen(suffixes[i]);

		if (len > n && strcmp(name + len - n, suffixes[i]) == 0) {
			len -= n;
			break;
		}
	}
	// From the right: TIMESTAMP, PID, BOOTID, UID; COMM is the rest (an
	// escaped COMM holds no '.').
	end = name + len;
	for (int f = 0; f < 4; f++) {
		const char *dot = end;

		while (dot > name + 5 && dot[-1] != '.')
			dot--;
		if (dot <= name + 5)
			return false;
		fields[f] = dot;
		end = dot - 1;
	}
	if (!parse_digits(fields[0], name + len - fields[0], UINT64_MAX,
			  &ret->timestamp_us))
		return false;
	if (!parse_digits(fields[1], fields[0] - 1 - fields[1], INT32_MAX,
			  &value))
		return false;
	ret->pid = (int32_t)value;
	if (fields[1] - 1 - fields[2] != 32)
		return false;
	for (const char *p = fields[2]; p < fields[1] - 1; p++) {
		if (hex_digit(*p) < 0)
			return false;
	}
	if (!parse_digits(fields[3], fields[2] - 1 - fields[3], UINT32_MAX,
			  &value))
		return false;
	ret->uid = (uint32_t)value;
	return unescape_comm(name + 5, end - (name + 5), ret->comm,
			     sizeof(ret->comm));
}

struct candidate {
	char *name;
	struct ch_coredump_name fields;
};

DEFINE_VECTOR(candidate_vector, struct candidate);

static int newest_first(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->fields.timestamp_us != y->fields.timestamp_us)
		return x->fields.timestamp_us > y->fields.timestamp_us ? -1 : 1;
	return strcmp(y->name, x->name);
}

// The command name the kernel keeps is the first 15 bytes of the name.
static bool comm_matches(const char *comm, const char *name)
{
	return strcmp(comm, name) == 0 ||
	       (strlen(comm) == COMM_MAX && strncmp(comm, name, COMM_MAX) == 0);
}

/*
 * The kernel writes a core's notes first: the head of a core of the store
 * (a kernel's core, compressed) holds them, and the memory after them,
 * gigabytes maybe, need not be decompressed to tell which program it is.
 */
#define NOTES_PREFIX (64u << 20)

/*
 * Whether the core of path (read whole, or its first prefix bytes) maps
 * exe at its entry point, by its own notes: 1 yes, 0 no, -1 it cannot
 * tell (no such notes read).
 */
static int maps_at_entry(const char *path, const char *exe, uint64_t prefix)
{
	const struct ch_core_file *file;
	struct ch_core *core;
	struct ch_error *err;
	uint64_t entry;
	int runs = -1;

	err = prefix ? ch_core_open_prefix(path, prefix, &core) :
		       ch_core_open(path, &core);
	// A core that cannot be read is not the one: the next is looked at.
	if (err) {
		ch_error_destroy(err);
		return -1;
	}
	if (ch_core_auxv(core, AT_ENTRY, &entry) &&
	    (file = ch_core_file_at(core, entry)))
		runs = strcmp(file->path, exe) == 0;
	ch_core_destroy(core);
	return runs;
}

// The executable the core maps at its entry point, by its own notes: in
// its head, else (gdb writes the notes last) in the whole core.
static bool core_runs(const char *path, const char *exe)
{
	int runs = maps_at_entry(path, exe, NOTES_PREFIX);

	if (runs < 0)
		runs = maps_at_entry(path, exe, 0);
	return runs > 0;
}

static struct ch_error *list_store(const char *dir,
				   struct candidate_vector *ret)
{
	DIR *stream = opendir(dir);
	struct dirent *entry;
	struct ch_error *err = NULL;

	if (!stream)
		return ch_error_os(errno,
				   "cannot read systemd-coredump's store '%s'",
				   dir);
	while (!err && (entry = readdir(stream))) {
		struct candidate candidate = { 0 };

		if (!ch_coredump_parse_name(entry->d_name, &candidate.fields))
			continue;
		candidate.name = strdup(entry->d_name);
		if (!candidate.name)
			err = &ch_enomem;
		else if ((err = candidate_vector_append(ret, &candidate)))
			free(candidate.name);
	}
	closedir(stream);
	return err;
}

struct ch_error *ch_coredump_find(const char *dir, const char *match,
				  char **path_ret)
{
	struct candidate_vector candidates = { 0 };
	// The core names its executable by its canonical path, as the
	// kernel does: so is a path given here that exists.
	_cleanup_free_ char *canonical = strchr(match, '/') ?
						 realpath(match, NULL) : NULL;
	const char *exe = canonical ? canonical : match;
	const char *base = strrchr(exe, '/');
	bool by_pid = match[0] && strspn(match, "0123456789") == strlen(match);
	struct ch_error *err;
	char *found = NULL;

	if (!dir)
		dir = getenv(CH_COREDUMP_STORE_ENV);
	if (!dir || !*dir)
		dir = CH_COREDUMP_STORE;
	err = list_store(dir, &candidates);
	if (!err)
		ch_sort(candidates.data, candidates.len,
			sizeof(*candidates.data), newest_first);
	for (size_t i = 0; !err && !found && i < candidates.len; i++) {
		const struct candidate *c = &candidates.data[i];
		_cleanup_free_ char *path = NULL;

		if (by_pid ? (uint64_t)c->fields.pid != strtoull(match, NULL, 10) :
		    base ? !comm_matches(c->fields.comm, base + 1) :
			   !comm_matches(c->fields.comm, match))
			continue;
		if (asprintf(&path, "%s/%s", dir, c->name) < 0) {
			err = &ch_enomem;
			break;
		}
		if (base && !core_runs(path, exe))
			continue;
		found = no_cleanup_ptr(path);
	}
	for (size_t i = 0; i < candidates.len; i++)
		free(candidates.data[i].name);
	candidate_vector_deinit(&candidates);
	if (err)
		return err;
	if (!found)
		return ch_error_create(CH_ERROR_NOT_FOUND,
				       "no core of %s '%s' in systemd-coredump's store '%s'",
				       by_pid ? "pid" : base ? "executable" : "command",
				       match, dir);
	*path_ret = found;
	return NULL;
}
