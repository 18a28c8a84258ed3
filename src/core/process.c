// SPDX-License-Identifier: MIT
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/process.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

// Signal numbers of Linux on x86-64 (the core's, whatever the host's).
enum {
	SIG_ILL = 4, SIG_TRAP = 5, SIG_BUS = 7, SIG_FPE = 8, SIG_SEGV = 11,
	SIG_CHLD = 17, SIG_POLL = 29, SIG_SYS = 31,
};

// si_code values of the kernel's uapi asm-generic/siginfo.h.
enum {
	CODE_SI_USER = 0,
	CODE_SI_KERNEL = 0x80,
	CODE_SI_TIMER = -2,
	CODE_SI_SIGIO = -5,
};

static const char *const signal_names[] = {
	[1] = "HUP", [2] = "INT", [3] = "QUIT", [4] = "ILL", [5] = "TRAP",
	[6] = "ABRT", [7] = "BUS", [8] = "FPE", [9] = "KILL", [10] = "USR1",
	[11] = "SEGV", [12] = "USR2", [13] = "PIPE", [14] = "ALRM",
	[15] = "TERM", [16] = "STKFLT", [17] = "CHLD", [18] = "CONT",
	[19] = "STOP", [20] = "TSTP", [21] = "TTIN", [22] = "TTOU",
	[23] = "URG", [24] = "XCPU", [25] = "XFSZ", [26] = "VTALRM",
	[27] = "PROF", [28] = "WINCH", [29] = "IO", [30] = "PWR", [31] = "SYS",
};

// Codes any signal may carry (si_code <= 0, or SI_KERNEL).
static const struct {
	int code;
	struct ch_signal_code name;
} generic_codes[] = {
	{ 0, { "SI_USER", "sent by kill" } },
	{ 0x80, { "SI_KERNEL", "sent by the kernel" } },
	{ -1, { "SI_QUEUE", "sent by sigqueue" } },
	{ -2, { "SI_TIMER", "a POSIX timer expired" } },
	{ -3, { "SI_MESGQ", "a POSIX message queue changed state" } },
	{ -4, { "SI_ASYNCIO", "an asynchronous I/O completed" } },
	{ -5, { "SI_SIGIO", "queued SIGIO" } },
	{ -6, { "SI_TKILL", "sent by tkill or tgkill (raise, abort, pthread_kill)" } },
	{ -7, { "SI_DETHREAD", "sent by execve killing the other threads" } },
	{ -60, { "SI_ASYNCNL", "glibc's asynchronous name lookup completed" } },
};

// The codes of one signal, from 1 up: each table's size is the kernel's
// NSIG* limit for the signal.
static const struct ch_signal_code ill_codes[] = {
	{ "ILL_ILLOPC", "illegal opcode" },
	{ "ILL_ILLOPN", "illegal operand" },
	{ "ILL_ILLADR", "illegal addressing mode" },
	{ "ILL_ILLTRP", "illegal trap" },
	{ "ILL_PRVOPC", "privileged opcode" },
	{ "ILL_PRVREG", "privileged register" },
	{ "ILL_COPROC", "coprocessor error" },
	{ "ILL_BADSTK", "internal stack error" },
	{ "ILL_BADIADDR", "unimplemented instruction address" },
	{ "__ILL_BREAK", "illegal break" },
	{ "__ILL_BNDMOD", "bundle-update in progress" },
};

static const struct ch_signal_code fpe_codes[] = {
	{ "FPE_INTDIV", "integer divide by zero" },
	{ "FPE_INTOVF", "integer overflow" },
	{ "FPE_FLTDIV", "floating-point divide by zero" },
	{ "FPE_FLTOVF", "floating-point overflow" },
	{ "FPE_FLTUND", "floating-point underflow" },
	{ "FPE_FLTRES", "floating-point inexact result" },
	{ "FPE_FLTINV", "invalid floating-point operation" },
	{ "FPE_FLTSUB", "subscript out of range" },
	{ "__FPE_DECOVF", "decimal overflow" },
	{ "__FPE_DECDIV", "decimal division by zero" },
	{ "__FPE_DECERR", "packed decimal error" },
	{ "__FPE_INVASC", "invalid ASCII digit" },
	{ "__FPE_INVDEC", "invalid decimal digit" },
	{ "FPE_FLTUNK", "undiagnosed floating-point exception" },
	{ "FPE_CONDTRAP", "trap on condition" },
};

