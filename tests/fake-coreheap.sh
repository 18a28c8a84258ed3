#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A stand-in for coreheap that cheats: for `objects --format jsonl CORE`
# it prints the live set the fixture recorded next to CORE (CORE minus
# ".core", plus ".live"), perturbed as FAKE_COREHEAP_PERTURB says:
#   none     exactly the recorded set (the exactness test must pass)
#   drop     without its first allocation          (must fail: missing)
#   add      plus one allocation 16 bytes past it  (must fail: extra)
#   resize   its first allocation 8 bytes larger   (must fail: wrong size)
#   exit     exact output, but exit status 1       (must fail)
#   badjson  the first size as a string            (must fail: bad output)
# Only for tests/selfcheck-fake-coreheap.sh: it proves the tests can fail.

set -u
core=${!#}
live=${core%.core}.live
mode=${FAKE_COREHEAP_PERTURB:-none}

[ "${1-}" = objects ] || { echo "fake-coreheap: only 'objects'" >&2; exit 2; }
[ -r "$live" ] || { echo "fake-coreheap: no $live" >&2; exit 2; }

first=true
while read -r address size; do
	if $first; then
		first=false
		case $mode in
		drop) continue ;;
		add) printf '{"address": "0x%x", "size": 24, "allocator": "glibc", "type": null}\n' $((address + 16)) ;;
		resize) size=$((size + 8)) ;;
		badjson)
			printf '{"address": "%s", "size": "%s", "allocator": "glibc", "type": null}\n' "$address" "$size"
			continue ;;
		esac
	fi
	printf '{"address": "%s", "size": %s, "allocator": "glibc", "type": null}\n' "$address" "$size"
done <"$live"
[ "$mode" != exit ]
