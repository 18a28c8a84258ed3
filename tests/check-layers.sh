#!/bin/sh
# The data flows one way: a stage of src/ includes only its own headers and
# those of the stages below it, and a plugin under allocators/ includes only
# the public header (and its own). Fails naming each include that goes up.
# The order of the stages is src/README's.
set -eu
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
stages="base core heap types graph report cli"

rank() {
	i=0
	for s in $stages; do
		[ "$s" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo -1
}

# Prints each include of the tree at $1 that breaks the rule; 1 if any.
check_tree() {
root=$1
for dir in "$root"/src/*/; do
	stage=$(basename "$dir")
	own=$(rank "$stage")
	if [ "$own" -lt 0 ]; then
		echo "src/$stage: a folder that is no stage (add it to $0 and src/README)"
		status=1
		continue
	fi
	for file in "$dir"*.[ch]; do
		[ -e "$file" ] || continue
		grep -n '^#[[:space:]]*include[[:space:]]*"' "$file" |
		while IFS= read -r line; do
			target=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
			case $target in
			coreheap/plugin.h|config.h) continue ;;
			*/*) ;;
			*) echo "src/$stage/$(basename "$file"):${line%%:*}: \"$target\" names no stage"; echo x ;;
			esac
			to=$(rank "${target%%/*}")
			if [ "$to" -lt 0 ] || [ "$to" -gt "$own" ]; then
				echo "src/$stage/$(basename "$file"):${line%%:*}: includes \"$target\", a higher stage"
				echo x
			fi
		done
	done
done > layers.out
for file in "$root"/allocators/*/*.[ch]; do
	grep -n '^#[[:space:]]*include[[:space:]]*"' "$file" |
	while IFS= read -r line; do
		target=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
		case $target in
		coreheap/plugin.h|*/*) ;;
		*) [ -e "$(dirname "$file")/$target" ] && continue ;;
		esac
		[ "$target" = coreheap/plugin.h ] && continue
		echo "${file#"$root"/}:${line%%:*}: includes \"$target\"; a plugin sees only coreheap/plugin.h"
		echo x
	done
done >> layers.out
status=0
if grep -q '^x$' layers.out; then
	grep -v '^x$' layers.out
	status=1
fi
rm -f layers.out
return $status
}

# The check must be able to fail: a stage that includes a higher one, and a
# plugin that includes the host's headers, are both caught.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/src/core" "$scratch/src/cli" "$scratch/allocators/toy"
printf '#include "cli/options.h"\n' > "$scratch/src/core/bad.c"
printf '#include "heap/heap.h"\n' > "$scratch/allocators/toy/toy.c"
if (cd "$scratch" && check_tree "$scratch") > "$scratch/out"; then
	echo "self-check: a core file including cli/ was not caught"; exit 1
fi
grep -q 'src/core/bad.c:1: includes "cli/options.h"' "$scratch/out" ||
	{ echo "self-check: wrong report:"; cat "$scratch/out"; exit 1; }
grep -q 'allocators/toy/toy.c:1: includes "heap/heap.h"' "$scratch/out" ||
	{ echo "self-check: plugin include not caught:"; cat "$scratch/out"; exit 1; }

cd "$scratch"
check_tree "$srcdir" || exit 1
echo "every include follows the stages: $stages"
