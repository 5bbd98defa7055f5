"""Facts about the machine and the checkout, recorded with every run."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from harness.paths import REPO_ROOT


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def git_info() -> dict:
    """The checkout's commit; a copy without .git (a fleet node's, harness/fleet/node.py) takes the one
    its sender gave in ISOBENCH_SOURCE_COMMIT."""
    commit = _git("rev-parse", "HEAD")
    if commit is None and os.environ.get("ISOBENCH_SOURCE_COMMIT"):
        return {"commit": os.environ["ISOBENCH_SOURCE_COMMIT"], "branch": None, "dirty": False}
    return {
        "commit": commit,
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def timer_overhead_ns(samples: int = 20001) -> dict:
    """What the harness's timer costs: two back-to-back perf_counter_ns reads."""
    clock = time.perf_counter_ns
    deltas = []
    for _ in range(samples):
        start = clock()
        deltas.append(clock() - start)
    deltas.sort()
    info = time.get_clock_info("perf_counter")
    return {
        "timer": "time.perf_counter_ns",
        "implementation": info.implementation,
        "resolution_ns": info.resolution * 1e9,
        "read_overhead_median_ns": deltas[len(deltas) // 2],
    }


def virtualization() -> dict:
    """How this machine is virtualised, from what it shows: the hypervisor CPU
    flag, the kernel's own detection (`systemd-detect-virt`, where present), DMI
    and the kernel command line. Empty fields were not found."""
    found: dict = {}
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
        found["hypervisor_cpu_flag"] = " hypervisor" in flags + " "
    except OSError:
        pass
    for option, key in (("--vm", "vm"), ("--container", "container")):
        try:
            result = subprocess.run(["systemd-detect-virt", option], capture_output=True, text=True, timeout=5)
            found[key] = result.stdout.strip() or "none"
        except (OSError, subprocess.SubprocessError):
            continue
    for name in ("sys_vendor", "product_name"):
        try:
            found[f"dmi_{name}"] = Path(f"/sys/class/dmi/id/{name}").read_text().strip()
        except OSError:
            continue
    try:
        if "firecracker" in Path("/proc/cmdline").read_text():
            found["kernel_command_line"] = "names firecracker (a Firecracker micro-VM)"
    except OSError:
        pass
    return found


CPUIDLE = Path("/sys/devices/system/cpu/cpuidle")
HALTPOLL_PARAMETERS = Path("/sys/module/haltpoll/parameters")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cpu_idle() -> dict:
    """How this machine's idle CPUs sleep: the cpuidle driver and governor, CPU
    0's idle states (exit latency and target residency in µs, disabled or not),
    the guest halt-poll parameters, and whether the PM QoS device that holds
    CPUs awake (harness/procedures/cpu_regime.py) is there. Empty where unknown."""
    found: dict = {}
    for name in ("current_driver", "current_governor"):
        value = _read(CPUIDLE / name)
        if value is not None:
            found[name.removeprefix("current_")] = value
    states = []
    for state in sorted(Path("/sys/devices/system/cpu/cpu0/cpuidle").glob("state*")):
        latency, residency = _read(state / "latency"), _read(state / "residency")
        states.append({"name": _read(state / "name") or state.name,
                       "exit_latency_us": int(latency) if latency and latency.isdigit() else None,
                       "target_residency_us": int(residency) if residency and residency.isdigit() else None,
                       "disabled": _read(state / "disable") == "1"})
    if states:
        found["states"] = states
    if HALTPOLL_PARAMETERS.is_dir():
        found["haltpoll"] = {p.name: _read(p) for p in sorted(HALTPOLL_PARAMETERS.iterdir())}
    cmdline = _read(Path("/proc/cmdline")) or ""
    idle_words = [w for w in cmdline.split() if w.startswith(("haltpoll", "cpuidle", "idle=", "intel_idle",
                                                                "processor.max_cstate"))]
    if idle_words:
        found["kernel_command_line"] = idle_words
    from harness.procedures.cpu_regime import PM_QOS_DEVICE

    found["pm_qos_device"] = PM_QOS_DEVICE.exists()
    return found


def machine_info() -> dict:
    """What the results' Machine holds (harness.results.model.Machine)."""
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "memory_total_bytes": memory_total_bytes(),
        "hostname": platform.node(),
        "virtualization": virtualization(),
        "timer": timer_overhead_ns(),
        "cpu_idle": cpu_idle(),
    }


def provenance(harness_version: str) -> dict:
    """What the results' Provenance holds, taken now: before the run's first trial."""
    import datetime

    git = git_info()
    return {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(), "commit": git["commit"],
            "branch": git["branch"], "dirty": git["dirty"], "load_average": list(os.getloadavg()),
            "harness_version": harness_version, "recorded_at_start": True}


def memory_total_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
