# Shared by the shell test runners (k8s, monitoring, docker): one "ok" or
# "FAIL" line per check, counted for the closing "N passed, N failed".
# shellcheck shell=bash
PASS=0
FAIL=0
ok() {
    PASS=$((PASS + 1))
    echo "ok   $*"
}
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL $*"
}
indent() { sed 's/^/    /'; }
# Print a command's output indented, return its status.
show() {
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    [ -n "$out" ] && indent <<<"$out"
    return "$rc"
}
