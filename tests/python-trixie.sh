#!/bin/sh
# SPDX-License-Identifier: MIT
# Python objects and stacks of Debian 13's CPython 3.13, in a trixie root:
# see tests/python-objects.sh.
exec sh "$SRCDIR/tests/python-objects.sh" trixie
