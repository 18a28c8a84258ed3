#!/bin/sh
# SPDX-License-Identifier: MIT
# The hostile-core corpus of the CPython plugin: hostile words in the
# objects, pools, thread states, frames and interpreter of Debian 12's
# python3. See tests/hostile-cores.sh.
exec bash "$SRCDIR/tests/hostile-cores.sh" python
