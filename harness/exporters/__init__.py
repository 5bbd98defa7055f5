"""Exporters: a run's key figures in the formats CI tools read. One module per
format, each with `export(run) -> JSON-able`; they read results only. A
fleet's runs (one per machine) are exported together, each figure's name
prefixed with its machine."""

from __future__ import annotations

import importlib

FORMATS = {"github-action-benchmark": "github_action_benchmark", "bencher": "bencher", "key-figures": "key_figures"}


def export(run, fmt: str):
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return importlib.import_module(f"harness.exporters.{FORMATS[fmt]}").export(run)


def export_fleet(runs: dict, fmt: str):
    """Each machine's run in one export: Bencher's benchmark names and github-action-benchmark's entry names
    get the machine: isobench/MACHINE/NAME, isobench MACHINE/NAME. The key-figures history file holds one run, so a fleet has none (history reads the
    fleet folder itself)."""
    if fmt == "key-figures":
        raise ValueError("key-figures holds one run; history reads a fleet folder directly "
                         "(python -m harness history results/fleet/<id>/)")
    if fmt == "bencher":
        return {name.replace("isobench/", f"isobench/{machine}/", 1): value
                for machine, run in runs.items() for name, value in export(run, fmt).items()}
    return [{**entry, "name": entry["name"].replace("isobench ", f"isobench {machine}/", 1)}
            for machine, run in runs.items() for entry in export(run, fmt)]
