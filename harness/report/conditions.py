"""The environment section: the machine, the versions of every engine, the
load, the commit, the pinning and the child environment, as the run recorded
them."""

from __future__ import annotations

from harness.report import fmt
from harness.report.data import ReportData

GIB = float(1 << 30)
# Version keys shown with a readable name; others are shown as recorded.
VERSION_LABELS = {
    "v8": "V8", "mini-racer": "mini-racer", "node": "node", "node_path": "node binary",
    "docker_engine": "Docker engine", "docker_api": "Docker API", "containerd": "containerd",
    "runtime": "OCI runtime", "runtime_commit": "OCI runtime version", "cgroup_version": "cgroup version",
    "cgroup_driver": "cgroup driver", "storage_driver": "storage driver", "image": "image",
    "base_image": "image base",
}


def _load(values) -> str:
    return " / ".join(f"{value:.2f}" for value in values) if values else "–"


def section(data: ReportData) -> str:
    machine = data.results.machine
    record = data.results.record
    cpu = (data.results.raw.get("machine_info") or {}).get("cpu") or {}
    git = machine.get("git") or {}
    rows = [
        ("CPU", f"{machine.get('cpu_model') or cpu.get('brand_raw') or '?'}"
                + (f", {cpu['hz_advertised_friendly']}" if cpu.get("hz_advertised_friendly") else "")),
        ("cores", f"{machine.get('cpu_count', '?')} (usable: {', '.join(map(str, machine.get('affinity') or [])) or '?'})"),
        ("memory", f"{machine['memory_total_bytes'] / GIB:.1f} GiB" if machine.get("memory_total_bytes") else "–"),
        ("kernel", machine.get("kernel") or "–"),
        ("OS", machine.get("os") or "–"),
        ("Python", f"{machine.get('python_implementation', '')} {machine.get('python', '?')}".strip()),
        ("load average (1, 5, 15 min)", f"{_load(machine.get('load_average'))} at the start, "
                                        f"{_load(record.get('load_average_at_end'))} at the end"),
        ("pinning", f"CPUs {', '.join(map(str, record['pinned_cpus']))}" if record.get("pinned_cpus")
         else "not pinned"),
        ("git commit", f"`{git.get('commit') or '?'}` ({git.get('branch') or '?'}"
                       f"{', with uncommitted changes' if git.get('dirty') else ''})"),
        ("harness version", record.get("harness_version") or "–"),
        ("run", f"{record.get('started', '?')} → {record.get('finished', '?')}"),
        ("worker", f"`{(record.get('worker') or {}).get('path', '?')}` (sha256 "
                   f"`{((record.get('worker') or {}).get('sha256') or '?')[:16]}…`)"),
    ]
    if record.get("container_base_image"):
        rows.append(("container base image", record["container_base_image"]))
    lines = ["## Environment", "", "| | this run |", "|---|---|"]
    lines += [f"| {label} | {fmt.cell(value)} |" for label, value in rows]
    lines += ["", "Engines and runtimes, as each backend reported them:", "",
              "| backend | versions |", "|---|---|"]
    for name in data.names:
        status = record.get("backends", {}).get(name, {})
        versions = status.get("versions") or {}
        shown = [f"{VERSION_LABELS.get(k, k)} {v}" for k, v in versions.items() if str(v).strip()]
        text = "; ".join(shown) if versions else f"not measured: {status.get('reason') or 'no versions recorded'}"
        lines.append(f"| {name} | {fmt.cell(text)} |")
    child = record.get("child_environment") or {}
    if child:
        variables = ", ".join(f"`{k}={v}`" for k, v in (child.get("variables") or {}).items())
        inherited = ", ".join(child.get("inherited") or []) or "none"
        dropped = child.get("dropped_names") or []
        lines += ["", f"Child processes got only {variables or 'no variables'} (passed through from the host: "
                  f"{inherited}); {len(dropped)} host variables were dropped."]
        if dropped:
            lines += ["", "<details><summary>The dropped variables (names only)</summary>", "",
                      ", ".join(f"`{d}`" for d in dropped), "", "</details>"]
    lines.append("")
    return "\n".join(lines)
