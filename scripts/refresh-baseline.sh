#!/usr/bin/env bash
# Re-measure the baseline set that the CI gate compares against
# (results/baseline/ci/: several `ci` runs, so the gate knows how much a
# figure moves from run to run as well as within one), on a quiet machine.
# Usage: scripts/refresh-baseline.sh [RUNS, default 5]; then review and commit
# results/baseline/ci/. Refresh it when the machine, the runtimes or the image
# change on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
runs=${1:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
kept=0
attempts=0
while (( kept < runs && attempts < 3 * runs )); do
    attempts=$((attempts + 1))
    rm -f "$out"/*.json
    "$python" -m harness run --profile ci --out "$out"
    file=$(ls "$out"/2*-ci.json)
    # Refuse a run that was disturbed or faked: the baseline must be real and quiet.
    if "$python" - "$file" <<'PY'
import sys
from harness.analysis.compare import busy_machine
from harness.results.store import load

run = load(sys.argv[1])
problems = [p for p in (run.status != "complete" and f"status {run.status}",
                        run.injected and "injected faults", busy_machine(run)) if p]
if problems:
    sys.exit("refresh-baseline: not using this run: " + "; ".join(problems))
PY
    then
        (( kept == 0 )) && mkdir -p results/baseline/ci.new
        gzip -c "$file" > "results/baseline/ci.new/$(basename "$file").gz"
        kept=$((kept + 1))
    fi
done
if (( kept < runs )); then
    rm -rf results/baseline/ci.new
    echo "refresh-baseline: only $kept quiet run(s) of $runs; the baseline set is unchanged" >&2
    exit 1
fi
rm -rf results/baseline/ci && mv results/baseline/ci.new results/baseline/ci
echo "refresh-baseline: wrote $runs runs to results/baseline/ci/; review and commit them"
