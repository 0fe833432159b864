#!/usr/bin/env bash
# The single entry point. ./build.sh help lists the commands.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

BUILD_PKGS=(build-essential pkg-config libfcgi-dev libhiredis-dev
    libwebsockets-dev libjansson-dev)
RUN_PKGS=(lighttpd lighttpd-modules-lua redis-server redis-tools curl)
TEST_PKGS=(chromium fonts-dejavu-core clang libclang-rt-14-dev yamllint
    shellcheck clang-format valgrind wrk jq docker.io mmdebstrap iproute2
    procps psmisc iptables prometheus)

say() { printf '%s\n' "$*" >&2; }

# Install whatever of the named Debian packages is missing.
need_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

# Node is on many machines already; only fall back to Debian's when absent.
need_node_modules() {
    command -v node >/dev/null || need_pkgs nodejs npm
    if [ ! -d tests/node_modules ] ||
        [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
        (cd tests && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

build() {
    local mode=${1:-asan}
    need_pkgs "${BUILD_PKGS[@]}"
    make -s -j"$(nproc)" BUILD="$mode" all
}

cmd_run() {
    need_pkgs "${BUILD_PKGS[@]}" "${RUN_PKGS[@]}"
    build release
    exec tools/run-local.sh "$ROOT/build/release"
}

# Load drills left out of the memcheck pass of ./build.sh test: they
# run under ASan in the integration suite.
VALGRIND_SKIP='^(fault_history_storm|fault_slow_reader)\.test\.js$'

# Run one test runner, keep its output, and add its closing
# "N passed, N failed" line to the totals.
TOTAL_PASS=0
TOTAL_FAIL=0
run_suite() {
    local name=$1
    shift
    local log="$ROOT/tests/out/$name.log" rc=0 line p f start=$SECONDS
    say "=== $name"
    "$@" 2>&1 | tee "$log" || rc=$?
    say "=== $name took $((SECONDS - start)) s"
    line=$(grep -E '([0-9]+) passed, ([0-9]+) failed' "$log" | tail -n 1 || true)
    p=0
    f=0
    if [[ $line =~ (^|[^0-9])([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        p=${BASH_REMATCH[2]}
        f=${BASH_REMATCH[3]}
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        say "$name exited with $rc"
        f=1
    fi
    if [ -z "$line" ]; then
        say "$name printed no summary"
        f=$((f + 1))
    fi
    TOTAL_PASS=$((TOTAL_PASS + p))
    TOTAL_FAIL=$((TOTAL_FAIL + f))
}

unit_tests() {
    local src t p=0 f=0 out line
    for src in tests/unit/test_*.c; do
        t=build/asan/tests/$(basename "$src" .c)
        if [ ! -x "$t" ]; then
            say "$t was not built"
            f=$((f + 1))
            continue
        fi
        out=$("$t" 2>&1) || true
        printf '%s\n' "$out"
        line=$(tail -n 1 <<<"$out")
        if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
            p=$((p + BASH_REMATCH[1]))
            f=$((f + BASH_REMATCH[2]))
        else
            say "$t: no summary (crashed?)"
            f=$((f + 1))
        fi
    done
    echo "$p passed, $f failed"
    [ "$f" -eq 0 ]
}

# No two modules include each other: a module is X.c with X.h, and it uses
# Y when either file includes "Y.h" (from its own folder, or common/).
include_cycles() {
    local file dep target
    for file in "$@"; do
        sed -nE 's/^#include "([^"]+)\.h".*/\1/p' "$file" | while read -r dep; do
            target=$(dirname "$file")/$dep
            [ -f "$target.h" ] || target=common/$dep
            [ -f "$target.h" ] && printf '%s %s\n' "${file%.*}" "$target"
        done
    done | sort -u | awk '$1 != $2 { edge[$1 " " $2] = 1 }
        END { for (e in edge) { split(e, m, " ")
            if ((m[2] " " m[1]) in edge && m[1] < m[2])
                print m[1] " and " m[2] " include each other" } }'
}

style_checks() {
    local p=0 f=0 files cycles
    mapfile -t files < <(git ls-files '*.c' '*.h')
    if clang-format --dry-run -Werror "${files[@]}"; then
        p=$((p + 1))
    else
        f=$((f + 1))
    fi
    # curl's idea: unsafe functions are banned outright.
    # A call, not the word: "gets" is common English in comments.
    if grep -nE '\<(v?sprintf|strcpy|strcat|strtok|atoi|gets)[[:space:]]*\(' \
        "${files[@]}"; then
        say "banned function used"
        f=$((f + 1))
    else
        p=$((p + 1))
    fi
    cycles=$(include_cycles "${files[@]}")
    if [ -n "$cycles" ]; then
        say "$cycles"
        f=$((f + 1))
    else
        p=$((p + 1))
    fi
    local scripts
    mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
    if shellcheck -f gcc "${scripts[@]}"; then
        p=$((p + 1))
    else
        f=$((f + 1))
    fi
    echo "$p passed, $f failed"
    [ "$f" -eq 0 ]
}

cmd_test() {
    need_pkgs "${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${TEST_PKGS[@]}"
    need_node_modules
    mkdir -p tests/out
    rm -f tests/out/asan.*
    build asan
    run_suite style style_checks
    run_suite unit unit_tests
    # The page's pure JavaScript (htdocs/core/) under node:test.
    run_suite page tests/page/run.sh
    local s
    for s in integration browser fuzz k8s monitoring docker; do
        if [ -x "tests/$s/run.sh" ]; then
            run_suite "$s" "tests/$s/run.sh" "$ROOT/build/asan"
        fi
    done
    # Every part on a node of its own (network and time namespaces, its
    # own resolver) and the fault drills between them; needs root.
    run_suite netbed tests/netbed/run.sh "$ROOT/build/asan"
    # The integration tests once more with both servers under memcheck
    # (./build.sh test-valgrind adds the browser tests and the load drills).
    # Memcheck adds what ASan lacks, reads of uninitialised memory, so it
    # needs each code path once, not the load drills that run the same
    # paths for minutes. Under memcheck every wait is stretched tenfold, so
    # two files at once are safe and keep both cores busy.
    build debug
    run_suite integration-valgrind env VALGRIND=1 TEST_SKIP="$VALGRIND_SKIP" \
        CHAT_TEST_CONCURRENCY=2 tests/integration/run.sh "$ROOT/build/debug"
    # Sanitizer reports from FastCGI children would vanish into lighttpd's
    # log; every server writes them under tests/out instead.
    if ls tests/out/asan.* >/dev/null 2>&1; then
        say "sanitizer reports:"
        cat tests/out/asan.* >&2
        TOTAL_FAIL=$((TOTAL_FAIL + 1))
    fi
    echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
    [ "$TOTAL_FAIL" -eq 0 ]
}

# Every suite that starts our servers, with both under memcheck.
cmd_test_valgrind() {
    need_pkgs "${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${TEST_PKGS[@]}"
    need_node_modules
    mkdir -p tests/out
    build debug
    run_suite integration-valgrind env VALGRIND=1 \
        tests/integration/run.sh "$ROOT/build/debug"
    run_suite browser-valgrind env VALGRIND=1 \
        tests/browser/run.sh "$ROOT/build/debug"
    echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
    [ "$TOTAL_FAIL" -eq 0 ]
}

cmd_help() {
    cat <<'TXT'
./build.sh run              install, build and run the whole chat on :30222
./build.sh test             install, build with sanitizers, run every test
./build.sh build [MODE]     build only (asan | release | debug)
./build.sh test-valgrind    integration and browser tests, servers under valgrind
./build.sh fuzz [SECONDS]   run every fuzzer for SECONDS each
./build.sh bench send|fanout|compare|profile [quick]  benchmarks that print figures
TXT
}

case "${1:-help}" in
run) cmd_run ;;
test) cmd_test ;;
build) build "${2:-asan}" ;;
test-valgrind) cmd_test_valgrind ;;
fuzz)
    need_pkgs "${BUILD_PKGS[@]}" clang libclang-rt-14-dev
    tests/fuzz/run.sh "${2:-60}"
    ;;
bench)
    need_pkgs "${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" wrk
    # The peer the comparison runs beside ours, and the plot.
    case ${2:-} in
    compare) need_pkgs nginx libnginx-mod-nchan gnuplot-nox fonts-dejavu-core ;;
    profile) need_pkgs nginx libnginx-mod-nchan linux-perf ;;
    esac
    need_node_modules
    build release
    exec "tests/bench/${2:?bench send|fanout|compare|profile}.sh" "$ROOT/build/release" \
        "${@:3}"
    ;;
help | -h | --help) cmd_help ;;
*)
    cmd_help
    exit 2
    ;;
esac
