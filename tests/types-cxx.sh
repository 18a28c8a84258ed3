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
	'_M_p = 0x[0-9a-f]+ "widget number 0, long enough for the heap" -> allocation' \
	'^    size_t size\(\) = 1$' \
	'^    Point3\[1\] <elements> at 0x[0-9a-f]+ = \{$' \
	'^        \[\+0\] double x = 1$' '^        \[\+8\] double y = 2$' \
	'^        \[\+16\] double z = 3$'
expect_describe button '^type: app::Button \(vtable\)$' '^  \[\+0\] app::Widget <base> = \{$' \
	'^  \[\+72\] long clicks = 0$'
expect_describe elems '^0x[0-9a-f]+ is 8 bytes into the allocation' \
	'^type: Elem\[3\] \(vtable\)$' '^element 0 of 3, at 0x[0-9a-f]+:$'
expect_describe messages '^type: Message \*\[4\] \(dwarf\)$' \
	'^element 0 of 4, at 0x[0-9a-f]+:$'
expect_describe diamond_base '^type: Diamond \(vtable\)$'
# Containers' nodes show the key and value they hold, as the fixture
# wrote them, not libstdc++'s raw storage.
expect_describe map_node \
	'^type: std::_Rb_tree_node<std::pair<int const, Payload> > \(dwarf\)$' \
	'^  \[\+32\] std::pair<int const, Payload> _M_storage = \{$' \
	'^    \[\+32\] int first = 0$' '^      \[\+40\] long weight = 0$' \
	'_M_p = 0x[0-9a-f]+ "payload number 0, long enough for the heap" -> allocation'
expect_describe set_node '^type: std::_Rb_tree_node<long> \(dwarf\)$' \
	'^  \[\+32\] long _M_storage = 11$'
expect_describe list_node '^type: std::_List_node<Plain> \(dwarf\)$' \
	'^  \[\+16\] Plain _M_storage = \{$' '^    \[\+16\] long a = 2$' \
	'^    \[\+24\] long b = 2$' '^    \[\+32\] long c = 2$'
expect_describe hash_node \
	'^type: std::__detail::_Hash_node<std::pair<int const, long>, false> \(dwarf\)$' \
	'std::pair<int const, long> _M_storage = \{$' \
	'^ *\[\+8\] int first = 2$' '^ *\[\+16\] long second = 2$'
# The object of a make_shared control block (the address is the Plain's,
# 16 bytes into the block).
expect_describe shared_plain '^0x[0-9a-f]+ is 16 bytes into the allocation' \
	'^ *\[\+16\] Plain _M_storage = \{$' '^ *\[\+16\] long a = 5$' \
	'^ *\[\+24\] long b = 6$' '^ *\[\+32\] long c = 7$'

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