static const struct ch_signal_code segv_codes[] = {
	{ "SEGV_MAPERR", "address not mapped to object" },
	{ "SEGV_ACCERR", "invalid permissions for mapped object" },
	{ "SEGV_BNDERR", "failed address bound checks" },
	{ "SEGV_PKUERR", "failed protection key checks" },
	{ "SEGV_ACCADI", "ADI not enabled for mapped object" },
	{ "SEGV_ADIDERR", "disrupting MCD error" },
	{ "SEGV_ADIPERR", "precise MCD exception" },
	{ "SEGV_MTEAERR", "asynchronous MTE error" },
	{ "SEGV_MTESERR", "synchronous MTE exception" },
	{ "SEGV_CPERR", "control protection fault" },
};

static const struct ch_signal_code bus_codes[] = {
	{ "BUS_ADRALN", "invalid address alignment" },
	{ "BUS_ADRERR", "non-existent physical address" },
	{ "BUS_OBJERR", "object-specific hardware error" },
	{ "BUS_MCEERR_AR", "hardware memory error consumed: action required" },
	{ "BUS_MCEERR_AO", "hardware memory error detected: action optional" },
};

static const struct ch_signal_code trap_codes[] = {
	{ "TRAP_BRKPT", "process breakpoint" },
	{ "TRAP_TRACE", "process trace trap" },
	{ "TRAP_BRANCH", "process taken branch trap" },
	{ "TRAP_HWBKPT", "hardware breakpoint or watchpoint" },
	{ "TRAP_UNK", "undiagnosed trap" },
	{ "TRAP_PERF", "perf event with sigtrap=1" },
};

static const struct ch_signal_code chld_codes[] = {
	{ "CLD_EXITED", "child has exited" },
	{ "CLD_KILLED", "child was killed" },
	{ "CLD_DUMPED", "child terminated abnormally" },
	{ "CLD_TRAPPED", "traced child has trapped" },
	{ "CLD_STOPPED", "child has stopped" },
	{ "CLD_CONTINUED", "stopped child has continued" },
};

static const struct ch_signal_code poll_codes[] = {
	{ "POLL_IN", "data input available" },
	{ "POLL_OUT", "output buffers available" },
	{ "POLL_MSG", "input message available" },
	{ "POLL_ERR", "I/O error" },
	{ "POLL_PRI", "high priority input available" },
	{ "POLL_HUP", "device disconnected" },
};

static const struct ch_signal_code sys_codes[] = {
	{ "SYS_SECCOMP", "seccomp triggered" },
	{ "SYS_USER_DISPATCH", "syscall user dispatch triggered" },
};

// The kernel's sig_sicodes[]: the signals with codes of their own.
struct signal_codes {
	int number;
	const struct ch_signal_code *codes;
	int limit;
	enum ch_siginfo_layout layout;
};

#define CODES(number, table, layout) { number, table, (int)ARRAY_SIZE(table), layout }
static const struct signal_codes specific_codes[] = {
	CODES(SIG_ILL, ill_codes, CH_SIGINFO_FAULT),
	CODES(SIG_FPE, fpe_codes, CH_SIGINFO_FAULT),
	CODES(SIG_SEGV, segv_codes, CH_SIGINFO_FAULT),
	CODES(SIG_BUS, bus_codes, CH_SIGINFO_FAULT),
	CODES(SIG_TRAP, trap_codes, CH_SIGINFO_FAULT),
	CODES(SIG_CHLD, chld_codes, CH_SIGINFO_CHLD),
	CODES(SIG_POLL, poll_codes, CH_SIGINFO_POLL),
	CODES(SIG_SYS, sys_codes, CH_SIGINFO_SYS),
};
#undef CODES

