# shellcheck shell=bash
# Valgrind for the test runners: with VALGRIND=1 every chat-send and
# chat-gateway a test starts runs under memcheck (tests/lib/system.js
# prepends CHAT_WRAPPER), one log per process in OUT_DIR.
#   valgrind_begin OUT_DIR TAG   clear TAG's old logs, export CHAT_WRAPPER
#   valgrind_verdict OUT_DIR TAG print every log with an error or a definite
#                                leak; echo how many (1 if none was written)

valgrind_begin() {
    local out=$1 tag=$2
    rm -f "$out"/valgrind."$tag".*.log
    export CHAT_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --log-file=$out/valgrind.$tag.%p.log"
}

valgrind_verdict() {
    local out=$1 tag=$2 bad=0 log
    if ! compgen -G "$out/valgrind.$tag.*.log" >/dev/null; then
        echo "valgrind: no logs written (was CHAT_WRAPPER used?)" >&2
        echo 1
        return
    fi
    for log in "$out"/valgrind."$tag".*.log; do
        # With --errors-for-leak-kinds=definite a definite leak is counted
        # in the error summary; the second test catches a log cut short.
        if grep -qE 'ERROR SUMMARY: [1-9]' "$log" ||
            grep -qE 'definitely lost: [1-9]' "$log"; then
            echo "valgrind: errors or definite leaks in $log" >&2
            cat "$log" >&2
            bad=$((bad + 1))
        fi
    done
    echo "valgrind: $(find "$out" -maxdepth 1 -name "valgrind.$tag.*.log" | wc -l) server logs, $bad with errors or definite leaks" >&2
    echo "$bad"
}
