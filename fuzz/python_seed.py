# SPDX-License-Identifier: MIT
# The heap of fuzz_cpython's seed (fuzz/run.sh seeds, through
# tests/make-python-core.sh), run by Debian 12's python3 with -I -S so that
# the snapshot stays under the fuzzer's 4 MiB inputs: a few objects of each
# kind the CPython plugin decodes (instances with their dicts, lists,
# tuples, dicts, sets, str, bytes in pymalloc's pools and in malloc's
# blocks, int, float, a generator, a class), and a second thread parked in
# a frame while it handles an exception. It says "ready" and waits for
# stdin to close.
import sys
import threading


class Node:
    def __init__(self, i):
        self.i = i
        self.next = None
        self.tag = "n%d" % i


nodes = [Node(i) for i in range(50)]
for a, b in zip(nodes, nodes[1:]):
    a.next = b
table = {"a": 1, 2: b"x" * 600, (1, 2): {1, 2, 3}, 3.5: nodes[:3], "big": 2**100}
numbers = list(range(200))


def park(event):
    try:
        raise ValueError("parked")
    except ValueError:
        event.wait()


def counter():
    yield 1
    yield 2


event = threading.Event()
thread = threading.Thread(target=park, args=(event,), daemon=True)
thread.start()
generator = counter()
next(generator)
print("ready", flush=True)
sys.stdin.read()
event.set()
