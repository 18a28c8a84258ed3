## Where cores and debug info come from (issue 13): the command line in
## GNU order, compressed cores and cores on standard input, systemd-
## coredump's store, debug files under a sysroot, and a debuginfod server.
TESTS += tests/cli-options.sh tests/compressed-cores.sh \
	tests/coredump-store.sh tests/sysroot-debug.sh tests/debuginfod.sh
EXTRA_DIST += tests/cli-options.sh tests/compressed-cores.sh \
	tests/coredump-store.sh tests/sysroot-debug.sh tests/debuginfod.sh
