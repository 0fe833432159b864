#!/usr/bin/env bash
# Build every libFuzzer harness tests/fuzz/fuzz_<name>.c with clang
# (ASan + UBSan) and run each on its seed corpus for a bounded time.
#
#   tests/fuzz/run.sh [SECONDS]   run each harness SECONDS (default 20)
#   tests/fuzz/run.sh BUILD_DIR   what ./build.sh test passes: brief CI mode,
#                                 the whole run stays under ~2 minutes
#
# Each harness links common/*.c plus the files named on its
# "fuzz-links:" comment lines; tests/fuzz/<name>.dict and <name>.options
# (extra libFuzzer flags) are used when present. New inputs the fuzzer finds go to
# tests/out/fuzz/corpus/<name>/ (kept between runs, never committed);
# crashes to tests/out/fuzz/crash/<name>-*. A harness passes when it
# builds and finds no crash. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
OUT=$ROOT/tests/out/fuzz
CI_BUDGET=100 # seconds of fuzzing in brief CI mode, all harnesses together
CI_MAX=20     # seconds per harness in brief CI mode

mapfile -t HARNESSES < <(ls tests/fuzz/fuzz_*.c 2>/dev/null)
if [ ${#HARNESSES[@]} -eq 0 ]; then
    echo "no harnesses in tests/fuzz"
    echo "0 passed, 1 failed"
    exit 1
fi

arg=${1:-$CI_MAX}
if [[ $arg =~ ^[0-9]+$ ]]; then
    SECONDS_EACH=$arg
elif [ -d "$arg" ]; then
    SECONDS_EACH=$((CI_BUDGET / ${#HARNESSES[@]}))
    [ "$SECONDS_EACH" -gt "$CI_MAX" ] && SECONDS_EACH=$CI_MAX
    [ "$SECONDS_EACH" -lt 5 ] && SECONDS_EACH=5
else
    echo "usage: $0 [SECONDS | BUILD_DIR]" >&2
    exit 2
fi

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null; then
    echo "$CC not found (./build.sh fuzz installs clang libclang-rt-14-dev)"
    echo "0 passed, ${#HARNESSES[@]} failed"
    exit 1
fi

# The project's warnings (Makefile WARN) plus the fuzzer and sanitizers.
# clang's -Wcast-align also fires on x86 (gcc's only on strict-alignment
# targets), e.g. on lws_container_of(); it is off to match what gcc checks.
# shellcheck disable=SC2054 # the commas belong to -fsanitize=
CFLAGS=(-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wwrite-strings -Wformat=2 -Wpointer-arith
    -Wcast-align -Wvla -Wno-missing-field-initializers -Wno-cast-align
    -O1 -g -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    -D_GNU_SOURCE -iquote common -iquote fcgi -iquote gateway -iquote tests/fuzz)
read -ra PC <<<"$(pkg-config --cflags --libs jansson hiredis libwebsockets)"

mkdir -p "$OUT/bin" "$OUT/crash" "$OUT/corpus"

# Extra sources a harness names on its "fuzz-links:" lines.
links_of() {
    sed -n 's/.*fuzz-links:\(.*\)$/\1/p' "$1" | tr -s ' ' '\n' | grep -v '^$'
}

build_harness() {
    local src=$1 bin=$2 extra
    mapfile -t extra < <(links_of "$src")
    "$CC" "${CFLAGS[@]}" -o "$bin" "$src" common/*.c "${extra[@]}" "${PC[@]}"
}

# Run one harness; prints its line and returns non-zero on a crash.
run_harness() {
    local name=$1 bin=$2 execs crashes rc=0 more=()
    local log=$OUT/$name.log
    local opts=(-max_total_time="$SECONDS_EACH" -timeout=10
        -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$OUT/crash/$name-")
    [ -f "tests/fuzz/$name.dict" ] && opts+=(-dict="tests/fuzz/$name.dict")
    # Extra libFuzzer flags, e.g. -max_len to reach past a size limit.
    [ -f "tests/fuzz/$name.options" ] &&
        read -ra more <"tests/fuzz/$name.options" && opts+=("${more[@]}")
    mkdir -p "$OUT/corpus/$name"
    rm -f "$OUT/crash/$name"-*
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" "${opts[@]}" "$OUT/corpus/$name" "tests/fuzz/corpus/$name" \
        >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    crashes=$(find "$OUT/crash" -name "$name-*" | wc -l)
    printf '%-12s %10s execs in %ss, %s crash(es), corpus %s\n' \
        "$name" "${execs:-?}" "$SECONDS_EACH" "$crashes" \
        "$(find "$OUT/corpus/$name" -type f | wc -l)"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        grep -E 'ERROR: |runtime error|fuzz invariant|SUMMARY|^    #[0-9]' \
            "$log" | head -n 30
        find "$OUT/crash" -name "$name-*" -exec \
            echo "  reproduce: $bin {}" \;
        return 1
    fi
}

# Build and run one harness; its report goes to $OUT/<name>.result and
# its verdict (0 passed) to $OUT/<name>.rc.
fuzz_one() {
    local src=$1 name bin rc=0
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    bin=$OUT/bin/fuzz_$name
    {
        if ! build_harness "$src" "$bin" >"$OUT/$name.build.log" 2>&1; then
            echo "$name: build failed"
            head -n 20 "$OUT/$name.build.log"
            rc=1
        else
            run_harness "$name" "$bin" || rc=1
        fi
    } >"$OUT/$name.result" 2>&1
    echo "$rc" >"$OUT/$name.rc"
}

# One harness per core at a time: each is single-threaded, and the time
# each one fuzzes is fixed, so the wall time shrinks and the work does not.
JOBS=${FUZZ_JOBS:-$(nproc)}
rm -f "$OUT"/*.rc "$OUT"/*.result
running=0
for src in "${HARNESSES[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    fuzz_one "$src" &
    running=$((running + 1))
done
wait

pass=0
fail=0
for src in "${HARNESSES[@]}"; do
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    cat "$OUT/$name.result"
    if [ "$(cat "$OUT/$name.rc" 2>/dev/null)" = 0 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
