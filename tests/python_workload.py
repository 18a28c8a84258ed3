# SPDX-License-Identifier: MIT
# A small ordinary workload for Debian's python3, for tests/python-leaks.sh:
# objects of many kinds and sizes, most in pymalloc's arenas (anonymous
# mmaps that the kernel merges with neighbouring malloc'd mmapped chunks),
# the larger ones (list item arrays, dict tables, big strings and bytes) in
# malloc's heap and mmapped chunks. Everything stays referenced. It prints
# "ready" once built, then blocks reading stdin until the test is done.
import collections
import json
import sys


class Node:
    def __init__(self, name, payload):
        self.name = name
        self.payload = payload
        self.children = []


def build():
    keep = {}
    keep["lists"] = [list(range(i, i + 100)) for i in range(2000)]
    keep["dict"] = {"key%d" % i: ("value%d" % i) * 3 for i in range(5000)}
    keep["big"] = list(range(200000))
    keep["blobs"] = [bytes([i % 256]) * (4096 + 64 * i) for i in range(64)]
    keep["text"] = ["line %d " % i * 40 for i in range(500)]
    root = Node("root", None)
    for i in range(300):
        child = Node("n%d" % i, [i] * (i % 50 + 1))
        child.children = [Node("leaf%d.%d" % (i, j), {"j": j}) for j in range(5)]
        root.children.append(child)
    keep["tree"] = root
    keep["counter"] = collections.Counter("abracadabra" * 1000)
    keep["json"] = json.loads(json.dumps({"items": [{"id": i, "tags": ["t%d" % (i % 7)]} for i in range(3000)]}))
    keep["sets"] = [set(range(i, i + 30)) for i in range(400)]
    return keep


state = build()
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.read()
