"""Exporters: a run's key figures in the formats CI tools read. One module per
format, each with `export(run) -> JSON-able`; they read results only."""

from __future__ import annotations

import importlib

FORMATS = {"github-action-benchmark": "github_action_benchmark", "bencher": "bencher", "key-figures": "key_figures"}


def export(run, fmt: str):
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return importlib.import_module(f"harness.exporters.{FORMATS[fmt]}").export(run)
