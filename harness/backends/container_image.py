"""Build the container backend's image locally, from files in the repo.

Default: FROM scratch with the host's node binary and the libraries it links,
so the container runs the very node the subprocess backend runs. With a base
image (for example node:20-slim, for users who can reach a registry) only the
runner is added to it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.backends.base import BackendError, BackendUnavailable
from harness.paths import REPO_ROOT
from harness.runtime.worker import RUNTIME_DIR

IMAGES_DIR = REPO_ROOT / "workloads" / "images"
RUNNER = RUNTIME_DIR / "node_runner.js"
REPOSITORY = "isobench/node-runner"
_LDD_LINE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


def linked_libraries(binary: str) -> list[Path]:
    """The shared libraries (and dynamic loader) a binary needs, from ldd."""
    try:
        output = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise BackendUnavailable(f"cannot list the libraries of {binary} with ldd: {error}") from None
    return [Path(match.group(1)) for match in map(_LDD_LINE.search, output.splitlines()) if match]


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def image_tag(node: str, base_image: str | None) -> str:
    """A tag that changes whenever an input of the image changes."""
    if base_image:
        dockerfile = IMAGES_DIR / "node-base" / "Dockerfile"
        key = _digest(dockerfile.read_bytes(), RUNNER.read_bytes(), base_image.encode())
        safe_base = re.sub(r"[^a-z0-9_.-]+", "-", base_image.lower()).strip("-.")[:40]
        return f"{REPOSITORY}:{safe_base}-{key}"
    dockerfile = IMAGES_DIR / "node-scratch" / "Dockerfile"
    stat = Path(node).resolve().stat()
    identity = f"{Path(node).resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    return f"{REPOSITORY}:scratch-{_digest(dockerfile.read_bytes(), RUNNER.read_bytes(), identity)}"


def assemble_rootfs(rootfs: Path, node: str, with_node: bool) -> None:
    """The image's files: the runner, and (with_node) node and the libraries it links.
    The oci-* backends run the same tree directly as an OCI bundle's rootfs."""
    (rootfs / "isobench").mkdir(parents=True)
    shutil.copy2(RUNNER, rootfs / "isobench" / "node_runner.js")
    if not with_node:
        return
    node_path = Path(node).resolve()
    for source, target in [(node_path, Path("/usr/bin/node")), *((lib, lib) for lib in linked_libraries(str(node_path)))]:
        destination = rootfs / target.relative_to("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source.resolve(), destination)  # follow symlinks: copy the real file


def ensure_image(client, node: str, base_image: str | None = None, log=print) -> str:
    """Return the tag of an up-to-date image, building it when missing."""
    import docker.errors

    tag = image_tag(node, base_image)
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    variant = "node-base" if base_image else "node-scratch"
    log(f"building container image {tag} from workloads/images/{variant} (once per change of its inputs)")
    with tempfile.TemporaryDirectory(prefix="isobench-image-") as context:
        context_path = Path(context)
        shutil.copy2(IMAGES_DIR / variant / "Dockerfile", context_path / "Dockerfile")
        assemble_rootfs(context_path / "rootfs", node, with_node=not base_image)
        build_args = {"BASE_IMAGE": base_image} if base_image else {}
        try:
            client.images.build(
                path=context, tag=tag, buildargs=build_args, rm=True, forcerm=True,
                labels={"isobench": "1"}, pull=False,
            )
        except docker.errors.BuildError as error:
            last = next((line.get("stream", line.get("error", "")) for line in reversed(list(error.build_log))
                         if line.get("stream", line.get("error", "")).strip()), str(error))
            raise BackendError(f"image build failed: {str(last).strip()}") from None
        except docker.errors.APIError as error:
            raise BackendError(f"image build failed: {error.explanation or error}") from None
    return tag
