#!/bin/sh
# SPDX-License-Identifier: MIT
# jemalloc built from Debian's source, statically and with its symbols, as
# projects link it: once with the je_ prefix (--with-jemalloc-prefix=je_)
# and once as Rust's tikv-jemallocator does (_rjem_ prefix and private
# namespace: _rjem_je_arena_emap_global...). The first for 48-bit virtual
# addresses, the second for 57 (what jemalloc's configure picks on a CPU
# with 5-level paging: a radix tree of three levels and leaves of two
# words), whatever this machine's CPU. For each:
#  - jemalloc_mixed's heap (fixtures/jemalloc_mixed.c with its recorder):
#    `objects` lists exactly the recorded live set, and jemalloc's globals
#    were found by symbol (the path Debian's stripped libjemalloc2 never
#    takes);
#  - jemalloc_prof's heap (heap profiling on, je_opt_prof by symbol): each
#    allocation's stack, as `describe` shows it, names the function the
#    fixture says allocated it.
# The source, jemalloc_5.3.0.orig.tar.bz2 of Debian's jemalloc 5.3.0-1,
# comes from the Debian mirror apt is configured with ($CH_DEBIAN_MIRROR
# overrides), checked against the sha256 Debian's .dsc gives, and is kept
# with its builds in $TESTS_BUILDDIR/jemalloc-source (a second run builds
# nothing). Skipped (77) only when no mirror answers.
. "$SRCDIR/tests/lib.sh"
test_init jemalloc-source TESTS_BUILDDIR SRCDIR
require_command gcc make tar bzip2 sha256sum

version=5.3.0
tarball=jemalloc_$version.orig.tar.bz2
sha256=2db82d1e7119df3e71b7640219b6dfe84789bc0537983c3b7ac4f7189aecfeaa
cache=$TESTS_BUILDDIR/jemalloc-source
mkdir -p "$cache" || { fail "cannot create $cache"; finish; }

# The mirrors apt uses (one-line and deb822 sources), the Debian archive's
# pool under each.
mirrors() {
	if [ -n "${CH_DEBIAN_MIRROR-}" ]; then
		echo "$CH_DEBIAN_MIRROR"
		return
	fi
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null |
		awk '$1 == "deb" || $1 == "deb-src" {
			for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }'
	cat /etc/apt/sources.list.d/*.sources 2> /dev/null |
		awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }'
}

download() {
	for mirror in $(mirrors | grep -v security | sort -u); do
		url=${mirror%/}/pool/main/j/jemalloc/$tarball
		if command -v curl > /dev/null 2>&1; then
			curl -fsSL --max-time 120 -o "$cache/$tarball.part" "$url"
		else
			wget -q -T 120 -O "$cache/$tarball.part" "$url"
		fi && mv "$cache/$tarball.part" "$cache/$tarball" && return 0
	done
	rm -f "$cache/$tarball.part"
	return 1
}

if [ ! -s "$cache/$tarball" ]; then
	command -v curl > /dev/null 2>&1 || require_command wget
	download || skip "no Debian mirror answers for $tarball (set CH_DEBIAN_MIRROR)"
fi
if [ "$(sha256sum < "$cache/$tarball" | cut -d' ' -f1)" != "$sha256" ]; then
	fail "$cache/$tarball is not Debian's jemalloc $version source"
	rm -f "$cache/$tarball"
	finish
fi
if [ ! -f "$cache/jemalloc-$version/configure" ]; then
	tar -C "$cache" -xjf "$cache/$tarball" ||
		{ fail "cannot unpack $tarball"; finish; }
fi

# build NAME CONFIGURE-ARGS...: lib/libjemalloc.a in $cache/NAME, as Debian
# configures amd64 (4 KiB pages, 2 MiB huge pages, profiling), with
# symbols; -O1 for a quicker build (layouts do not depend on it). A build
# made with other arguments is made again.
build() {
	dir=$cache/$1
	shift
	[ -s "$dir/lib/libjemalloc.a" ] &&
		[ "$(cat "$dir/arguments" 2> /dev/null)" = "$*" ] && return 0
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	(cd "$dir" &&
		"$cache/jemalloc-$version/configure" --with-lg-page=12 \
			--with-lg-hugepage=21 --enable-prof --disable-cxx \
			"$@" CFLAGS='-O1 -g' > configure.log 2>&1 &&
		make -j2 lib/libjemalloc.a > make.log 2>&1) ||
		{ tail -20 "$dir/configure.log" "$dir/make.log"; return 1; }
	echo "$*" > "$dir/arguments"
}

# link NAME OUT GCC-ARGS...: the fixture's sources and flags in GCC-ARGS
# linked with the build NAME into OUT.
link() {
	lib=$cache/$1 out=$2
	shift 2
	gcc -std=gnu11 -g -O0 -fno-builtin -pthread -I"$SRCDIR/fixtures" \
		-I"$lib/include" "$@" -o "$out" -x none "$lib/lib/libjemalloc.a" \
		-lpthread -lm -ldl 2> "$out.log" ||
		{ cat "$out.log"; return 1; }
}

# sorted_objects: `objects` of $core as "address size" lines, sorted, the
# allocator checked on each.
sorted_objects() {
	"$COREHEAP" objects --verbose --format jsonl "$core" > "$work/out" 2> "$work/err" ||
		{ fail "coreheap objects exited $?"; cat "$work/err"; return 1; }
	if grep -v '"allocator": "jemalloc"' "$work/out" | grep -q .; then
		fail "blocks of another allocator than jemalloc:"
		grep -v '"allocator": "jemalloc"' "$work/out" | head -5
	fi
	sed 's/.*"address": "\(0x[0-9a-f]*\)", "size": \([0-9]*\).*/\1 \2/' "$work/out" | sort
}

