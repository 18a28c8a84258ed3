# SPDX-License-Identifier: MIT
# The base of the CPython hostile corpus (tests/hostile-python.sh), run by
# Debian 12's python3 (3.11): objects of every kind the plugin decodes,
# and a second thread parked in a frame while it handles an exception.
# It writes to the file named by its argument, from what the interpreter
# itself says (id(), and through ctypes the C API's own pointers), the
# memory the mutants hit, one range a line:
#
#     ADDRESS WORDS CLASS OBJECT LABEL
#
# WORDS 8-byte words from ADDRESS, of CLASS (pyobject, pypool, pythread,
# pyframe, pyinterp, pyruntime), OBJECT the object they are about (0x0 if
# none), for tests/hostile_mutate --words. Then it
# says "ready" and blocks reading stdin until the test is done.
#
# The few C offsets below are CPython 3.11's (Include/cpython/pystate.h,
# Include/internal/pycore_frame.h, Objects/obmalloc.c): the test runs only
# on 3.11.
import ctypes
import gc
import sys
import threading

# tstate->cframe, tstate->thread_id, tstate->datastack_top, cframe->current_frame,
# frame->previous; a type's tp_flags and tp_dict.
TSTATE_CFRAME = 56
TSTATE_IDS = 152
TSTATE_DATASTACK_TOP = 304
CFRAME_CURRENT_FRAME = 8
FRAME_PREVIOUS = 48
TYPE_FLAGS = 168
TYPE_DICT = 264
# A pool of pymalloc's arenas: 16 KiB, its header first.
POOL_SIZE = 16 << 10
# Objects up to this size are pymalloc's; larger, malloc's.
SMALL_REQUEST = 512


def word_at(address):
    return ctypes.c_void_p.from_address(address).value or 0


class Node:
    def __init__(self, i, prev):
        self.i = i
        self.prev = prev
        self.name = "node%d" % i
        self.tags = {"k%d" % i: [i, str(i), (i, i + 1)]}


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


def countdown(n):
    while n:
        yield n
        n -= 1


nodes = []
prev = None
for i in range(400):
    prev = Node(i, prev)
    nodes.append(prev)
table = {("t", i): {i, i + 1, frozenset((i, -i))} for i in range(60)}
big_list = list(range(5000))
big_dict = {"key%d" % i: i for i in range(2000)}
generator = countdown(10)
next(generator)
keep = {
    "nodes": nodes,
    "table": table,
    "big_list": big_list,
    "big_dict": big_dict,
    "generator": generator,
    "slotted": Slotted([1, 2], "b"),
    "text": "caf\u00e9 " * 20,
    "ascii": "plain ascii text",
    "blob": bytes(range(256)) * 4,
    "buffer": bytearray(b"x" * 100),
    "number": 10 ** 40,
    "float": 2.5,
    "function": countdown,
    "code": countdown.__code__,
    "type": Node,
    "module": sys.modules[__name__],
}
gc.disable()

ranges = []


def add(address, words, cls, label, obj=None):
    ranges.append("0x%x %d %s 0x%x %s" % (address, words, cls,
                                          0 if obj is None else id(obj), label))


# Objects: their header and first fields; of a few, from their GC head
# (two words before a tracked object; two more before an instance, whose
# dict and values pointers 3.11 keeps there).
for label, obj, from_head in [
    ("Node instance", nodes[200], True),
    ("Node instance's dict", nodes[100].__dict__, False),
    ("dict", nodes[150].tags, True),
    ("dict, large", big_dict, False),
    ("list", nodes[150].tags["k150"], True),
    ("list, large", big_list, False),
    ("tuple", nodes[150].tags["k150"][2], False),
    ("set", table[("t", 7)], False),
    ("frozenset", [x for x in table[("t", 8)] if isinstance(x, frozenset)][0], False),
    ("str, non-ASCII", keep["text"], False),
    ("str, ASCII", keep["ascii"], False),
    ("bytes", keep["blob"], False),
    ("bytearray", keep["buffer"], False),
    ("int", keep["number"], False),
    ("float", keep["float"], False),
    ("slotted instance", keep["slotted"], False),
    ("function", countdown, False),
    ("code", countdown.__code__, False),
    ("generator", generator, True),
    ("module", keep["module"], False),
    ("class Node", Node, False),
]:
    start = id(obj)
    if from_head and gc.is_tracked(obj):
        start -= 32 if isinstance(obj, Node) else 16
    add(start, (id(obj) - start) // 8 + 4, "pyobject", label, obj)
add(id(Node) + 24, 3, "pyobject", "class Node's name and sizes", Node)
add(id(Node) + TYPE_FLAGS, 1, "pyobject", "class Node's flags", Node)
add(id(Node) + TYPE_DICT, 1, "pyobject", "class Node's dict", Node)

# Pool headers of pools that hold the objects above.
pools = {}
for obj in (nodes[10], nodes[10].tags, keep["ascii"], table[("t", 3)]):
    if sys.getsizeof(obj) <= SMALL_REQUEST:
        pools.setdefault(id(obj) & ~(POOL_SIZE - 1), obj)
for pool, obj in sorted(pools.items()):
    add(pool, 6, "pypool", "pool header", obj)

pythonapi = ctypes.pythonapi
pythonapi.PyThreadState_Get.restype = ctypes.c_void_p
pythonapi.PyInterpreterState_Get.restype = ctypes.c_void_p
runtime = ctypes.addressof(ctypes.c_char.in_dll(pythonapi, "_PyRuntime"))
interp = pythonapi.PyInterpreterState_Get()
# _PyRuntime.interpreters, the interpreter's links and threads, its GC's
# generations 0 and 2 (each a list head and two counts) and its modules.
add(runtime + 40, 3, "pyruntime", "_PyRuntime's interpreters")
add(interp, 8, "pyinterp", "interpreter")
add(interp + 672, 2, "pyinterp", "interpreter's GC generation 0")
add(interp + 672 + 2 * 24, 3, "pyinterp", "interpreter's GC generation 2")
add(interp + 888, 1, "pyinterp", "interpreter's modules")

parked = threading.Event()
release = threading.Event()


# A thread state's links, frame, exception and ids, its data stack's top
# and limit; its C frame's link to the innermost Python frame, and the
# frames of the callers of this function (whose own frame is gone by the
# time of the core).
def thread_and_frames(label, frames):
    tstate = pythonapi.PyThreadState_Get()
    add(tstate, 17, "pythread", label + " thread state")
    add(tstate + TSTATE_IDS, 2, "pythread", label + " thread's ids")
    add(tstate + TSTATE_DATASTACK_TOP, 2, "pythread", label + " data stack")
    cframe = word_at(tstate + TSTATE_CFRAME)
    add(cframe, 3, "pyframe", label + " C frame")
    frame = word_at(word_at(cframe + CFRAME_CURRENT_FRAME) + FRAME_PREVIOUS)
    for depth in range(frames):
        if not frame:
            break
        add(frame, 10, "pyframe", "%s frame %d" % (label, depth + 1))
        frame = word_at(frame + FRAME_PREVIOUS)


def handle_request(request):
    try:
        raise ValueError("parked with %r" % request)
    except ValueError:
        thread_and_frames("parked", 2)
        parked.set()
        release.wait()


# A small stack: the core is copied for every mutant.
threading.stack_size(256 << 10)
thread = threading.Thread(target=handle_request, args=({"id": 7},))
thread.start()
parked.wait()
thread_and_frames("main", 1)

with open(sys.argv[1], "w") as f:
    f.write("\n".join(ranges) + "\n")
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.read()
release.set()
