#!/bin/sh
# SPDX-License-Identifier: MIT
# coreheap is exact on Debian 11's glibc 2.31: see tests/glibc-debian.sh.
exec sh "$SRCDIR/tests/glibc-debian.sh" bullseye
