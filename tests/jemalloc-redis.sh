#!/bin/sh
# SPDX-License-Identifier: MIT
# A real program on jemalloc: Debian's redis-server, unmodified (it loads
# Debian's libjemalloc.so.2 and calls malloc, calloc, realloc, free,
# malloc_usable_size, nallocx and mallctl from it), with the recorder
# preloaded (fixtures/recorder_preload.so: every malloc-family call of the
# process goes through it to jemalloc, and it keeps the live set). The
# test starts redis on 127.0.0.1, loads it over its own protocol (strings
# of many sizes, lists, hashes, sets, sorted sets, appends, deletes, and
# enough parallel clients to wake its I/O threads), dumps it with gcore and
# stops it by pid. The truth is the recorder's table as the core holds it
# (tests/recorded-liveset.py), taken only from a core where no thread was
# inside the malloc family: coreheap must list exactly that set.
. "$SRCDIR/tests/lib.sh"
test_init jemalloc-redis FIXTURES TESTS_BUILDDIR
require_command redis-server redis-cli redis-benchmark gdb gcore python3

redis=$(command -v redis-server)
preload=$FIXTURES/recorder_preload.so
[ -f "$preload" ] || { fail "no $preload (make check builds it)"; finish; }
# The recorder sees jemalloc's callers only where the malloc family is
# looked up dynamically; a redis with jemalloc linked in would need another
# truth.
if readelf -d "$redis" | grep -q 'NEEDED.*libjemalloc\.so'; then
	ok "$redis loads libjemalloc.so dynamically"
else
	fail "$redis does not load libjemalloc.so: the preloaded recorder cannot see its allocations"
	finish
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis: redis-server on a free port of 127.0.0.1 with the recorder
# preloaded; sets $port and $redis_pid. Another process may take the port
# between free_port and redis's bind: then try another.
start_redis() {
	for attempt in 1 2 3; do
		port=$(free_port)
		LD_PRELOAD=$preload "$redis" --port "$port" --bind 127.0.0.1 \
			--protected-mode yes --save '' --appendonly no \
			--io-threads 3 --io-threads-do-reads yes \
			--dir "$work" --logfile "$work/redis.log" \
			--daemonize no > "$work/redis.out" 2>&1 &
		redis_pid=$!
		ch_lib_pids="$ch_lib_pids $redis_pid"
		tries=200
		while [ $tries -gt 0 ] && kill -0 "$redis_pid" 2> /dev/null; do
			[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2> /dev/null)" = PONG ] &&
				return 0
			tries=$((tries - 1))
			sleep 0.1
		done
		kill -KILL "$redis_pid" 2> /dev/null
		wait "$redis_pid" 2> /dev/null
	done
	return 1
}

# The workload in redis's protocol (RESP) on stdout, its number of
# commands in $work/commands.
workload() {
	awk -v ORS= -v count_file="$work/commands" 'BEGIN {
	n = split("0 1 7 8 9 15 16 17 24 31 32 33 44 45 48 60 64 100 128 " \
		  "200 256 300 448 512 700 1024 1500 2048 3000 4096 5000 " \
		  "8192 10000 14336 16384 20000 40000 65536 100000 262144 " \
		  "1048576 4194304", sizes, " ")
	# Strings of every size above, three of each below 64 KiB.
	for (i = 1; i <= n; i++)
		for (j = 0; j < (sizes[i] < 65536 ? 3 : 1); j++)
			cmd3("SET", "str:" sizes[i] ":" j, repeat("s", sizes[i]))
	# Appends grow strings through realloc.
	for (i = 1; i <= n; i += 3)
		for (k = 0; k < 4; k++)
			cmd3("APPEND", "str:" sizes[i] ":0", repeat("a", 37 * k + 5))
	# Lists: small ones (one listpack node), long ones (many nodes).
	for (l = 0; l < 20; l++)
		for (e = 0; e < (l < 15 ? 10 : 600); e++)
			cmd3("RPUSH", "list:" l, repeat("e", (e * 13 + l) % 300))
	# Hashes: small ones (listpack) and big ones (hash tables).
	for (h = 0; h < 20; h++)
		for (f = 0; f < (h < 15 ? 8 : 400); f++)
			cmd4("HSET", "hash:" h, "field:" f, repeat("v", (f * 7 + h) % 90))
	# Sets: of integers (intset) and of strings (hash tables).
	for (s = 0; s < 10; s++)
		for (m = 0; m < 300; m++)
			cmd3("SADD", (s < 5 ? "ints:" : "set:") s,
			     s < 5 ? m * 1000003 : "member:" m ":" repeat("m", m % 50))
	# A sorted set big enough for a skiplist.
	for (z = 0; z < 500; z++)
		cmd4("ZADD", "zset", z * 1.5, "z:" z)
	# Deletes: whole keys and parts of them.
	for (i = 1; i <= n; i++)
		cmd2("DEL", "str:" sizes[i] ":1")
	cmd2("DEL", "list:16"); cmd2("DEL", "hash:17"); cmd2("DEL", "set:7")
	for (e = 0; e < 250; e++) cmd2("LPOP", "list:18")
	for (f = 0; f < 300; f += 2) cmd3("HDEL", "hash:18", "field:" f)
	for (m = 0; m < 300; m += 3) cmd3("SREM", "set:8", "member:" m ":" repeat("m", m % 50))
	for (z = 0; z < 500; z += 4) cmd3("ZREM", "zset", "z:" z)
	# Keys with a time to live (the expires dict), far in the future.
	for (i = 1; i <= n; i += 2) cmd3("EXPIRE", "str:" sizes[i] ":2", 100000)
	printf "%d\n", commands > count_file
	}
	function repeat(c, len,   r) {
		# By doubling: mawk caps sprintf at 8 KiB.
		if (len == 0) return ""
		for (r = c; length(r) < len; r = r r) ;
		return substr(r, 1, len)
	}
	# printf only for short text, print for the values (mawk, as above).
	function bulk(s) { printf "$%d\r\n", length(s); print s; printf "\r\n" }
	function cmd2(a, b) { commands++; printf "*2\r\n"; bulk(a); bulk(b) }
	function cmd3(a, b, c) { commands++; printf "*3\r\n"; bulk(a); bulk(b); bulk(c) }
	function cmd4(a, b, c, d) { commands++; printf "*4\r\n"; bulk(a); bulk(b); bulk(c); bulk(d) }'
}

