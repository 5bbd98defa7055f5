#!/usr/bin/env bash
# Re-measure the baseline set that the CI gate compares against
# (results/baseline/ci/: several `ci` runs, so the gate knows how much a
# figure moves from run to run as well as within one), on a quiet machine.
# Usage: scripts/refresh-baseline.sh [RUNS, default 5]; then review and commit
# results/baseline/ci/. A set belongs to the machine it was recorded on (its
# CPU model, cores, memory and kernel build: written to MACHINE.json beside
# the runs); on another machine `compare` prints its verdicts as advice. Every
# run comes from one clean commit. Refresh it when the machine, the runtimes
# or the image change on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
runs=${1:-5}
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
    echo "refresh-baseline: the work tree has uncommitted changes; a baseline comes from one clean commit" >&2
    exit 2
fi
commit=$(git rev-parse HEAD)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
kept=0
attempts=0
while (( kept < runs && attempts < 3 * runs )); do
    attempts=$((attempts + 1))
    rm -f "$out"/*.json
    # The last run's own load: let the 1-minute load average fall below half a
    # CPU per CPU (the busy-machine mark), at most 3 minutes.
    for _ in $(seq 1 36); do
        "$python" -c 'import os, sys; sys.exit(os.getloadavg()[0] > 0.45 * os.cpu_count())' && break
        sleep 5
    done
    "$python" -m harness run --profile ci --out "$out"
    file=$(ls "$out"/2*-ci.json)
    # Refuse a run that was disturbed or faked: the baseline must be real and quiet.
    if "$python" - "$file" "$commit" <<'PY'
import sys
from harness.findings.compare import busy_machine
from harness.results.store import load

run = load(sys.argv[1])
problems = [p for p in (run.status != "complete" and f"status {run.status}",
                        run.injected and "injected faults", busy_machine(run),
                        run.provenance.dirty and "a dirty work tree",
                        run.provenance.commit != sys.argv[2] and f"commit {run.provenance.commit}") if p]
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
"$python" - results/baseline/ci.new "$commit" <<'PY'
import datetime
import json
import sys
from pathlib import Path

from harness.commands.compare import load_baselines

folder, commit = Path(sys.argv[1]), sys.argv[2]
runs = load_baselines(str(folder))
record = {"machine": runs[0].machine.identity, "hostname": runs[0].machine.hostname,
          "cpu_idle": {k: v for k, v in runs[0].machine.to_json()["cpu_idle"].items() if k in ("driver", "governor")},
          "commit": commit, "runs": len(runs), "written": datetime.datetime.now(datetime.timezone.utc).isoformat(),
          "load_average_at_start": [run.provenance.load_average[0] for run in runs]}
(folder / "MACHINE.json").write_text(json.dumps(record, indent=2) + "\n")
PY
rm -rf results/baseline/ci && mv results/baseline/ci.new results/baseline/ci
echo "refresh-baseline: wrote $runs runs to results/baseline/ci/; review and commit them"