const char *ch_signal_name(int number)
{
	if (number <= 0 || (size_t)number >= ARRAY_SIZE(signal_names))
		return NULL;
	return signal_names[number];
}

static const struct signal_codes *codes_of(int number)
{
	for (size_t i = 0; i < ARRAY_SIZE(specific_codes); i++) {
		if (specific_codes[i].number == number)
			return &specific_codes[i];
	}
	return NULL;
}

// A code of the signal's own: kernel-sent, between SI_USER and SI_KERNEL.
static bool is_specific(int code)
{
	return code > CODE_SI_USER && code < CODE_SI_KERNEL;
}

enum ch_siginfo_layout ch_siginfo_layout(int number, int code)
{
	const struct signal_codes *codes = codes_of(number);

	if (is_specific(code)) {
		if (codes && code <= codes->limit)
			return codes->layout;
		if (code <= (int)ARRAY_SIZE(poll_codes))
			return CH_SIGINFO_POLL;
		return CH_SIGINFO_KILL;
	}
	if (code == CODE_SI_TIMER)
		return CH_SIGINFO_TIMER;
	if (code == CODE_SI_SIGIO)
		return CH_SIGINFO_POLL;
	return code < 0 ? CH_SIGINFO_RT : CH_SIGINFO_KILL;
}

bool ch_signal_code_name(int number, int code, struct ch_signal_code *ret)
{
	const struct signal_codes *codes = codes_of(number);

	memset(ret, 0, sizeof(*ret));
	if (is_specific(code)) {
		// The kernel reads an unknown signal's small codes as
		// SIGPOLL's (siginfo_layout()); so does this.
		if (codes && code <= codes->limit)
			*ret = codes->codes[code - 1];
		else if (code <= (int)ARRAY_SIZE(poll_codes))
			*ret = poll_codes[code - 1];
		return ret->name != NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(generic_codes); i++) {
		if (generic_codes[i].code == code) {
			*ret = generic_codes[i].name;
			return true;
		}
	}
	return false;
}

static uint32_t siginfo_u32(const struct ch_core *core, size_t offset)
{
	uint32_t value;

	memcpy(&value, core->siginfo + offset, sizeof(value));
	return value;
}

static uint64_t siginfo_u64(const struct ch_core *core, size_t offset)
{
	uint64_t value;

	memcpy(&value, core->siginfo + offset, sizeof(value));
	return value;
}

// gdb writes pr_cursig of the thread it found stopped by a signal; a
// process it attached to has none, and the NT_SIGINFO it writes is then
// the SIGSTOP of its own attach (si_code SI_KERNEL).
static bool gdb_saw_signal(const struct ch_core *core)
{
	for (size_t i = 0; i < core->num_threads; i++) {
		if (core->threads[i].signal != 0 &&
		    core->threads[i].signal == core->signal_number)
			return true;
	}
	return false;
}

// The union of siginfo_t starts after si_signo, si_errno, si_code and
// padding: its first fields at 16 (si_pid, si_addr), then 20 (si_uid).
#define SIGINFO_FIELDS 16

