#!/usr/bin/env bash
# Refresh the committed baseline (results/baseline/quick.json) that .ci/run
# compares against: one quick-profile run of every backend, on a quiet machine.
# Usage: scripts/refresh-baseline.sh [extra `harness run` options]; then commit
# results/baseline/quick.json.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$python" -m harness run --profile quick --backends isolate,subprocess,container --out "$out" "$@"
# Refuse a run that was disturbed or faked: the baseline must be a real, quiet run.
"$python" - "$out/latest.json" <<'EOF'
import sys
from harness.analysis.compare import busy_machine
from harness.analysis.figures import injected
from harness.results.store import load

results = load(sys.argv[1])
problems = [p for p in (results.status != "complete" and f"status {results.status}",
                        injected(results) and f"injected faults {injected(results)}",
                        busy_machine(results) and f"busy machine ({busy_machine(results)})") if p]
if problems:
    sys.exit("refresh-baseline: not using this run: " + "; ".join(problems) + " (try again when the machine is quiet)")
EOF
cp "$out/latest.json" results/baseline/quick.json
echo "refresh-baseline: wrote results/baseline/quick.json; review and commit it"
