#!/bin/sh
# SPDX-License-Identifier: MIT
# coreheap is exact on Debian unstable's glibc (2.43 today): see tests/glibc-debian.sh.
exec sh "$SRCDIR/tests/glibc-debian.sh" sid