check_build() {
	# Not $prefix: make_core sets that one.
	name=$1 api=$2
	shift 2
	if ! build "$name" "$@"; then
		fail "building jemalloc $version $*"
		return
	fi
	ok "jemalloc $version built with $*"

	mixed=$work/jemalloc_mixed-$name
	if link "$name" "$mixed" -DRECORDER_JEMALLOC \
		-Dmallocx="${api}mallocx" -Drallocx="${api}rallocx" \
		-Ddallocx="${api}dallocx" -Dsallocx="${api}sallocx" \
		"$SRCDIR/fixtures/jemalloc_mixed.c" "$SRCDIR/fixtures/recorder.c" &&
		make_core "$mixed" "$work/mixed-$name"; then
		sort "$work/mixed-$name.live" > "$work/mixed-$name.expected"
		sorted_objects > "$work/mixed-$name.actual"
		if cmp -s "$work/mixed-$name.expected" "$work/mixed-$name.actual"; then
			ok "$name: objects is the recorded live set ($(wc -l < "$work/mixed-$name.expected") blocks)"
		else
			fail "$name: objects differs from the recorded live set"
			diff "$work/mixed-$name.expected" "$work/mixed-$name.actual" | head -20
		fi
		check_grep "$name: radix tree root by symbol" \
			'radix tree root: symbol; arenas: symbol; size classes: symbol; tsd: symbol' \
			"$work/err"
		case $* in
		*--with-lg-vaddr=57*)
			check_grep "$name: the radix tree for 57-bit addresses" \
				'radix tree: for 57-bit addresses (3 levels)' "$work/err"
			;;
		esac
		if grep -q 'no symbols for jemalloc' "$work/err"; then
			fail "$name: coreheap says jemalloc has no symbols"
		fi
	else
		fail "$name: no core of jemalloc_mixed"
	fi

	# jemalloc_prof calls malloc and friends by their plain names, and
	# sets malloc_conf: the prefixed ones here.
	prof=$work/jemalloc_prof-$name
	if link "$name" "$prof" -Dmalloc="${api}malloc" \
		-Dcalloc="${api}calloc" -Drealloc="${api}realloc" \
		-Dposix_memalign="${api}posix_memalign" \
		-Daligned_alloc="${api}aligned_alloc" \
		-Dmalloc_conf="${api}malloc_conf" \
		"$SRCDIR/fixtures/jemalloc_prof.c" &&
		make_core "$prof" "$work/prof-$name"; then
		design=$work/prof-$name.live
		check_alloc_stacks "$name"
	else
		fail "$name: no core of jemalloc_prof"
	fi
}

check_build je je_ --with-jemalloc-prefix=je_ --with-lg-vaddr=48
check_build rjem _rjem_ --with-jemalloc-prefix=_rjem_ \
	--with-private-namespace=_rjem_ --with-lg-vaddr=57
finish
