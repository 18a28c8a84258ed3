#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""core-mappings.py CORE [PATH]: the bytes of the process's mappings, read
from the core's program headers alone, with no code of coreheap's.

Prints one line: "<bytes> <pt_load bytes> <nt_file-only bytes>": the size of
the union of every PT_LOAD (p_vaddr, p_memsz) and every file mapping of the
NT_FILE note (gcore writes no PT_LOAD for the file mappings it leaves out,
such as a library's code), then the PT_LOADs' own union, then what only
NT_FILE adds. For tests/summary-totals.sh and tests/python-leaks.sh, which
check that `coreheap summary`'s kinds add up to it.

With PATH, what the core left out of the file mappings of PATH instead
(bytes no PT_LOAD's p_filesz saves), as "0x<first>-0x<last> <bytes>", from
the first such mapping's start to the last's end (nothing if none): for
tests/cli-errors.sh, where PATH's binary is gone.
"""
import struct
import sys

PT_LOAD, PT_NOTE = 1, 4
NT_FILE = 0x46494C45


def union_bytes(intervals):
    total, end = 0, 0
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def notes(data, offset, size):
    pos, stop = offset, offset + size
    while pos + 12 <= stop:
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        pos += 12
        name_end = pos + ((namesz + 3) & ~3)
        desc = data[name_end:name_end + descsz]
        yield ntype, data[pos:pos + namesz], desc
        pos = name_end + ((descsz + 3) & ~3)


def main():
    data = open(sys.argv[1], "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit("not a 64-bit ELF file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads, saved, files = [], [], []
    for i in range(phnum):
        ptype, _flags, offset, vaddr, _paddr, filesz, memsz, _align = \
            struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if ptype == PT_LOAD and memsz:
            loads.append((vaddr, vaddr + memsz))
            if filesz:
                saved.append((vaddr, vaddr + min(filesz, memsz)))
        elif ptype == PT_NOTE:
            for ntype, name, desc in notes(data, offset, filesz):
                if ntype != NT_FILE or not name.startswith(b"CORE"):
                    continue
                count, _page = struct.unpack_from("<QQ", desc, 0)
                paths = desc[16 + 24 * count:].split(b"\0")
                for k in range(count):
                    start, end, _off = struct.unpack_from("<QQQ", desc, 16 + 24 * k)
                    files.append((start, end, paths[k].decode()))
    if len(sys.argv) > 2:
        left_out = [(start, end, end - start - sum(
                        max(0, min(end, b) - max(start, a)) for a, b in saved))
                    for start, end, path in files if path == sys.argv[2]]
        left_out = [m for m in left_out if m[2]]
        if left_out:
            print("0x%x-0x%x %d" % (left_out[0][0], left_out[-1][1],
                                    sum(m[2] for m in left_out)))
        return
    files = [(start, end) for start, end, _path in files]
    everything = union_bytes(loads + files)
    pt_load = union_bytes(loads)
    print(everything, pt_load, everything - pt_load)


main()
