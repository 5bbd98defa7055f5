"""OCI bundles for the oci-* backends: the container image's files as a rootfs
and a config.json that mirrors what dockerd generates for the `container`
backend's containers, so that the only difference is who runs the runtime.

Same as Docker: the rootfs (assembled exactly as container_image.py assembles
the image, entrypoint read from the image's Dockerfile), user root, Docker's
default capabilities, device rules, masked and read-only paths, the pid, ipc,
uts and mount namespaces, and a network namespace with no interface (Docker's
`--network none` adds only a loopback). Different, on purpose or by
necessity: the rootfs is read-only and shared by every instance (Docker gives
each container an overlayfs upper layer); no /etc/hosts, /etc/hostname,
/etc/resolv.conf bind mounts and no libnetwork prestart hook (nothing to
network); no seccomp filter (Docker loads its default profile).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from harness.backends.base import Limits
from harness.backends.container_image import IMAGES_DIR, assemble_rootfs

DOCKERFILE = IMAGES_DIR / "node-scratch" / "Dockerfile"
MOUNT_POINTS = ("proc", "dev", "sys")  # made in the rootfs beforehand: it is read-only at run time

# Docker's defaults (moby oci/defaults.go and caps), as seen in the config.json
# dockerd 20.10 hands to runc for the `container` backend.
CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
]
MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["ro", "nosuid", "noexec", "nodev"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
]
DEVICES = [
    {"allow": False, "access": "rwm"},
    *({"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
      for major, minor in ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1))),
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
]
MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]
READ_ONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def image_entrypoint(dockerfile: Path = DOCKERFILE) -> list[str]:
    """The ENTRYPOINT of the image's Dockerfile (exec form), so both run the same command."""
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", dockerfile.read_text(), re.MULTILINE)
    if not match:
        raise ValueError(f"{dockerfile} has no exec-form ENTRYPOINT")
    return json.loads(match.group(1))


def make_rootfs(rootfs: Path, node: str) -> None:
    """The image's files (host node, its libraries, the runner) plus empty mount points."""
    assemble_rootfs(rootfs, node, with_node=True)
    for name in MOUNT_POINTS:
        (rootfs / name).mkdir(exist_ok=True)


def base_config(rootfs: Path, args: list[str], limits: Limits, cpuset: str | None,
                swap_accounting: bool, freeze_on_oom: bool) -> dict:
    """config.json without the per-instance fields (see instance_config).

    freeze_on_oom (cgroup v1): the kernel does not kill the container at its
    memory limit but freezes it, and the harness, notified through an eventfd,
    reports MemoryLimitExceeded and kills it (no race with the runtime
    removing the cgroup of a dead container)."""
    memory: dict = {"disableOOMKiller": False}
    if limits.memory_bytes is not None:
        memory["limit"] = int(limits.memory_bytes)
        if swap_accounting:
            memory["swap"] = int(limits.memory_bytes)  # memory+swap: no swap beyond the limit
        memory["disableOOMKiller"] = freeze_on_oom
    resources: dict = {"devices": copy.deepcopy(DEVICES), "memory": memory}
    cpu: dict = {}
    if cpuset:
        cpu["cpus"] = cpuset
    cpus = getattr(limits, "cpus", None)  # --cpus: a CFS quota over a 100 ms period
    if cpus:
        cpu.update(period=100_000, quota=int(cpus * 100_000))
    if cpu:
        resources["cpu"] = cpu
    if getattr(limits, "max_pids", None):
        resources["pids"] = {"limit": int(limits.max_pids)}
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [PATH_ENV],
            "cwd": "/",
            "capabilities": {kind: list(CAPABILITIES) for kind in ("bounding", "effective", "permitted")},
        },
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "isobench",
        "mounts": copy.deepcopy(MOUNTS),
        "linux": {
            "resources": resources,
            "namespaces": [{"type": kind} for kind in ("mount", "network", "uts", "pid", "ipc")],
            "maskedPaths": list(MASKED),
            "readonlyPaths": list(READ_ONLY),
        },
    }


def instance_config(base: dict, container_id: str, cgroups_path: str) -> dict:
    config = copy.deepcopy(base)
    config["hostname"] = container_id[-12:]
    config["process"]["env"] = [PATH_ENV, f"HOSTNAME={config['hostname']}"]
    config["linux"]["cgroupsPath"] = cgroups_path
    return config


def write_bundle(bundle: Path, config: dict) -> None:
    bundle.mkdir(parents=True)
    (bundle / "config.json").write_text(json.dumps(config))
