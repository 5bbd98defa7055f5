"""The module workers under workloads/<name>/ are exactly what
workloads/build/build.mjs makes from workloads/build/src/ and the npm packages
pinned in workloads/build/package-lock.json, and their manifests hold together.

The rebuild needs node and workloads/build/node_modules (scripts/setup-host.sh
runs `npm ci --prefix workloads/build`); without them it skips, and with
ISOBENCH_REQUIRE_ALL=1 (CI) it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from harness.paths import REPO_ROOT

WORKLOADS = REPO_ROOT / "workloads"
BUILD_DIR = WORKLOADS / "build"
BUILT = ["hello-module", "router", "render", "compute", "size-10k", "size-100k", "size-1m", "size-5m"]
# worker.js bytes allowed for the bundle-size sweep: 0.7x to 1.4x the nominal size.
SIZE_BANDS = {
    "size-10k": (7_000, 14_000),
    "size-100k": (70_000, 140_000),
    "size-1m": (700_000, 1_400_000),
    "size-5m": (3_500_000, 7_000_000),
}
SETUP_HINT = "run scripts/setup-host.sh (npm ci --prefix workloads/build)"
# The loader's rule (harness/runtime/worker.py): such a line is an import.
IMPORT_LINE = re.compile(r"^\s*import\s+[\w{*'\"]", re.MULTILINE)


def build_tools_or_skip() -> str:
    """The node executable; skip (fail with ISOBENCH_REQUIRE_ALL=1) when the build cannot run."""
    node = shutil.which("node")
    problem = None
    if not (BUILD_DIR / "node_modules").is_dir():
        problem = "workloads/build/node_modules is missing"
    elif node is None:
        problem = "node is not on PATH"
    if problem:
        if os.environ.get("ISOBENCH_REQUIRE_ALL") == "1":
            pytest.fail(f"{problem}: {SETUP_HINT}")
        pytest.skip(SETUP_HINT)
    return node


def files_under(root):
    """Relative paths of the files under root (no caches)."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def test_committed_bundles_equal_a_fresh_build(tmp_path):
    node = build_tools_or_skip()
    out = tmp_path / "workloads"
    result = subprocess.run(
        [node, str(BUILD_DIR / "build.mjs"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"build.mjs failed:\n{result.stdout}{result.stderr}"
    generated = files_under(out)
    assert sorted({path.split("/")[0] for path in generated}) == sorted(BUILT)
    for name in BUILT:
        built = [path for path in generated if path.startswith(name + "/")]
        committed = [f"{name}/{path}" for path in files_under(WORKLOADS / name)]
        assert committed == built, f"workloads/{name}/ holds {committed}, a fresh build makes {built}"
    for path in generated:
        same = (WORKLOADS / path).read_bytes() == (out / path).read_bytes()  # no multi-MB diff in the report
        assert same, (
            f"workloads/{path} differs from a fresh build; rebuild with "
            "`npm ci --prefix workloads/build && node workloads/build/build.mjs` and commit"
        )


@pytest.mark.parametrize("name", BUILT)
def test_manifest_names_a_loadable_bundle(name):
    directory = WORKLOADS / name
    manifest = json.loads((directory / "workload.json").read_text(encoding="utf-8"))
    assert manifest["name"] == name
    assert manifest["form"] == "module"
    assert isinstance(manifest["description"], str) and manifest["description"]
    assert (REPO_ROOT / manifest["source"]).is_file(), manifest["source"]
    worker = directory / "worker.js"
    assert worker.is_file(), f"{worker} is missing"
    request = manifest["request"]
    assert request.get("method", "GET") in {"GET", "POST"}
    assert request["url"].startswith("https://") and "{arg}" in request["url"]
    assert not ("body" in request and "body_file" in request)
    if "body_file" in request:
        assert (directory / request["body_file"]).is_file(), request["body_file"]

    text = worker.read_text(encoding="utf-8")
    assert not IMPORT_LINE.search(text), f"{name}/worker.js has a line the loader reads as an import"
    assert "/work/" not in text and str(REPO_ROOT) not in text, f"{name}/worker.js holds an absolute path"
    assert re.search(r"\nexport \{\s*[A-Za-z_$][\w$]* as default\s*\};\n\Z", text), (
        f"{name}/worker.js does not end with `export {{ x as default }};`"
    )
    if name in SIZE_BANDS:
        low, high = SIZE_BANDS[name]
        size = worker.stat().st_size
        assert low <= size <= high, f"{name}/worker.js is {size} bytes, outside {low}..{high}"