void ch_core_signal(const struct ch_core *core, struct ch_signal *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->taken_by_gdb = core->written_by_gdb;
	if (!core->has_siginfo) {
		// Kernels before 3.7 write no NT_SIGINFO: the dumping
		// thread's pr_cursig still names the signal.
		if (core->written_by_gdb || core->num_threads == 0 ||
		    core->threads[0].signal <= 0)
			return;
		ret->present = true;
		ret->number = core->threads[0].signal;
		ret->name = ch_signal_name(ret->number);
		return;
	}
	if (core->written_by_gdb && !gdb_saw_signal(core))
		return;
	ret->present = true;
	ret->number = core->signal_number;
	ret->name = ch_signal_name(ret->number);
	ret->has_code = true;
	ret->code = core->signal_code;
	ch_signal_code_name(ret->number, ret->code, &ret->code_name);
	ret->layout = ch_siginfo_layout(ret->number, ret->code);
	// parse_siginfo() keeps notes of 24 bytes and more: si_addr, or
	// si_pid and si_uid, are always there.
	switch (ret->layout) {
	case CH_SIGINFO_FAULT:
		ret->has_fault_address = true;
		ret->fault_address = siginfo_u64(core, SIGINFO_FIELDS);
		break;
	case CH_SIGINFO_KILL:
	case CH_SIGINFO_RT:
		// SI_KERNEL's pid and uid are 0: no process sent it.
		if (ret->code > CODE_SI_USER)
			break;
		ret->has_sender = true;
		ret->sender_pid = (int32_t)siginfo_u32(core, SIGINFO_FIELDS);
		ret->sender_uid = siginfo_u32(core, SIGINFO_FIELDS + 4);
		break;
	default:
		break;
	}
}

// The kernel's ELF_PRARGSZ - 1: the bytes of pr_psargs it fills.
#define PSARGS_KERNEL_MAX 79
// Where the auxiliary vector's copy is looked for, below AT_EXECFN: the
// argument and environment strings lie between (the kernel allows them a
// quarter of the stack's limit, and never more than 6 MiB).
#define STRINGS_MAX (8 * 1024 * 1024)
// NT_AUXV holds about 25 pairs; one of 4 KiB is not the kernel's.
#define AUXV_MAX 4096
// Pointers of user space are above mmap_min_addr; argc is below it.
#define POINTER_MIN 0x10000
#define AT_RANDOM 25
#define AT_EXECFN 31

// The highest 8-aligned copy of the core's NT_AUXV in [low, high).
static bool find_auxv_copy(const struct ch_core *core,
			   const struct ch_range *range, uint64_t high,
			   uint64_t *ret)
{
	uint64_t low = range->start, addr;

	if (core->auxv_size < 16 || core->auxv_size > AUXV_MAX ||
	    core->auxv_size % 8 || high > range->end ||
	    high - low < core->auxv_size)
		return false;
	if (high - low > STRINGS_MAX)
		low = high - STRINGS_MAX;
	addr = (high - core->auxv_size) & ~(uint64_t)7;
	for (; addr >= low; addr -= 8) {
		if (!memcmp(range->data + (addr - range->start), core->auxv,
			    core->auxv_size)) {
			*ret = addr;
			return true;
		}
		if (addr < low + 8)
			break;
	}
	return false;
}

/*
 * From the auxiliary vector's copy at auxv down: envp[]'s NULL, envp[],
 * argv[]'s NULL, argv[], argc. *argc_ret and *argv_ret (the address of
 * argv[0]) when argc is the number of pointers found.
 */
static bool find_argv(const struct ch_address_space *as,
		      const struct ch_range *range, uint64_t auxv,
		      uint64_t *argc_ret, uint64_t *argv_ret)
{
	uint64_t addr = auxv, word, count = 0;

	// envp[], to its NULL, then argv[]'s NULL.
	if (addr < range->start + 16 || !ch_address_space_read_u64(as, addr - 8, &word) ||
	    word != 0)
		return false;
	for (addr -= 16; addr >= range->start; addr -= 8) {
		if (!ch_address_space_read_u64(as, addr, &word))
			return false;
		if (word == 0)
			break;
		if (addr < range->start + 8)
			return false;
	}
	if (addr < range->start + 8)
		return false;
	// argv[], down to argc: the one word that equals the count below
	// it (a pointer never does).
	for (addr -= 8;; addr -= 8) {
		if (!ch_address_space_read_u64(as, addr, &word))
			return false;
		if (word == count)
			break;
		if (word < POINTER_MIN || addr < range->start + 8)
			return false;
		count++;
	}
	if (count == 0)
		return false;
	*argc_ret = count;
	*argv_ret = addr + 8;
	return true;
}

