#!/bin/sh
# `tox -e bench`: the full profile on every backend (the hello worker), every
# workload on every backend (the workloads profile: the bundle-size sweep),
# the containment matrix, and the report of all three in report/latest/
# (report.md and report.html). Extra arguments go to both runs (e.g.
# `tox -e bench -- --backends isolate,subprocess`).
#
# The runs become the reference: their raw results (gzip-compressed) and the
# containment matrix replace the previous ones in results/reference/ (git
# history keeps those), and the full run's key figures are added to
# results/history/, a few KB per run, which `python -m harness history
# results/history` reads. The worst exit status of the two runs is kept; bad
# input (2) writes nothing, so no report.
started=$(mktemp)
trap 'rm -f "$started"' EXIT
python -m harness run --profile full --backends all --out results "$@"
status=$?
[ "$status" -eq 2 ] && exit 2
run_file=$(find results -maxdepth 1 -name '2*-full.json' -newer "$started" | sort | tail -n 1)
if [ -z "$run_file" ]; then
    echo "bench: the run wrote no results file; no report" >&2
    exit "$status"
fi
name=$(basename "$run_file" .json)
mkdir -p results/reference results/history
rm -f results/reference/2*-full.json.gz
gzip -c "$run_file" > "results/reference/$name.json.gz" && rm -f "$run_file"
run_file="results/reference/$name.json.gz"
python -m harness export --format key-figures "$run_file" --out "results/history/$name.json" ||
    echo "bench: could not write the run's history file" >&2
# Every workload, one run each, kept in one workload-set file.
workloads=""
python -m harness run --profile workloads --backends all --workload all --out results "$@"
workloads_status=$?
[ "$workloads_status" -gt "$status" ] && status=$workloads_status
set_file=$(find results -maxdepth 1 -name '2*-workloads-workloads.json' -newer "$started" | sort | tail -n 1)
if [ -n "$set_file" ]; then
    rm -f results/reference/2*-workloads-workloads.json.gz
    gzip -c "$set_file" > "results/reference/$(basename "$set_file").gz" && rm -f "$set_file"
    workloads="--workloads results/reference/$(basename "$set_file").gz"
else
    echo "bench: the workloads run wrote no workload set; the report has no bundle-size sweep" >&2
fi
containment=""
if python -m harness contain --out results/reference; then :; else
    echo "bench: contain exited $?; the report has no containment grid unless it saved one" >&2
fi
# Only a matrix made by this bench (newer than the run), never a stale one.
contain_file=$(ls -t results/reference/containment-2*.json 2>/dev/null | head -n 1)
if [ -n "$contain_file" ] && [ "$contain_file" -nt "$started" ]; then
    for old in results/reference/containment-2*.json; do [ "$old" = "$contain_file" ] || rm -f "$old"; done
    rm -f results/reference/containment-latest.json
    containment="--containment $contain_file"
fi
# shellcheck disable=SC2086
python -m harness report "$run_file" $containment $workloads --out report/latest || exit $?
exit "$status"
