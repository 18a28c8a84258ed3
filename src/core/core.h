/* SPDX-License-Identifier: MIT */
/**
 * @file
 * An ELF core file, opened with libelf over an mmap of the file (never a
 * copy): its segments, threads and the notes that describe the process.
 *
 * Everything in a core is untrusted: sizes are checked against the file, and
 * a truncated core is opened with what it still holds (ch_core::truncated).
 */
#ifndef COREHEAP_CORE_H
#define COREHEAP_CORE_H

#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "core/core_image.h"

/** x86-64 general registers, in the order of the kernel's user_regs_struct. */
enum ch_x86_64_reg {
	CH_REG_R15, CH_REG_R14, CH_REG_R13, CH_REG_R12, CH_REG_RBP, CH_REG_RBX,
	CH_REG_R11, CH_REG_R10, CH_REG_R9, CH_REG_R8, CH_REG_RAX, CH_REG_RCX,
	CH_REG_RDX, CH_REG_RSI, CH_REG_RDI, CH_REG_ORIG_RAX, CH_REG_RIP,
	CH_REG_CS, CH_REG_EFLAGS, CH_REG_RSP, CH_REG_SS, CH_REG_FS_BASE,
	CH_REG_GS_BASE, CH_REG_DS, CH_REG_ES, CH_REG_FS, CH_REG_GS,
	CH_NUM_REGS,
};

/** Names of the registers above, for reports ("rip", "rsp", ...). */
extern const char *const ch_reg_names[CH_NUM_REGS];

/** One thread, from an NT_PRSTATUS note. */
struct ch_thread {
	int32_t tid;
	/** The signal that stopped the thread (pr_cursig), 0 if none. */
	int signal;
	uint64_t regs[CH_NUM_REGS];
};

/** One PT_LOAD segment of the core. */
struct ch_core_segment {
	uint64_t start;      /**< p_vaddr */
	uint64_t size;       /**< p_memsz */
	/** Bytes of the segment present in the file (<= p_filesz). */
	uint64_t available;
	/**
	 * Bytes the core says it saved (p_filesz, at most p_memsz): past
	 * available they were cut off (truncated); past this, left out on
	 * purpose (read-only file data, untouched or shared memory).
	 */
	uint64_t promised;
	/** Where those bytes are, inside the mapped core. */
	const uint8_t *data;
	uint32_t flags;      /**< PF_R | PF_W | PF_X */
	/** p_filesz said more than the file holds. */
	bool truncated;
};

/** Bytes of the core file. */
struct ch_core_range {
	uint64_t offset, size;
};

/** One file mapping from the NT_FILE note. */
struct ch_core_file {
	uint64_t start, end;
	/** Offset in the file, in bytes. */
	uint64_t offset;
	/** Path as the process saw it; points into ch_core::file_names. */
	const char *path;
};

/**
 * Kinds of damage to a core's structure that coreheap reads around: each
 * makes the results partial, and is told once per core (see
 * ch_core::problems), however many times it occurs.
 */
enum ch_core_problem_kind {
	/** A PT_LOAD says it stores more bytes than it spans (filesz > memsz). */
	CH_CORE_FILESZ_OVER_MEMSZ,
	/**
	 * A PT_LOAD whose end wraps past 2^64, or outside where an x86-64
	 * process's memory can be: dropped.
	 */
	CH_CORE_SEGMENT_WRAPS,
	/** A PT_LOAD of memory size 0: dropped. */
	CH_CORE_SEGMENT_EMPTY,
	/** Two PT_LOADs claim the same addresses: the first one is read. */
	CH_CORE_SEGMENTS_OVERLAP,
	/** A PT_NOTE outside the file, or notes read twice. */
	CH_CORE_BAD_NOTE_SEGMENT,
	/** A note too short for its type, or a thread with an impossible id. */
	CH_CORE_BAD_NOTE,
	/** An NT_FILE note whose count, page size or entries are impossible. */
	CH_CORE_BAD_FILE_NOTE,
	/** Writable memory backed by no file, absent from the file. */
	CH_CORE_UNSAVED,
	/** A compressed core's stream ends early or is damaged. */
	CH_CORE_COMPRESSED_DAMAGE,
	CH_CORE_NUM_PROBLEM_KINDS,
};

/** One kind of damage: the first occurrence, said, and how many there were. */
struct ch_core_problem {
	/** "core 'x': ..."; NULL if this kind did not occur. Owned. */
	char *message;
	size_t count;
};

struct ch_core {
	char *path;
	/** The file, mapped; -1 when the core was read into memory. */
	int fd;
	/** libelf's handle, over an mmap of the whole file or over memory. */
	Elf *elf;
	const uint8_t *image;
	size_t image_size;
	/**
	 * A compressed core, or one on standard input, read into anonymous
	 * memory (memory.data is image); zeroed for a core mapped as it is.
	 */
	struct ch_core_image memory;

	/** PT_LOAD segments, sorted by start. */
	struct ch_core_segment *segments;
	size_t num_segments;

