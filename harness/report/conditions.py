"""The environment and provenance: the machine (and how it is virtualised),
the commit and the load when the run started, the trials, and every engine's
version (collapsed), as the run recorded them."""

from __future__ import annotations

from harness.report import fmt
from harness.report.data import ReportData
from harness.results.vocabulary import GIB

VERSION_LABELS = {
    "v8": "V8", "mini-racer": "mini-racer", "node": "node", "docker_engine": "Docker engine",
    "containerd": "containerd", "runtime": "OCI runtime", "runtime_version": "runtime version",
    "cgroup_version": "cgroup version", "image": "image", "image_id": "image id", "platform": "gVisor platform",
    "deno": "Deno", "bun": "Bun", "webkit": "WebKit (JavaScriptCore) commit", "node_compat": "node compatibility",
    "engine": "engine",
}


def _load(values) -> str:
    return " / ".join(f"{value:.2f}" for value in values) if values else "–"


def virtualization(data: ReportData) -> str:
    found = dict(data.run.machine.virtualization)
    parts = []
    if found.get("vm") not in (None, "", "none"):
        parts.append(f"a virtual machine ({found['vm']})")
    elif found.get("hypervisor_cpu_flag"):
        parts.append("a virtual machine (hypervisor CPU flag)")
    if found.get("kernel_command_line"):
        parts.append(found["kernel_command_line"])
    if found.get("container") not in (None, "", "none"):
        parts.append(f"inside a {found['container']} container")
    if found.get("dmi_product_name"):
        parts.append(f"DMI: {found.get('dmi_sys_vendor', '')} {found['dmi_product_name']}".strip())
    return "; ".join(parts) or ("not detected" if found else "not recorded")


def section(data: ReportData) -> list[str]:
    run, machine, provenance = data.run, data.run.machine, data.run.provenance
    when = "at the start" if provenance.recorded_at_start else "at the end (recorded then by isobench 1)"
    commit = f"`{(provenance.commit or '?')[:12]}`" + (" with uncommitted changes" if provenance.dirty else "")
    rows = [
        ("machine", f"{machine.cpu_model}, {machine.cpu_count} CPUs, "
                    + (f"{machine.memory_total_bytes / GIB:.1f} GiB" if machine.memory_total_bytes else "? GiB")),
        ("virtualisation", virtualization(data)),
        ("kernel, OS", f"{machine.kernel or '?'}; {machine.os or '?'}"),
        ("harness commit", f"{commit}, recorded {when}"),
        ("load average (1, 5, 15 min)", f"{_load(provenance.load_average)} {when}"
                                        + (f"; {_load(run.load_average_at_end)} at the end (the run's own load "
                                           "included)" if run.load_average_at_end else "")),
        ("run", f"{provenance.started[:19].replace('T', ' ')} → {run.finished[:19].replace('T', ' ')} UTC, "
                f"{len(run.complete_trials)} trials, profile `{run.profile.name}`"),
        ("worker", f"`{run.worker.path}` (sha256 `{run.worker.sha256[:16]}…`)"),
        ("pinning", f"CPUs {', '.join(map(str, run.conditions.pinned_cpus))}" if run.conditions.pinned_cpus
         else "not pinned"),
    ]
    for name in data.measured:
        versions = data.result(name).info.versions
        if versions.get("platform"):
            rows.append((f"{name}: gVisor platform", versions["platform"]))
        if versions.get("image_id"):
            rows.append((f"{name}: image", f"{versions.get('image', '')} ({versions['image_id'][:19]})"))
    lines = ["## Environment", "", "| | this run |", "|---|---|"]
    lines += [f"| {label} | {fmt.cell(value)} |" for label, value in rows]
    lines += ["", "<details><summary>Every engine's version, and the child processes' environment</summary>", "",
              "| backend | versions |", "|---|---|"]
    for name in data.names:
        versions = data.result(name).info.versions
        shown = [f"{VERSION_LABELS.get(k, k)} {v}" for k, v in versions.items() if str(v).strip()]
        lines.append(f"| {name} | {fmt.cell('; '.join(shown) or 'not recorded')} |")
    child = dict(run.conditions.child_environment)
    if child:
        variables = ", ".join(f"`{k}={v}`" for k, v in (child.get("variables") or {}).items())
        lines += ["", f"Child processes got only {variables or 'no variables'} (passed through: "
                      f"{', '.join(child.get('inherited') or []) or 'none'}); "
                      f"{len(child.get('dropped_names') or [])} host variables were dropped."]
    return lines + ["", "</details>", ""]
