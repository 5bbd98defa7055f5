"""Exporters: the headline figures of a results file in the formats CI tools
read. One module per format, each with `export(results) -> JSON-able`; they
read results only."""

from __future__ import annotations

import importlib

FORMATS = {"github-action-benchmark": "github_action_benchmark", "bencher": "bencher"}


def export(results, fmt: str):
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return importlib.import_module(f"harness.exporters.{FORMATS[fmt]}").export(results)
