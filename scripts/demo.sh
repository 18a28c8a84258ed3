#!/bin/sh
# Installs what coreheap needs, builds it, makes a demo core from a fixture
# program and shows its summary: the first command of the README.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x configure ] || ./autogen.sh > /dev/null
[ -f Makefile ] || ./configure -q
make -s -j"$(nproc)" coreheap fixtures/glibc_mixed
mkdir -p demo
tests/make-core.sh fixtures/glibc_mixed demo/glibc_mixed > /dev/null
./coreheap summary demo/glibc_mixed.core
