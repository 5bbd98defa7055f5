"""`subprocess-codecache`: `subprocess` with V8's code cache. node compiles
the worker from cached data (`new vm.Script(source, {cachedData})`) instead of
from source; everything else is `subprocess`.

prepare() makes the cache once per worker, untimed, in a node process of its
own under the backend's limits: load the bundle (compile it and run its top
level, so the functions that ran are compiled too), then write
`script.createCachedData()` into a file in a temporary folder (removed by
close()). No request is served while the cache is made. Every start then reads
that file inside its `load_worker` phase; if V8 rejects the data (another node
or V8 version), the start fails rather than quietly compiling from source.

This is the mechanism Cloudflare's runtime can use for large Workers; of the
other engines here, py_mini_racer and STPyV8 expose no cached-data API, and
workerd keeps its own (not switchable from a config), so they have no
code-cache variant (docs/workloads.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.backends.base import (BackendError, InstanceCrashed, LimitExceeded, WorkerLoadError,
                                   remove_orphan_scratch, scratch_folder)
from harness.backends.node_process import NodeProcessBackend
from harness.runtime.worker import Worker


class NodeCodeCacheBackend(NodeProcessBackend):
    name = "subprocess-codecache"
    summary = "subprocess, with the worker compiled from V8's code cache (vm.Script cachedData) made in prepare"
    described_as = "a node process with a code cache"
    roles = ()
    variant_of = "subprocess"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.folder: Path | None = None
        self.caches: dict[str, Path] = {}  # worker sha256 -> cache file

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        return super().cleanup(run_id) + remove_orphan_scratch("codecache")

    def prepare(self, worker: Worker) -> None:
        if worker.sha256 in self.caches:
            return
        if self.folder is None:
            self.folder = scratch_folder("codecache")
        out = self.folder / f"{worker.sha256[:16]}.v8cache"
        maker = self.spawn_runner()
        try:
            maker.await_ready()
            maker.load(worker.bundle, worker.path.name)  # a worker that does not load: WorkerLoadError, as in start
            maker.request({"op": "cache", "out": str(out)})
        except (WorkerLoadError, LimitExceeded, InstanceCrashed):
            raise
        except BackendError as error:
            raise BackendError(f"making the code cache failed: {error}") from None
        finally:
            maker.stop()
        self.caches[worker.sha256] = out

    def _code_cache_for(self, worker: Worker) -> str | None:
        if worker.sha256 not in self.caches:
            self.prepare(worker)  # untimed callers prepare first; this keeps a direct start() working
        return str(self.caches[worker.sha256])

    def facts(self) -> dict:
        sizes = {sha[:12]: path.stat().st_size for sha, path in self.caches.items() if path.exists()}
        return {**super().facts(), "code_cache_bytes": sizes}

    def close(self) -> None:
        super().close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
            self.caches.clear()