// True if psargs (NUL-terminated, trailing spaces trimmed) is how the
// writer cut area (its NULs as spaces) of length len.
static bool psargs_matches(const struct ch_core *core, const char *area,
			   size_t len)
{
	size_t n = strlen(core->psargs);

	if (n == 0 || n > len)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = area[i] ? area[i] : ' ';

		if (c != core->psargs[i])
			return false;
	}
	// Cut at an argument's end (gdb: the path alone; the kernel: all of
	// a short command line), or where the kernel cuts.
	return n == len || area[n] == '\0' || area[n] == ' ' ||
	       core->psargs_length >= PSARGS_KERNEL_MAX;
}

// The argument strings from memory into ret (*found); not found if they
// are not there or pr_psargs does not agree. Errors: out of memory.
static struct ch_error *read_arguments(const struct ch_core *core,
				       const struct ch_address_space *as,
				       struct ch_command_line *ret, bool *found)
{
	const struct ch_range *range;
	uint64_t execfn, auxv, argc, argv, start = UINT64_MAX, pointer, read;
	const char *area, *end, *p;
	size_t len;
	bool cut = false;

	*found = false;
	if (!core->has_psinfo ||
	    (!ch_core_auxv(core, AT_EXECFN, &execfn) &&
	     !ch_core_auxv(core, AT_RANDOM, &execfn)))
		return NULL;
	range = ch_address_space_range(as, execfn);
	if (!range || !find_auxv_copy(core, range, execfn, &auxv) ||
	    !find_argv(as, range, auxv, &argc, &argv))
		return NULL;
	// The strings begin at the lowest pointer into the stack.
	for (uint64_t i = 0; i < argc; i++) {
		if (!ch_address_space_read_u64(as, argv + 8 * i, &pointer))
			return NULL;
		if (pointer >= range->start && pointer < range->end &&
		    pointer < start)
			start = pointer;
	}
	if (start == UINT64_MAX)
		return NULL;
	area = (const char *)range->data + (start - range->start);
	len = range->end - start;
	if (len > CH_COMMAND_LINE_MAX) {
		len = CH_COMMAND_LINE_MAX;
		cut = true;
	}
	// argc strings, one after the other; p past the last one's NUL.
	end = area + len;
	p = area;
	for (read = 0; read < argc && p < end; read++) {
		const char *nul = memchr(p, '\0', end - p);

		if (!nul)
			break;
		p = nul + 1;
	}
	if (read == argc) {
		cut = false;
		len = p - area - 1;
	} else if (cut) {
		len = p - area;
	} else {
		// The stack ends inside the arguments: not the kernel's.
		return NULL;
	}
	if (!psargs_matches(core, area, len))
		return NULL;
	ret->text = malloc(len + 1);
	if (!ret->text)
		return &ch_enomem;
	for (size_t i = 0; i < len; i++)
		ret->text[i] = area[i] ? area[i] : ' ';
	ret->text[len] = '\0';
	ret->source = CH_COMMAND_LINE_MEMORY;
	ret->cut = cut;
	*found = true;
	return NULL;
}

struct ch_error *ch_process_command_line(const struct ch_core *core,
					 const struct ch_address_space *as,
					 struct ch_command_line *ret)
{
	struct ch_error *err;
	bool found;

	memset(ret, 0, sizeof(*ret));
	if (as) {
		err = read_arguments(core, as, ret, &found);
		if (err || found)
			return err;
	}
	ret->text = strdup(core->has_psinfo ? core->psargs : "");
	if (!ret->text)
		return &ch_enomem;
	if (!core->has_psinfo)
		return NULL;
	ret->source = CH_COMMAND_LINE_PSINFO;
	ret->cut = core->written_by_gdb ||
		   core->psargs_length >= PSARGS_KERNEL_MAX;
	return NULL;
}

void ch_command_line_deinit(struct ch_command_line *command_line)
{
	free(command_line->text);
	command_line->text = NULL;
}
