"""A trial process: `python -m harness.measure.trial_process SPEC OUT` runs the
suites in bench/ as one trial (pytest with the isobench plugin) and leaves
the trial record at OUT. The run manager starts one fresh process per trial,
so each trial has its own address-space layout, heap and engine state (as
pyperf's worker processes do), and a trial that crashes loses only itself."""

from __future__ import annotations

import sys

from harness.paths import REPO_ROOT


def pytest_args(spec: str, out: str) -> list[str]:
    return [str(REPO_ROOT / "bench"), f"--rootdir={REPO_ROOT}", "-q", "--no-header", "-p", "no:cacheprovider",
            "-p", "no:benchmark", "-o", "addopts=", f"--isobench-spec={spec}", f"--isobench-trial-out={out}"]


def main(argv: list[str] | None = None) -> int:
    import pytest

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m harness.measure.trial_process SPEC.json RECORD.json", file=sys.stderr)
        return 2
    return int(pytest.main(pytest_args(args[0], args[1])))


if __name__ == "__main__":
    sys.exit(main())
