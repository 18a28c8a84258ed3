#!/bin/sh
# SPDX-License-Identifier: MIT
# coreheap is exact on the glibc of Debian experimental (2.44 today, on
# top of unstable): see tests/glibc-debian.sh.
exec sh "$SRCDIR/tests/glibc-debian.sh" experimental
