#!/bin/sh
# tests/fuzz/run.sh — runs the libFuzzer targets built by tests/fuzz/fuzz.mk, JOBS at a time.
#
#   run.sh MODE SECONDS JOBS BUILD_DIR TARGET:MAX_LEN...
#
# MODE smoke first replays each committed corpus tests/fuzz/corpus/<target>/ (-runs=0: every
# file is executed once, nothing is generated), then fuzzes; MODE fuzz only fuzzes. Fuzzing
# starts from a scratch copy of the corpus under BUILD_DIR/scratch/, so new inputs never land in
# the repository. One summary line per target; the log's tail when a target fails. Exit status
# 1 if any target failed.
set -u
mode=$1 seconds=$2 jobs=$3 build=$4
shift 4
dir=$(dirname "$0")
mkdir -p "$build/logs" "$build/artifacts" "$build/scratch"

# Runs one target; prints its summary line; exit status 0 on success.
run_one() {
    target=${1%%:*} max_len=${1#*:}
    bin=$build/$target corpus=$dir/corpus/$target log=$build/logs/$target.log
    dict=$dir/dict/${target%_fuzz}.dict
    set -- -artifact_prefix="$build/artifacts/$target-" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    [ -f "$dict" ] && set -- "$@" -dict="$dict"
    start=$(date +%s)
    if [ "$mode" = smoke ]; then
        files=$(ls "$corpus" 2>/dev/null | wc -l)
        if ! "$bin" "$@" -runs=0 "$corpus" >"$log.replay" 2>&1; then
            echo "FAIL $target: corpus replay ($log.replay):"; tail -n 40 "$log.replay"; return 1
        fi
    fi
    scratch=$build/scratch/$target
    rm -rf "$scratch" && mkdir -p "$scratch" && cp "$corpus"/* "$scratch"/ 2>/dev/null
    if ! "$bin" "$@" -max_len="$max_len" -max_total_time="$seconds" "$scratch" >"$log" 2>&1; then
        echo "FAIL $target ($log):"; tail -n 60 "$log"; return 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
    units=$(ls "$scratch" | wc -l)
    replay=""
    [ "$mode" = smoke ] && replay="replayed $files, "
    printf 'ok   %-20s %s%s runs, %s exec/s, %s, corpus %s, %ss\n' \
        "$target" "$replay" "$runs" "$rate" "$cov" "$units" "$(( $(date +%s) - start ))"
}

# A simple job pool: start up to $jobs runs, collect their status files.
status_dir=$(mktemp -d "$build/status.XXXXXX")
i=0
for spec in "$@"; do
    while [ "$(ls "$status_dir" | grep -c '\.running$')" -ge "$jobs" ]; do sleep 0.2; done
    i=$((i + 1))
    touch "$status_dir/$i.running"
    ( out=$(run_one "$spec"); rc=$?; echo "$out"; echo $rc >"$status_dir/$i.rc"; rm -f "$status_dir/$i.running" ) &
done
wait
failed=0
for f in "$status_dir"/*.rc; do [ "$(cat "$f")" = 0 ] || failed=1; done
rm -rf "$status_dir"
exit $failed
