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
# done. The third and fourth arguments: see the parked thread and the
# garbage collector's generations below.
#
# With a fifth argument, it also builds, after the drop, with the garbage
# collector off: a chain from a module global (sessions['abc'].buffer[3])
# and a reference cycle of its own classes that it drops, and writes to
# that file:
#   chain ID ID ID ID   sessions, sessions['abc'], its .buffer, buffer[3]
#   thread TID ID       the parked thread's native id, its local req
#   cycle ID TYPE       each object of the dropped cycle
#   interned ID         a str it interned (a module global holds it too)
#   live ID TYPE        each other object of these designs, alive
import atexit
import ctypes
import gc
import linecache
import sys
import threading
import time


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

# A subinterpreter keeps 2,000 instances of a class of its own, and
# appends their id() and type to the same file. In 3.13 it has its own
# pymalloc state (use_main_obmalloc false, the default of _interpreters);
# in 3.11 every interpreter shares the main one's.
SUB_CODE = """
class SubMarker:
    pass


keep = [SubMarker() for _ in range(2000)]
with open(%r, "a") as out:
    for obj in keep:
        out.write("%%#x __main__.SubMarker\\n" %% id(obj))
""" % sys.argv[1]
if sys.version_info >= (3, 13):
    import _interpreters
    subinterpreters = _interpreters
    sub = _interpreters.create()
    _interpreters.exec(sub, SUB_CODE)
else:
    import _xxsubinterpreters as subinterpreters
    sub = subinterpreters.create()
    subinterpreters.run_string(sub, SUB_CODE)
# Python will not end with a subinterpreter left.
atexit.register(subinterpreters.destroy, sub)

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

# A thread parked in a function of its own, with a local of its own, while
# it handles an exception; its Python stack as Python itself sees it (each
# frame's co_qualname, co_filename and f_lineno, innermost first) goes to
# the file named by the third argument, one line a frame: "TID<tab>frame
# <tab>N<tab>FUNCTION<tab>FILE<tab>LINE", and "TID<tab>exception<tab>TYPE
# <tab>MESSAGE" for the exception it handles. TID is the native thread id.
class Request:
    pass


parked = threading.Event()
release = threading.Event()
parked_message = []
parked_record = []


def handle_request(release):
    req = Request()
    message = "parked while handling request %#x" % id(req)
    parked_record.append("thread %d %#x" % (threading.get_native_id(),
                                            id(req)))
    try:
        raise ValueError(message)
    except ValueError:
        parked_message.append(message)
        parked.set()
        release.wait()


def write_stack(out, tid, frame):
    n = 0
    while frame is not None:
        code = frame.f_code
        out.write("%d\tframe\t%d\t%s\t%s\t%d\n" % (
            tid, n, code.co_qualname, code.co_filename, frame.f_lineno))
        frame = frame.f_back
        n += 1


worker = threading.Thread(target=handle_request, args=(release,),
                          name="parked", daemon=True)
worker.start()
parked.wait()
# Until it blocks in the lock that Event.wait takes: its stack no longer
# changes from there on.
while True:
    frame = sys._current_frames()[worker.ident]
    if frame.f_code.co_name == "wait" and \
            linecache.getline(frame.f_code.co_filename,
                              frame.f_lineno).strip() == "waiter.acquire()":
        break
    time.sleep(0.01)
stacks = open(sys.argv[3], "w")
write_stack(stacks, worker.native_id, frame)
stacks.write("%d\texception\tValueError\t%s\n" % (worker.native_id,
                                                   parked_message[0]))
stacks.close()


def record_main_thread():
    # The caller's frame (the module's), at the line that then reads stdin.
    with open(sys.argv[3], "a") as main_stack:
        write_stack(main_stack, threading.get_native_id(), sys._getframe(1))


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


if len(sys.argv) > 5:
    gc.disable()
    sessions = {key: Session(key) for key in ("abc", "def", "ghi")}
    cycle_lines = make_cycle()
    interned_name = sys.intern("designed " + "interned " + str(len(sessions)))
    with open(sys.argv[5], "w") as designs_file:
        abc = sessions["abc"]
        designs_file.write("chain %#x %#x %#x %#x\n" % (
            id(sessions), id(abc), id(abc.buffer), id(abc.buffer[3])))
        designs_file.write(parked_record[0] + "\n")
        designs_file.write("interned %#x\n" % id(interned_name))
        for line in cycle_lines:
            designs_file.write(line + "\n")
        for session in sessions.values():
            designs_file.write("live %#x %s\n" % (id(session),
                                                    type_name(session)))
            designs_file.write("live %#x %s\n" % (id(session.buffer),
                                                    type_name(session.buffer)))
            for payload in session.buffer:
                designs_file.write("live %#x %s\n" % (id(payload),
                                                        type_name(payload)))
        del abc, session, payload
    # Work enough to overwrite what the C stack kept of the cycle.
    for _ in range(3):
        sum(len(str(i)) for i in range(1000))
# From here no collection moves objects between generations: the oldest
# generation lists, until the dump, exactly the objects it lists now
# (nothing old is freed from here on), written to the file named by the
# fourth argument.
gc.disable()
# (A new name: rebinding `out` would free the old file object, in it.)
with open(sys.argv[4], "w") as gc_file:
    gc_file.write("generation 2 %d\n" % len(gc.get_objects(generation=2)))
# One line: the main thread's stack is recorded at the line it then waits on.
record_main_thread(); sys.stdout.write("ready\n"); sys.stdout.flush(); sys.stdin.read()  # noqa: E702

