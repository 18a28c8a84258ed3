#!/bin/sh
# SPDX-License-Identifier: MIT
# coreheap is exact on Debian 13's glibc 2.41: see tests/glibc-debian.sh.
exec sh "$SRCDIR/tests/glibc-debian.sh" trixie
