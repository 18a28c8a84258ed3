# SPDX-License-Identifier: MIT
# Designed Python objects for tests/python-objects.sh, run by Debian's
# python3 unmodified: 12,000 instances of a class of its own (and 500 more
# dropped just before the dump), dicts, lists, tuples and unique strings of
# classes of its own as well as plain ones, and a few objects of several
# hundred KiB (too big for pymalloc: in glibc's blocks). It writes the id()
# and the type of every designed object to the file named by its first
# argument, says "ready" and blocks reading stdin until the test is done.
import gc
import sys


class Marker:
    def __init__(self, n):
        self.n = n


class Dropped:
    pass


class MarkedDict(dict):
    pass


class MarkedList(list):
    pass


class MarkedTuple(tuple):
    pass


class MarkedStr(str):
    pass


def build():
    keep = {}
    keep["markers"] = [Marker(i) for i in range(12000)]
    keep["marked_dicts"] = [MarkedDict(a=i, b=str(i)) for i in range(700)]
    keep["marked_lists"] = [MarkedList([i, i + 1]) for i in range(600)]
    keep["marked_tuples"] = [MarkedTuple((i, "t%d" % i)) for i in range(500)]
    keep["marked_strs"] = [MarkedStr("marked string %d" % i) for i in range(400)]
    keep["dicts"] = [{"k": i, "v": [i]} for i in range(300)]
    keep["lists"] = [[i, -i, str(i)] for i in range(300)]
    keep["tuples"] = [(i, "x", 1.5 * i) for i in range(300)]
    keep["strs"] = ["unique string %d %s" % (i, "u" * (i % 40)) for i in range(300)]
    # Several hundred KiB each: glibc's blocks (mmapped chunks), not pymalloc.
    keep["big_bytes"] = [bytes([i]) * (300 * 1024 + i) for i in range(3)]
    keep["big_str"] = ["B%d" % i * (200 * 1024) for i in range(2)]
    keep["big_tuple"] = tuple(range(40000))
    return keep


state = build()
dropped = [Dropped() for _ in range(500)]

big = set()
for name in ("big_bytes", "big_str"):
    big.update(id(obj) for obj in state[name])
big.add(id(state["big_tuple"]))

designed = []
for name in ("markers", "marked_dicts", "marked_lists", "marked_tuples",
             "marked_strs", "dicts", "lists", "tuples", "strs", "big_bytes",
             "big_str"):
    designed.extend(state[name])
designed.append(state["big_tuple"])

# One line per object: its id, its type as Python spells it, and "big" for
# those of several hundred KiB.
with open(sys.argv[1], "w") as out:
    for obj in designed:
        cls = type(obj)
        name = cls.__qualname__ if cls.__module__ == "builtins" else \
            cls.__module__ + "." + cls.__qualname__
        out.write("%#x %s%s\n" % (id(obj), name,
                                  " big" if id(obj) in big else ""))

# The 500 Dropped are freed now (no cycle holds them), after the file is
# written: their blocks are free pymalloc blocks with their old type
# pointer still in place.
del dropped
gc.collect()
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.read()
