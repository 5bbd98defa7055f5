#!/bin/sh
# `tox -e bench`: the full profile on every backend, the containment matrix,
# and the report of both in report/latest/. Extra arguments go to `run`
# (e.g. `tox -e bench -- --backends isolate,subprocess`). The run's own exit
# status is kept; bad input (2) writes no results, so no report either.
# The run's results file is kept gzip-compressed (the full profile's raw
# samples are about 100 MB of JSON, 18 MB compressed) and the report is built
# from it, so a clone can rebuild the report from what is committed.
started=$(mktemp)
trap 'rm -f "$started"' EXIT
python -m harness run --profile full --backends all --out results "$@"
status=$?
[ "$status" -eq 2 ] && exit 2
# The file this run wrote (none if it recorded nothing), never an older one.
run_file=$(find results -maxdepth 1 -name '2*.json' -newer "$started" | sort | tail -n 1)
if [ -z "$run_file" ]; then
    echo "bench: the run wrote no results file; no report" >&2
    exit "$status"
fi
gzip -f "$run_file" && run_file="$run_file.gz"
python -m harness contain --out results || echo "bench: contain exited $?; the report has no isolation matrix unless it saved one" >&2
containment=""
# Only a matrix made by this bench (newer than the run), never a stale one.
contain_file=$(ls -t results/containment-2*.json 2>/dev/null | head -n 1)
if [ -n "$contain_file" ] && [ "$contain_file" -nt "$run_file" ]; then
    containment="--containment $contain_file"
fi
# shellcheck disable=SC2086
python -m harness report "$run_file" $containment --out report/latest || exit $?
exit "$status"
