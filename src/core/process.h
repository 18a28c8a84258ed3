/* SPDX-License-Identifier: MIT */
/**
 * @file
 * What a core says about its process, decoded as the kernel means it: the
 * signal of NT_SIGINFO (named by si_code, with the fault address only for a
 * fault and the sender only for a signal a process sent), and the whole
 * command line, which NT_PRPSINFO cuts.
 */
#ifndef COREHEAP_PROCESS_H
#define COREHEAP_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "core/address_space.h"
#include "core/core.h"

/**
 * Which member of siginfo_t's union the kernel filled, as its
 * siginfo_layout() (kernel/signal.c) decides from the signal and si_code.
 */
enum ch_siginfo_layout {
	CH_SIGINFO_KILL,   /**< _kill: sender's pid and uid */
	CH_SIGINFO_TIMER,  /**< _timer: SI_TIMER */
	CH_SIGINFO_POLL,   /**< _sigpoll: band and fd */
	CH_SIGINFO_FAULT,  /**< _sigfault: the faulting address */
	CH_SIGINFO_CHLD,   /**< _sigchld: the child */
	CH_SIGINFO_RT,     /**< _rt: sender's pid and uid, and a value */
	CH_SIGINFO_SYS,    /**< _sigsys: seccomp */
};

/** A si_code's name in the kernel's uapi siginfo.h, and what it means. */
struct ch_signal_code {
	const char *name;     /**< "SEGV_MAPERR", "SI_USER" */
	const char *meaning;  /**< "address not mapped to object" */
};

/** The signal a core was dumped for. */
struct ch_signal {
	/**
	 * A signal stopped the process. False when the core has no
	 * NT_SIGINFO, and when gdb wrote it of a process it attached to (its
	 * NT_SIGINFO is then the SIGSTOP of the attach, which no thread was
	 * stopped by: see taken_by_gdb).
	 */
	bool present;
	/** gdb wrote the core (gcore or generate-core-file). */
	bool taken_by_gdb;
	int number;
	/** "SEGV" (printed SIGSEGV); NULL for a number Linux has no name for. */
	const char *name;
	/** si_code was read (false: from pr_cursig alone, no NT_SIGINFO). */
	bool has_code;
	int code;
	/** The code's name and meaning; both NULL if the kernel has none. */
	struct ch_signal_code code_name;
	enum ch_siginfo_layout layout;
	/** A fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP from the kernel). */
	bool has_fault_address;
	uint64_t fault_address;
	/** Sent by a process (kill, tkill, sigqueue, ...): who sent it. */
	bool has_sender;
	int32_t sender_pid;
	uint32_t sender_uid;
};

/** The name of signal number on Linux ("SEGV"), or NULL. */
const char *ch_signal_name(int number);

/**
 * Name si_code for signal number as the kernel's uapi siginfo.h does;
 * false (and *ret zeroed) if it has no name for it.
 */
bool ch_signal_code_name(int number, int code, struct ch_signal_code *ret);

/** The layout the kernel filled for this signal and code. */
enum ch_siginfo_layout ch_siginfo_layout(int number, int code);

/** Decode the core's signal into *ret. Reads only the core's notes. */
void ch_core_signal(const struct ch_core *core, struct ch_signal *ret);

/** Where a command line came from. */
enum ch_command_line_source {
	/** No NT_PRPSINFO: no command line. */
	CH_COMMAND_LINE_NONE,
	/** The argument strings at the top of the main thread's stack. */
	CH_COMMAND_LINE_MEMORY,
	/** NT_PRPSINFO's pr_psargs: the arguments were not found in memory. */
	CH_COMMAND_LINE_PSINFO,
};

struct ch_command_line {
	/** The arguments, one space between two; owned ("" when none). */
	char *text;
	enum ch_command_line_source source;
	/**
	 * The text may lack arguments: pr_psargs keeps 79 bytes of the
	 * kernel's command line and only the program's path in gdb's, or the
	 * arguments in memory passed CH_COMMAND_LINE_MAX.
	 */
	bool cut;
};

/** The most bytes of arguments read from memory. */
#define CH_COMMAND_LINE_MAX (1024 * 1024)

/**
 * The process's whole command line. The kernel puts the argument strings
 * at the top of the main thread's stack, below the environment's strings,
 * and the argument vector (argc, argv[], NULL, envp[], NULL) right below a
 * copy of the auxiliary vector: found by NT_AUXV's bytes, below AT_EXECFN.
 * The strings, read from the lowest argv[] pointer on (getopt reorders the
 * pointers, not the strings), are used only if pr_psargs is their prefix,
 * cut at an argument's end or at its 79 bytes; otherwise pr_psargs is the
 * command line, and said to be cut if it may be. Errors: out of memory.
 */
struct ch_error *ch_process_command_line(const struct ch_core *core,
					 const struct ch_address_space *as,
					 struct ch_command_line *ret);

void ch_command_line_deinit(struct ch_command_line *command_line);

#endif /* COREHEAP_PROCESS_H */
