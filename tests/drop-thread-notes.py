#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""drop-thread-notes.py CORE OUT: OUT is CORE with every thread's notes
(NT_PRSTATUS, NT_FPREGSET, NT_X86_XSTATE, NT_SIGINFO) renamed to a note
type nobody reads, so a reader finds no thread in it (as in a core whose
note segment was lost), while memory and the other notes stay as they are."""
import shutil
import struct
import sys

THREAD_NOTES = {1, 2, 0x202, 0x53494749}
UNKNOWN = 0x7f7f7f7f


def main():
    src, dst = sys.argv[1], sys.argv[2]
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            sys.exit("drop-thread-notes.py: %s: not a 64-bit little-endian ELF file" % src)
        phoff, = struct.unpack_from("<Q", ident, 32)
        phentsize, phnum = struct.unpack_from("<HH", ident, 54)
        renamed = 0
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, _, p_offset, _, _, p_filesz = struct.unpack("<IIQQQQ", f.read(40))
            if p_type != 4:  # PT_NOTE
                continue
            pos, end = p_offset, p_offset + p_filesz
            while pos + 12 <= end:
                f.seek(pos)
                namesz, descsz, ntype = struct.unpack("<III", f.read(12))
                if ntype in THREAD_NOTES:
                    f.seek(pos + 8)
                    f.write(struct.pack("<I", UNKNOWN))
                    renamed += 1
                pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
        if not renamed:
            sys.exit("drop-thread-notes.py: %s: no thread notes" % src)


main()
