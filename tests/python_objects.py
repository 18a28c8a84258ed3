# SPDX-License-Identifier: MIT
# Designed Python objects for tests/python-objects.sh, run by Debian's
# python3 unmodified: 12,000 instances of a class of its own (and 500 more
# dropped just before the dump), dicts, lists, tuples and unique strings of
# classes of its own as well as plain ones, and a few objects of several
# hundred KiB (too big for pymalloc: in glibc's blocks). It writes the id()
# and the type of every designed object to the file named by its first
# argument, and the item arrays of its lists and the keys of its dicts to
# the file named by its second (as their address, a tab and "list items"
# or "dict keys"), says "ready" and blocks reading stdin until the test is
# done.
#
# With a third argument, it also builds, after the drop, with the garbage
# collector off: a chain from a module global (sessions['abc'].buffer[3]),
# a thread parked in handle_request() with its local req, and a reference
# cycle of its own classes that it drops, and writes to that file:
#   chain ID ID ID ID   sessions, sessions['abc'], its .buffer, buffer[3]
#   thread TID ID       the parked thread's native id, its local req
#   cycle ID TYPE       each object of the dropped cycle
#   interned ID         a str it interned (a module global holds it too)
#   live ID TYPE        each other object of these designs, alive
import ctypes
import gc
import sys
import threading


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
    # Its item array of 800 KB: a glibc block.
    keep["big_list"] = list(range(100000))
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

# The memory objects own that is no object: a list's item array (the
# PyListObject's ob_item), a dict's keys (the PyDictObject's ma_keys), read
# from this process's own memory.
def word_at(address):
    return ctypes.c_void_p.from_address(address).value


with open(sys.argv[2], "w") as out:
    for dct in state["dicts"]:
        out.write("%#x\tdict keys\n" % word_at(id(dct) + 32))
    # The big list's last.
    for lst in state["lists"] + [state["big_list"]]:
        out.write("%#x\tlist items\n" % word_at(id(lst) + 24))

# The 500 Dropped are freed now (no cycle holds them), after the file is
# written: their blocks are free pymalloc blocks with their old type
# pointer still in place.
del dropped
gc.collect()


class Session:
    def __init__(self, name):
        self.name = name
        self.buffer = [Payload(name, i) for i in range(5)]


class Payload:
    def __init__(self, name, i):
        self.number = i


class Request:
    def __init__(self, path):
        self.path = path


class CycleNode:
    pass


def type_name(obj):
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else \
        cls.__module__ + "." + cls.__qualname__


def make_cycle():
    # Dropped when this returns: only the cycle holds them, and the
    # collector is off.
    first, second = CycleNode(), CycleNode()
    first.peer = second
    second.peer = first
    loop = [first]
    loop.append(loop)
    first.loop = loop
    return ["cycle %#x %s" % (id(obj), type_name(obj))
            for obj in (first, second, loop)]


parked = threading.Event()
release = threading.Event()
parked_record = []


def handle_request(req):
    parked_record.append("thread %d %#x" % (threading.get_native_id(),
                                            id(req)))
    parked.set()
    release.wait()


if len(sys.argv) > 3:
    gc.disable()
    sessions = {key: Session(key) for key in ("abc", "def", "ghi")}
    worker = threading.Thread(target=handle_request,
                              args=(Request("/designed"),), daemon=True)
    worker.start()
    parked.wait()
    cycle_lines = make_cycle()
    interned_name = sys.intern("designed " + "interned " + str(len(sessions)))
    with open(sys.argv[3], "w") as out:
        abc = sessions["abc"]
        out.write("chain %#x %#x %#x %#x\n" % (
            id(sessions), id(abc), id(abc.buffer), id(abc.buffer[3])))
        out.write(parked_record[0] + "\n")
        out.write("interned %#x\n" % id(interned_name))
        for line in cycle_lines:
            out.write(line + "\n")
        for session in sessions.values():
            out.write("live %#x %s\n" % (id(session), type_name(session)))
            out.write("live %#x %s\n" % (id(session.buffer),
                                          type_name(session.buffer)))
            for payload in session.buffer:
                out.write("live %#x %s\n" % (id(payload),
                                              type_name(payload)))
        del abc, session, payload
    # Work enough to overwrite what the C stack kept of the cycle.
    for _ in range(3):
        sum(len(str(i)) for i in range(1000))
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.read()
