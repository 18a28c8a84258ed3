#!/bin/sh
# SPDX-License-Identifier: MIT
# C++ objects (fixtures/types_cxx.cc): exact counts and bytes per type,
# built with -g (vtables and DWARF), without (vtables from .symtab only),
# and stripped of every symbol (vtables found through RTTI); arrays one row
# per element type, and each allocation named with its count where known.
. "$SRCDIR/tests/types-lib.sh"

make_types_core "$FIXTURES/types_cxx" types-cxx
types_rows "$core" "$CORE_DIR/types-cxx.rows"
check_expectations "$out" "$CORE_DIR/types-cxx.rows" g
check_objects "$out" "$core" g
expect_describe widget '^type: app::Widget \(vtable\)$' \
	'^vtable: 0x[0-9a-f]+ = types_cxx!vtable for app::Widget\+0x10$' \
	'^  \[\+8\] int id = 0$' \
	'_M_start = 0x[0-9a-f]+ -> allocation 0x[0-9a-f]+ \(Point3\[1\]\)$' \
	'_M_p = 0x[0-9a-f]+ "widget number 0, long enough for the heap" -> allocation'
expect_describe button '^type: app::Button \(vtable\)$' '^  \[\+0\] app::Widget <base> = \{$' \
	'^  \[\+72\] long clicks = 0$'
expect_describe elems '^0x[0-9a-f]+ is 8 bytes into the allocation' \
	'^type: Elem\[3\] \(vtable\)$' '^element 0 of 3, at 0x[0-9a-f]+:$'
expect_describe messages '^type: Message \*\[4\] \(dwarf\)$' \
	'^element 0 of 4, at 0x[0-9a-f]+:$'
expect_describe diamond_base '^type: Diamond \(vtable\)$'
expect_describe map_node \
	'^type: std::_Rb_tree_node<std::pair<int const, Payload> > \(dwarf\)$'

make_types_core "$FIXTURES/types_cxx_nodebug" types-cxx-nodebug
types_rows "$core" "$CORE_DIR/types-cxx-nodebug.rows"
check_expectations "$out" "$CORE_DIR/types-cxx-nodebug.rows" nodebug
check_objects "$out" "$core" nodebug

# Without any symbols: the vtables are known by their RTTI alone.
if command -v strip > /dev/null 2>&1; then
	stripped=$CORE_DIR/types_cxx_stripped
	cp "$FIXTURES/types_cxx_nodebug" "$stripped" && strip "$stripped" ||
		fail "cannot strip a copy of types_cxx_nodebug"
	make_types_core "$stripped" types-cxx-stripped
	types_rows "$core" "$CORE_DIR/types-cxx-stripped.rows"
	check_expectations "$out" "$CORE_DIR/types-cxx-stripped.rows" nodebug
else
	echo "skip: no strip, the stripped case is not checked"
fi
finish