start_redis || {
	fail "redis-server did not answer PING on 127.0.0.1"
	cat "$work/redis.out" "$work/redis.log" 2> /dev/null
	finish
}
ok "redis-server $redis_pid answers on 127.0.0.1:$port"

workload > "$work/workload.resp" || fail "the workload's awk script failed"
redis-cli -h 127.0.0.1 -p "$port" --pipe < "$work/workload.resp" > "$work/pipe.out" 2>&1
if grep -q "errors: 0, replies: $(cat "$work/commands")\$" "$work/pipe.out"; then
	ok "workload: $(cat "$work/commands") commands, every one answered"
else
	fail "redis-cli --pipe of $(cat "$work/commands") commands"
	cat "$work/pipe.out"
fi
# Sixteen clients at once: redis hands their reads and writes to its I/O
# threads (it does only when there are twice as many clients as threads).
if redis-benchmark -h 127.0.0.1 -p "$port" -c 16 -n 1000 -r 500 -d 200 \
	-t set,lpush -q > "$work/benchmark.out" 2>&1; then
	ok "parallel clients"
else
	fail "redis-benchmark"
	cat "$work/benchmark.out"
fi
threaded=$(redis-cli -h 127.0.0.1 -p "$port" info stats |
	sed -n 's/^io_threaded_reads_processed:\([0-9]*\).*/\1/p')
if [ "${threaded:-0}" -gt 0 ]; then
	ok "the I/O threads read $threaded requests"
else
	fail "the I/O threads read no request (io_threaded_reads_processed: ${threaded:-none})"
fi

# A core where a thread was inside the recorder has table and heap out of
# step: take another (redis's timer keeps allocating now and then).
core=
for attempt in 1 2 3 4 5; do
	take_gcore "$redis_pid" "$work/redis" || break
	gdb -batch -ex "python out = '$work/recorded.live'" \
		-x "$SRCDIR/tests/recorded-liveset.py" "$redis" "$core" \
		> "$work/recorded.log" 2>&1
	recorded=$(grep '^recorded: ' "$work/recorded.log")
	case $recorded in
	*" 0 calls in progress, 0 anomalies, overflowed: no") break ;;
	*" calls in progress, 0 anomalies, overflowed: no")
		rm -f "$core"; core= ;;
	*) break ;;
	esac
done
kill -TERM "$redis_pid" 2> /dev/null
wait "$redis_pid" 2> /dev/null
case $recorded in
*" 0 calls in progress, 0 anomalies, overflowed: no")
	ok "$recorded" ;;
*)
	fail "no usable recording in a core of redis: ${recorded:-see below}"
	cat "$work/recorded.log"
	finish ;;
esac

"$COREHEAP" objects --format jsonl "$core" > "$work/objects.jsonl" 2> "$work/objects.err"
status=$?
if [ $status -eq 0 ]; then
	ok "coreheap objects on the redis core"
else
	fail "coreheap objects on the redis core exited $status"
	cat "$work/objects.err"
fi
if "$TESTS_BUILDDIR/liveset_diff" "$work/recorded.live" "$work/objects.jsonl" \
	jemalloc > "$work/diff" 2>&1; then
	ok "every allocation redis holds, exactly ($(wc -l < "$work/recorded.live"))"
else
	fail "coreheap's allocations differ from the recording (first lines of $work/diff):"
	head -n 40 "$work/diff"
fi
run_ok "summary of the redis core" summary "$core"
check_grep "the summary names jemalloc" 'jemalloc' "$work/out"
finish