	/** Threads in note order: the first one is the one that crashed. */
	struct ch_thread *threads;
	size_t num_threads, threads_capacity;
	/** A thread note gives a thread id <= 0 (see CH_CORE_BAD_NOTE). */
	bool has_bad_tid;

	/** File mappings, sorted by start. */
	struct ch_core_file *files;
	size_t num_files;
	/** The NUL-separated paths of the NT_FILE note (a copy, NUL added). */
	char *file_names;
	/**
	 * Where the paths of every NT_FILE note whose count fits are in the
	 * file, the notes read around included: libdwfl reads them there
	 * itself, from whichever note it takes.
	 */
	struct ch_core_range *file_name_ranges;
	size_t num_file_name_ranges, file_name_ranges_capacity;

	/** From NT_PRPSINFO. */
	bool has_psinfo;
	int32_t pid, ppid;
	uint32_t uid;
	char fname[17];
	/** The first bytes of the command line, spaces between arguments. */
	char psargs[81];
	/**
	 * Bytes the writer put in psargs, before the trailing space the
	 * kernel leaves was trimmed: the kernel keeps at most 79 bytes of the
	 * command line, gdb only the program's path (see core/process.h).
	 */
	size_t psargs_length;

	/**
	 * From the first NT_SIGINFO: the kernel writes one, for the signal
	 * that killed the process; gdb one per thread, the signalled thread
	 * first. Decoded by ch_core_signal() (core/process.h).
	 */
	bool has_siginfo;
	int signal_number, signal_code, signal_errno;
	/** The word at si_addr's place, whatever the layout. */
	uint64_t signal_address;
	/** The siginfo_t as written (zeroes past siginfo_size). */
	uint8_t siginfo[128];
	size_t siginfo_size;

	/**
	 * gdb wrote the core (gcore or generate-core-file), not the kernel:
	 * it holds a note named "GDB" (gdb 11 and later write their target
	 * description as one), or its first note is NT_PRPSINFO (the
	 * kernel's first note is always the dumping thread's NT_PRSTATUS).
	 */
	bool written_by_gdb;

	/** NT_AUXV, inside the mapped core. */
	const uint8_t *auxv;
	size_t auxv_size;

	/** The file is shorter than its headers say. */
	bool truncated;
	/** How many bytes of memory the headers promise but the file lacks. */
	uint64_t missing_bytes;

	/** Program headers in the file (e_phnum, or its PN_XNUM extension). */
	size_t num_phdrs;
	/** Damage read around, by kind; each is a warning of its own. */
	struct ch_core_problem problems[CH_CORE_NUM_PROBLEM_KINDS];
};

/** The path that names standard input: its core is read into memory. */
#define CH_CORE_STDIN "-"

/**
 * Open the core at path (CH_CORE_STDIN: standard input). A core compressed
 * with zstd, xz, lz4 or gzip (known by its magic) is decompressed into
 * anonymous memory, as is a core on standard input (see core_image.h);
 * one whose stream is cut short or damaged keeps what came before
 * (CH_CORE_COMPRESSED_DAMAGE).
 *
 * Sizes and counts in the core are checked against the file before they
 * size anything; damage that can be read around is recorded in
 * core->problems (the results are then partial), the rest is an error.
 *
 * Errors: CH_ERROR_OS (cannot open or map), CH_ERROR_FORMAT (not a regular
 * file, not ELF, too short, not a core, headers out of the file),
 * CH_ERROR_ARCH (big-endian, 32-bit or not x86-64).
 */
struct ch_error *ch_core_open(const char *path, struct ch_core **ret);

/**
 * ch_core_open, reading of a compressed core (or one on standard input)
 * only about its first prefix bytes: enough for the notes of a kernel's
 * core, which come first, without decompressing the memory after them.
 * What lies past them is missing from the core, as in a truncated file
 * (its problems say so). A core file as it is is mapped whole (that costs
 * nothing).
 */
struct ch_error *ch_core_open_prefix(const char *path, uint64_t prefix,
				     struct ch_core **ret);

/**
 * Open a path the user or a core names, read-only, and refuse anything but
 * a regular file (a FIFO, a directory, a device) without blocking: the
 * open is non-blocking and the file is checked with fstat before anything
 * reads it. what names the path in messages ("core", "--exe").
 *
 * On success *fd_ret is the descriptor (close-on-exec, O_NONBLOCK, which
 * regular files ignore) and *size_ret its size, if size_ret is not NULL.
 * Errors: CH_ERROR_OS ("cannot open <what> '<path>': ..."), CH_ERROR_FORMAT
 * ("<what> '<path>' is not a regular file (a FIFO)").
 */
struct ch_error *ch_open_regular(const char *path, const char *what,
				 int *fd_ret, uint64_t *size_ret);

/** Close the core (NULL-safe). Pointers into it become invalid. */
void ch_core_destroy(struct ch_core *core);

/** Look up an auxv entry (AT_*); false if absent. */
bool ch_core_auxv(const struct ch_core *core, uint64_t type, uint64_t *ret);

/** The file mapping containing addr, or NULL. */
const struct ch_core_file *ch_core_file_at(const struct ch_core *core,
					   uint64_t addr);

#endif /* COREHEAP_CORE_H */
