# SPDX-License-Identifier: MIT
"""An independent, deliberately generous reachability count over a core.

usage: python3 python-reach.py [--stack-from-sp] CORE BLOCKS

Any x86-64 ELF core of any program (tests/python-leaks.sh: python3;
tests/real-cxx.sh: g++'s cc1plus).

BLOCKS has one live allocation a line, "0x<address> <size>" (from the
glibc walk, which the exactness tests hold to the process's own record).
Roots here are every aligned word of every writable segment of the core
that lies in no live allocation (free chunks, chunk headers, whole stacks
and every anonymous mapping included: more than coreheap scans) and every
thread's general registers (NT_PRSTATUS). A word that points anywhere
inside a live allocation reaches it. Prints the allocations no root
reaches, one "0x<address>" a line, then "reachable N of M" on stderr.

--referrers FILE: FILE has allocations, one "0x<address>" a line; for each
word the count scanned that points into one of them, prints instead
"0x<allocation> 0x<word> root" or "0x<allocation> 0x<word> in
0x<allocation holding the word>" (what reached them, to be judged by the
caller).

--stack-from-sp: a thread's stack is a root only from its stack pointer
(rsp in NT_PRSTATUS) less the 128-byte red zone the x86-64 ABI gives leaf
functions, to the end of its segment, as the ABI says what is live there;
below that lie dead frames.

Shares no code with coreheap: ELF and notes are read here with struct.
"""
import array
import bisect
import struct
import sys

PT_LOAD, PT_NOTE, PF_W, NT_PRSTATUS = 1, 4, 2, 1


def segments(core):
    ehdr = core[:64]
    phoff, = struct.unpack_from("<Q", ehdr, 32)
    phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
    for i in range(phnum):
        p_type, p_flags, p_offset, p_vaddr, _, p_filesz, _, _ = \
            struct.unpack_from("<IIQQQQQQ", core, phoff + i * phentsize)
        yield p_type, p_flags, p_offset, p_vaddr, p_filesz


RED_ZONE = 128
RSP = 19  # in struct user_regs_struct


def thread_registers(core):
    for p_type, _, offset, _, filesz in segments(core):
        if p_type != PT_NOTE:
            continue
        pos, end = offset, offset + filesz
        while pos + 12 <= end:
            namesz, descsz, n_type = struct.unpack_from("<III", core, pos)
            desc = pos + 12 + (namesz + 3) // 4 * 4
            if n_type == NT_PRSTATUS and descsz >= 112 + 27 * 8:
                # struct elf_prstatus: pr_reg at 112, 27 registers.
                yield struct.unpack_from("<27Q", core, desc + 112)
            pos = desc + (descsz + 3) // 4 * 4


def main():
    args = sys.argv[1:]
    stack_from_sp = "--stack-from-sp" in args
    if stack_from_sp:
        args.remove("--stack-from-sp")
    wanted_file = None
    if "--referrers" in args:
        at = args.index("--referrers")
        wanted_file = args[at + 1]
        del args[at:at + 2]
    with open(args[0], "rb") as f:
        core = f.read()
    blocks = []
    with open(args[1]) as f:
        for line in f:
            address, size = line.split()
            blocks.append((int(address, 16), int(size)))
    blocks.sort()
    starts = [b[0] for b in blocks]
    ends = [b[0] + b[1] for b in blocks]
    lo = starts[0] if blocks else 0
    hi = max(ends) if blocks else 0
    writable = [(vaddr, offset, filesz)
                for p_type, flags, offset, vaddr, filesz in segments(core)
                if p_type == PT_LOAD and flags & PF_W and filesz]
    writable.sort()
    seg_starts = [s[0] for s in writable]

    reached = bytearray(len(blocks))
    queue = []
    wanted = set()
    if wanted_file:
        with open(wanted_file) as f:
            wanted = {bisect.bisect_left(starts, int(line, 16))
                      for line in f if line.strip()}
    referrers = []

    def reach(value, where=None, holder=None):
        if lo <= value < hi:
            i = bisect.bisect_right(starts, value) - 1
            if i >= 0 and value < ends[i]:
                if i in wanted and where is not None:
                    referrers.append((starts[i], where, holder))
                if not reached[i]:
                    reached[i] = 1
                    queue.append(i)

    def scan(address, end, holder=None):
        # [address, end) of one segment, aligned words only.
        s = bisect.bisect_right(seg_starts, address) - 1
        if s < 0:
            return
        vaddr, offset, filesz = writable[s]
        address = (address + 7) & ~7
        end = min(end, vaddr + filesz)
        if address >= end:
            return
        words = array.array("Q")
        first = offset + address - vaddr
        words.frombytes(core[first:first + (end - address) // 8 * 8])
        if not wanted:
            for value in words:
                if lo <= value < hi:
                    reach(value)
            return
        for k, value in enumerate(words):
            if lo <= value < hi:
                reach(value, address + 8 * k, holder)

    live_stack = {}
    for registers in thread_registers(core):
        for value in registers:
            reach(value)
        sp = registers[RSP]
        s = bisect.bisect_right(seg_starts, sp) - 1
        if stack_from_sp and s >= 0 and sp < writable[s][0] + writable[s][2]:
            start = max(writable[s][0], sp - RED_ZONE)
            live_stack[s] = min(live_stack.get(s, start), start)
    # Roots: each writable segment, less the live allocations in it (and
    # the dead part of a stack).
    for s, (vaddr, _, filesz) in enumerate(writable):
        pos, end = live_stack.get(s, vaddr), vaddr + filesz
        i = bisect.bisect_right(starts, pos) - 1
        if i < 0 or ends[i] <= pos:
            i += 1
        while pos < end:
            if i < len(blocks) and starts[i] < end:
                scan(pos, starts[i])
                pos = max(pos, ends[i])
                i += 1
            else:
                scan(pos, end)
                pos = end
    # Then the allocations reached, until none is new.
    while queue:
        i = queue.pop()
        scan(starts[i], ends[i], starts[i])
    if wanted_file:
        for block, word, holder in sorted(referrers):
            print("0x%x 0x%x %s" % (block, word,
                                    "root" if holder is None
                                    else "in 0x%x" % holder))
        return
    for i, (address, _) in enumerate(blocks):
        if not reached[i]:
            print("0x%x" % address)
    print("reachable %d of %d" % (sum(reached), len(blocks)), file=sys.stderr)


main()
