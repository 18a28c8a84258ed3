# SPDX-License-Identifier: MIT
# Run by gdb on a core of a process that ran with fixtures/recorder.c
# preloaded (fixtures/recorder_preload.so):
#     gdb -batch -ex 'python out = "FILE"' -x recorded-liveset.py EXE CORE
# Writes the recorder's live table, as the core holds it, to FILE in
# recorder_dump()'s format ("0x<hex> <decimal>" a line), so that a program
# that never calls recorder_dump() (an unmodified server) still has its
# live set recorded while it ran. Prints one line on stdout:
#     recorded: N live, C calls in progress, A anomalies, overflowed: yes|no
# Only a core with no call in progress, no anomaly and no overflow has a
# table that is exactly the allocator's live set: the caller checks.
import struct

import gdb


def value_of(name):
    return gdb.parse_and_eval(name)


table = value_of("live_table")
table_bytes = int(table.type.sizeof)
address = int(table.address)
memory = gdb.selected_inferior().read_memory(address, table_bytes)
in_progress = int(value_of("recorder_calls_in_progress"))
anomalies = int(value_of("anomaly_count"))
overflowed = bool(int(value_of("table_overflowed")))

live = 0
with open(out, "w") as f:
    for slot_address, usable_size in struct.iter_unpack("<QQ", memory):
        if slot_address:
            f.write("0x%x %d\n" % (slot_address, usable_size))
            live += 1
print("recorded: %d live, %d calls in progress, %d anomalies, overflowed: %s"
      % (live, in_progress, anomalies, "yes" if overflowed else "no"))
