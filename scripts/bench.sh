#!/bin/sh
# `tox -e bench`: the full profile on every backend, the containment matrix,
# and the report of both in report/latest/. Extra arguments go to `run`
# (e.g. `tox -e bench -- --backends isolate,subprocess`). The run's own exit
# status is kept; bad input (2) writes no results, so no report either.
python -m harness run --profile full --backends all --out results "$@"
status=$?
[ "$status" -eq 2 ] && exit 2
python -m harness contain --out results || echo "bench: contain exited $?; the report has no isolation matrix unless it saved one" >&2
containment=""
# Only a matrix made by this bench (newer than the run), never a stale one.
if [ results/containment-latest.json -nt results/latest.json ]; then
    containment="--containment results/containment-latest.json"
fi
# shellcheck disable=SC2086
python -m harness report results/latest.json $containment --out report/latest || exit $?
exit "$status"
