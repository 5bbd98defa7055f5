"""isobench's own history file: a run's key figures with their intervals, a
few KB (what `history` reads when the raw results are not kept)."""

from __future__ import annotations

from harness.findings.key_figures import history_record
from harness.results.model import Run


def export(run: Run) -> dict:
    return history_record(run)
