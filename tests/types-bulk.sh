#!/bin/sh
# SPDX-License-Identifier: MIT
# A level of the typing's propagation that follows more pointers than a
# batch holds (fixtures/types_bulk.c): the batches looked up beside the
# visits lose no evidence; exact counts and bytes of every fixture type.
. "$SRCDIR/tests/types-lib.sh"

make_types_core "$FIXTURES/types_bulk" types-bulk
types_rows "$core" "$CORE_DIR/types-bulk.rows"
check_expectations "$out" "$CORE_DIR/types-bulk.rows" g
finish
