# SPDX-License-Identifier: MIT
# make bench's Python heap: about N Python objects (argument 1, default
# 1,000,000) shaped like a program's: instances of classes of its own with
# attributes, dicts keyed by strings, lists and tuples, unique strings and
# floats, cross-referenced at random. Writes the count it made to the file
# named by CH_LIVESET, says "ready" and sleeps until it is killed.
import os
import random
import sys
import time


class Session:
    def __init__(self, sid, user):
        self.sid = sid
        self.user = user
        self.messages = []
        self.peer = None


class User:
    def __init__(self, name):
        self.name = name
        self.tags = ("user", name)


def build(n):
    rng = random.Random(1)
    # Per group of 8 objects: a Session, its messages list, a message
    # string, a User, its name, its tags tuple, a dict entry's float and
    # one dict for every 8 groups (counted apart).
    groups = n // 8
    users = [User("user-%d" % i) for i in range(groups)]
    sessions = []
    for i in range(groups):
        s = Session(i, users[rng.randrange(groups)])
        s.messages.append("message %d %s" % (i, "x" * (i % 50)))
        s.messages.append(i * 0.5)
        sessions.append(s)
    for s in sessions:
        s.peer = sessions[rng.randrange(groups)]
    index = [{"sid": s.sid, "user": s.user} for s in sessions[::8]]
    return users, sessions, index


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    keep = build(n)
    with open(os.environ["CH_LIVESET"], "w") as f:
        f.write("objects %d\n" % n)
    print("ready", flush=True)
    while keep:
        time.sleep(3600)


main()
