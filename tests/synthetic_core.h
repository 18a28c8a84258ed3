/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Tiny hand-made ELF core files for unit tests: a header, PT_LOAD segments
 * with given bytes, and a PT_NOTE with NT_PRSTATUS / NT_PRPSINFO / NT_FILE.
 * Each test writes one into a temporary file and opens it like a real core.
 */
#ifndef COREHEAP_TESTS_SYNTHETIC_CORE_H
#define COREHEAP_TESTS_SYNTHETIC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNTH_MAX_SEGMENTS 8
#define SYNTH_MAX_FILES 4

struct synth_segment {
	uint64_t vaddr;
	uint64_t memsz;
	/** Bytes stored in the file (may be less than memsz). */
	const void *data;
	uint64_t filesz;
	uint32_t flags;
};

struct synth_file {
	uint64_t start, end, page_offset;
	const char *path;
};

struct synth_core {
	uint16_t e_type;     /**< ET_CORE unless a test wants otherwise */
	uint16_t e_machine;  /**< EM_X86_64 unless ... */
	uint8_t elf_class;   /**< ELFCLASS64 unless ... */
	struct synth_segment segments[SYNTH_MAX_SEGMENTS];
	size_t num_segments;
	struct synth_file files[SYNTH_MAX_FILES];
	size_t num_files;
	/** Threads: tid and rsp/rip/rbp/fs_base. */
	int32_t tids[4];
	uint64_t rips[4], rsps[4], rbps[4], fs_bases[4];
	size_t num_threads;
	bool with_psinfo;
	/** Cut the file to this many bytes after writing (0: don't). */
	size_t truncate_to;

	/* Damage, for the hostile-core tests; all 0 by default. */
	/** ELFDATA2MSB: the header says big-endian (e_type, e_machine swapped). */
	uint8_t elf_data;
	/** The PT_NOTE's p_filesz, if not 0, instead of the notes' size. */
	uint64_t notes_filesz;
	/** More PT_NOTE headers over the same notes, each of this p_filesz. */
	size_t note_copies;
	uint64_t note_copy_filesz;
	/** More PT_LOADs with nothing in the file (4 KiB each, 8 KiB apart
	 * from 0x100000000); past 65534 headers, PN_XNUM numbering is used. */
	size_t num_empty_loads;
	/**
	 * More threads (ids from 1000), each with a stack of 8 KiB over a
	 * 4 KiB guard page, as gdb writes what pthread_create() maps (the
	 * guard read-only): from 0x200000000, 16 KiB apart, nothing of them
	 * in the file, each thread's stack pointer 4 KiB into its stack.
	 */
	size_t num_thread_stacks;
	/** The NT_FILE note's count and page size, if set. */
	bool set_file_count;
	uint64_t file_count, file_page_size;
	/** The size of each NT_PRSTATUS note's descriptor, if not 0 (336). */
	size_t prstatus_size;
	/** If set, a second NT_FILE note, with this as its first path. */
	const char *second_file_path;
	/** If set, NT_PRPSINFO's pr_psargs (up to 80 bytes, NUL-padded). */
	const char *psargs;
	/** If siginfo_size, an NT_SIGINFO note of these bytes. */
	const void *siginfo;
	size_t siginfo_size;
	/** If auxv_size, an NT_AUXV note of these bytes. */
	const void *auxv;
	size_t auxv_size;
};

/** A synth_core with the defaults above. */
void synth_core_init(struct synth_core *core);

/** Write the core to a new temporary file; returns its malloc'd path. */
char *synth_core_write(const struct synth_core *core);

#endif /* COREHEAP_TESTS_SYNTHETIC_CORE_H */
