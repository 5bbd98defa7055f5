"""`wasm-wizer`: the `wasm` backend's QuickJS module pre-initialised by Wizer,
with the prelude and the worker already evaluated, so that each instance is
only an instantiation.

prepare(worker), untimed, runs Wizer 11 (the npm package pinned in
workloads/engines, its binary used directly) on the base module
(harness/backends/wasm_module.py) with the init function
`isobench_wizer_init` (harness/runtime/quickjs_wasm.c). That function reads
the bundle from stdin, creates the QuickJS runtime and context with the
`wasm` backend's stack limit, evaluates the bundle (the handler or module is
registered) and returns; Wizer then writes the instance's memory and globals
out as a new module. Wizer is allowed WASI only during that call (stdin,
stderr, clocks, random); nothing of the host (file descriptors, the epoch
deadline, the Store limit) is in the snapshot. The limits hold while the
bundle is evaluated: the time limit by a QuickJS interrupt handler, the
memory limit as QuickJS's malloc limit (Wizer sets no Store limit); both are
lifted before the snapshot. Wizer removes `_initialize` and the init
function from the output, so neither can run twice.

The snapshot is keyed by the worker's sha256, the bundle's, the base
module's, Wizer's version and the init settings. A workload's (a folder
under workloads/) is kept in build/wasm-wizer/ with a sidecar; any other
worker's goes to a scratch folder that close() removes. wasmtime's compiled
code for it is cached beside it as the `wasm` backend caches its own
(wasm_cache.py). facts() records, per worker, the snapshot's size, whether it
was made now (Wizer's time) or reused, and the compile or load time: none of
it is part of a cold start.

One instance is a new Store (empty WASI context, the memory limit, the epoch
deadline) and `InstancePre.instantiate` of that module (`instantiate`), the
exports looked up and their C-API call slots made (`bind`), and
`isobench_resume` (`resume`): per-instance state that a snapshot would
otherwise freeze and share, namely Math.random's seed (from WASI random_get)
and the origin of performance.now(), and QuickJS's stack top. Calls, limits,
memory figures and engine_time are the `wasm` backend's.

Fast instantiation, from wasmtime-py 50 (requirements.txt):
- the pooling allocator: not in wasmtime-py's Config, but its C API is in
  wasmtime._ffi (`wasmtime_pooling_allocation_strategy_set`), used with
  POOL_SLOTS instances, memories and tables; if the engine cannot be made with
  it (address space), the on-demand allocator is used and facts() says so;
- copy-on-write memory images: `Config.memory_init_cow` (wasmtime's default,
  set explicitly): the snapshot's data segments are mapped, not copied;
- `InstancePre`: `Linker.instantiate_pre`, once per worker, so that an
  instantiation does not resolve imports again.
Not reachable from Python: nothing of these three; wasmtime's
`InstanceAllocator` tuning beyond the pool sizes (e.g. `*_keep_resident`)
is reachable but left at its defaults, so freed slots are decommitted and the
memory figures stay those of live instances.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.backends import wasm_cache
from harness.backends.base import (
    Availability,
    BackendError,
    BackendUnavailable,
    CallTimeout,
    Instance,
    Limits,
    MemoryFigure,
    MemoryLimitExceeded,
    PhaseClock,
    WorkerLoadError,
    remove_orphan_scratch,
    scratch_folder,
)
from harness.backends.memory_probes import release_freed_memory
from harness.backends.wasm import (
    ENGINE_SETTINGS,
    JS_STACK_BYTES,
    WasmBackend,
    WasmInstance,
    _first_line,
    ffi,
    wasmtime,
)
from harness.paths import REPO_ROOT
from harness.results.store import write_atomic
from harness.runtime.worker import WORKLOADS_DIR, Worker, load_worker

WIZER_PACKAGES = REPO_ROOT / "workloads" / "engines" / "node_modules" / "@bytecodealliance"
WIZER_PLATFORMS = {"x86_64": "wizer-linux-x64", "aarch64": "wizer-linux-arm64"}
SETUP_HINT = "run scripts/setup-host.sh (npm ci --prefix workloads/engines)"
CACHE_DIR = REPO_ROOT / "build" / "wasm-wizer"
INIT_FUNC = "isobench_wizer_init"
WIZER_OVERHEAD_S = 120.0  # Wizer's own compile and snapshot, beyond the worker's time limit
POOL_SLOTS = 2048  # instances, memories and tables in the pool: above the storm's in-process cap (1024)
# The engine's settings: the compile cache's key (the pooling allocator changes no compiled code,
# but a cache file made under another configuration is refused and rebuilt anyway).
WIZER_ENGINE_SETTINGS = {**ENGINE_SETTINGS, "memory_init_cow": True}
MADE, REUSED = "made now", "reused from the snapshot cache"
PUBLISHED_INSTANTIATE = ("Fastly Compute: about 35 µs to create a Wasm instance (Fastly's published cold-start "
                         "figure; instance creation of an AOT-compiled module, no JS engine or worker start-up); "
                         "here `instantiate` is a new Store with an empty WASI context plus "
                         "InstancePre.instantiate of a module with QuickJS and the worker already initialised, "
                         "timed in Python around wasmtime-py")
RESUME_STATUS = {-1: "no entropy for Math.random (WASI random_get failed)",
                 -2: "the module is not pre-initialised (no QuickJS runtime in it)"}


def wizer_path() -> Path | None:
    package = WIZER_PLATFORMS.get(platform.machine())
    return WIZER_PACKAGES / package / "wizer" if package else None


def wizer_version() -> str:
    path = wizer_path()
    try:
        return str(json.loads((path.parent / "package.json").read_text())["version"]) if path else ""
    except (OSError, ValueError, KeyError):
        return ""


def wizer_problem() -> str | None:
    """Why Wizer cannot run here, or None."""
    path = wizer_path()
    if path is None:
        return f"no Wizer binary for {platform.machine()} in the pinned npm package"
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    if not path.is_file():
        return f"Wizer not installed ({shown} missing; {SETUP_HINT})"
    if not path.stat().st_mode & 0o111:
        return f"Wizer is not executable ({shown}; {SETUP_HINT})"
    return None


@dataclass
class PreparedWorker:
    """One worker's pre-initialised module, compiled, with its InstancePre."""

    label: str  # the workload's name and the bundle's sha256, for facts()
    module_path: Path
    module_bytes: int
    snapshot: str  # MADE or REUSED
    wizer_ms: float | None  # Wizer's run, measured now or when the snapshot was made
    loaded: wasm_cache.LoadedModule
    pre: object  # wasmtime.InstancePre
    prepare_ms: float  # all of prepare() for this worker in this process

    def facts(self) -> dict:
        loaded = self.loaded
        return {
            "module_bytes": self.module_bytes,
            "snapshot": self.snapshot,
            "wizer_ms": self.wizer_ms,
            "module_source": loaded.source,
            "module_compile_ms": loaded.compile_ms if loaded.compile_ms is not None else loaded.cached_compile_ms,
            "module_load_ms": loaded.load_ms,
            "prepare_ms": self.prepare_ms,
            **({"module_cache_note": loaded.note} if loaded.note else {}),
        }


class WizerInstance(WasmInstance):
    """A `wasm` instance of a pre-initialised module: no reactor start, no runtime
    creation, no load; only isobench_resume before the first call."""

    required_exports = ("isobench_reserve", "isobench_io", "isobench_call", "isobench_engine", "isobench_echo",
                        "isobench_version", "isobench_resume", "memory")

    def resume(self) -> None:
        status = self._invoke("isobench_resume") & 0xFFFFFFFF
        if status:
            self.stop()
            signed = status - (1 << 32) if status & (1 << 31) else status
            raise BackendError(f"isobench_resume failed: {RESUME_STATUS.get(signed, signed)}")

    def initialize(self) -> None:
        raise BackendError("a pre-initialised instance has its runtime already")

    def load(self, bundle: str) -> str:
        raise BackendError("a pre-initialised instance has its worker already")


class WasmWizerBackend(WasmBackend):
    name = "wasm-wizer"
    summary = ("wasm, with QuickJS and the worker pre-initialised by Wizer in prepare: each instance is only "
               "an instantiation (pooling allocator, copy-on-write memory image, InstancePre)")
    described_as = "a pre-initialised QuickJS instance in WebAssembly"
    roles = ("wasm-preinitialised",)  # its `instantiate` phase is set beside Fastly's ~35 µs (report/claims.py)
    variant_of = "wasm"

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.folder: Path | None = None  # scratch: Wizer's input and output, custom workers' snapshots
        self.prepared: dict[tuple[str, str, str], PreparedWorker] = {}
        self._last: PreparedWorker | None = None
        self.allocator = ""  # "pooling" or "on-demand", once the engine is made
        self.allocator_note = ""

    @classmethod
    def cleanup(cls, run_id: str) -> list[str]:
        return super().cleanup(run_id) + remove_orphan_scratch("wasm-wizer")

    def availability(self) -> Availability:
        base = super().availability()
        if not base.available:
            return base
        problem = wizer_problem()
        return Availability(False, problem) if problem else Availability(True)

    # -- the engine ---------------------------------------------------------------

    def _ensure_module(self) -> None:
        """The engine (pooling allocator, CoW images, epoch interruption), the
        WASI linker and the epoch thread; the base module built if needed."""
        if self.engine is not None:
            return
        from harness.backends import wasm_module

        if wasmtime is None:
            raise BackendUnavailable(self.availability().reason)
        problem = wizer_problem()
        if problem:
            raise BackendUnavailable(problem)
        try:
            self.module_path = wasm_module.ensure_built()
        except wasm_module.BuildError as error:
            raise BackendUnavailable(str(error)) from None
        self.engine = self._make_engine()
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self._start_ticker()

    def _make_engine(self):
        try:
            engine = wasmtime.Engine(self._config(pooling=True))
            self.allocator = "pooling"
            return engine
        except wasmtime.WasmtimeError as error:
            self.allocator = "on-demand"
            self.allocator_note = f"the pooling allocator could not be set up: {_first_line(str(error))}"
            return wasmtime.Engine(self._config(pooling=False))

    @staticmethod
    def _config(pooling: bool):
        config = wasmtime.Config()
        for setting, value in WIZER_ENGINE_SETTINGS.items():
            setattr(config, setting, value)
        if pooling:  # not in wasmtime-py's Config; its C API is
            pool = ffi.wasmtime_pooling_allocation_config_new()
            try:
                ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pool, POOL_SLOTS)
                ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, POOL_SLOTS)
                ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, POOL_SLOTS)
                ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)
            finally:
                ffi.wasmtime_pooling_allocation_config_delete(pool)
        return config

    # -- prepare: one snapshot per worker -----------------------------------------

    @staticmethod
    def _worker_key(worker: Worker) -> tuple[str, str, str]:
        # str hashes are cached, so a lookup with the same Worker is cheap even for a 5 MB bundle
        return str(worker.path), worker.form, worker.bundle

    def prepare(self, worker: Worker) -> None:
        """Pre-initialise the worker with Wizer (or reuse its snapshot), compile
        it (or load it from the compile cache) and make its InstancePre. Untimed."""
        key = self._worker_key(worker)
        if key in self.prepared:
            return
        started = time.perf_counter()
        self._ensure_module()
        parts = self._snapshot_parts(worker)
        path, snapshot, wizer_ms = self._snapshot(worker, parts)
        loaded = wasm_cache.load_or_compile(self.engine, path, WIZER_ENGINE_SETTINGS)
        pre = self.linker.instantiate_pre(loaded.module)
        prepared = PreparedWorker(f"{worker.name}/{parts['bundle_sha256'][:12]}", path, path.stat().st_size,
                                  snapshot, wizer_ms, loaded, pre, (time.perf_counter() - started) * 1e3)
        if not self._quickjs_version:
            probe = self._start_prepared(prepared)
            try:
                self._quickjs_version = probe.version()
            finally:
                probe.stop()
        self.prepared[key] = self._last = prepared

    def _snapshot_parts(self, worker: Worker) -> dict:
        from harness.backends import wasm_module

        return {
            "worker_sha256": worker.sha256,
            "bundle_sha256": hashlib.sha256(worker.bundle.encode()).hexdigest(),
            "base_module_sha256": wasm_module.build_info(self.module_path).get("module_sha256")
            or hashlib.sha256(self.module_path.read_bytes()).hexdigest(),
            "wizer": wizer_version(),
            "init": self._init_header(),
        }

    def _init_header(self) -> str:
        """The init function's first stdin line: stack limit, memory limit (0: none), time limit in ms."""
        return f"{JS_STACK_BYTES} {self.limits.memory_bytes or 0} {self.time_limit_s * 1e3:.0f}"

    def _scratch(self) -> Path:
        if self.folder is None:
            self.folder = scratch_folder("wasm-wizer")
        return self.folder

    def _snapshot(self, worker: Worker, parts: dict) -> tuple[Path, str, float | None]:
        """The pre-initialised module's path, MADE or REUSED, and Wizer's time."""
        key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        in_workloads = WORKLOADS_DIR.resolve() in worker.path.resolve().parents
        folder = CACHE_DIR if in_workloads else self._scratch()
        path = folder / f"{worker.name}-{key[:16]}.wasm"
        sidecar = path.with_suffix(".json")
        try:
            info = json.loads(sidecar.read_text())
            if info["key"] == key and hashlib.sha256(path.read_bytes()).hexdigest() == info["module_sha256"]:
                return path, REUSED, info.get("wizer_ms")
        except (OSError, ValueError, KeyError, TypeError):
            pass
        folder.mkdir(parents=True, exist_ok=True)
        binary, wizer_ms = self._run_wizer(worker)
        info = {"key": key, **parts, "wizer_ms": wizer_ms, "module_sha256": hashlib.sha256(binary).hexdigest(),
                "module_bytes": len(binary)}
        write_atomic(sidecar, json.dumps(info, indent=1) + "\n")  # sidecar first, module last
        write_atomic(path, binary)
        return path, MADE, wizer_ms

    def _run_wizer(self, worker: Worker) -> tuple[bytes, float]:
        """Run Wizer on the base module with the bundle on stdin; the snapshot's bytes and Wizer's time (ms)."""
        out = self._scratch() / f"wizer-out-{worker.sha256[:16]}.wasm"
        command = [str(wizer_path()), "--allow-wasi", "--init-func", INIT_FUNC, "-o", str(out), str(self.module_path)]
        stdin = (self._init_header() + "\n" + worker.bundle).encode()
        started = time.perf_counter()
        try:
            result = subprocess.run(command, input=stdin, capture_output=True,
                                    timeout=self.time_limit_s + WIZER_OVERHEAD_S)
        except subprocess.TimeoutExpired:
            out.unlink(missing_ok=True)
            raise CallTimeout(f"Wizer ran past {self.time_limit_s + WIZER_OVERHEAD_S:g} s pre-initialising "
                              f"the worker") from None
        wizer_ms = (time.perf_counter() - started) * 1e3
        try:
            if result.returncode != 0:
                raise self._wizer_error(result.stderr.decode("utf-8", errors="replace"))
            return out.read_bytes(), wizer_ms
        finally:
            out.unlink(missing_ok=True)

    def _wizer_error(self, stderr: str) -> BackendError:
        """The typed error for a failed Wizer run: the init function's own line, else Wizer's."""
        ours = [line for line in stderr.splitlines() if line.startswith("isobench-wizer: ")]
        if not ours:
            return BackendError(f"Wizer could not pre-initialise the worker: {_first_line(stderr)}")
        kind, _, message = ours[-1][len("isobench-wizer: "):].partition(": ")
        if kind == "load":
            return WorkerLoadError(message)
        if kind == "timeout":
            return CallTimeout(f"the worker's top level ran past {self.time_limit_s:g} s while Wizer "
                               f"pre-initialised it (QuickJS interrupt handler)")
        if kind == "memory":
            return MemoryLimitExceeded(f"the worker's top level went past the {self.limits.memory_bytes}-byte "
                                       f"limit while Wizer pre-initialised it (QuickJS's malloc limit): {message}")
        return BackendError(f"pre-initialising the worker failed: {message}")

    # -- instances ----------------------------------------------------------------

    def _start_prepared(self, prepared: PreparedWorker, clock: PhaseClock | None = None) -> WizerInstance:
        store = self._new_store()
        raw = self._instantiate_in(store, prepared.pre.instantiate)
        if clock is not None:
            clock.mark("instantiate")
        try:
            instance = WizerInstance(self, store, raw)
        except BaseException:
            store.close()
            raise
        instance.track(self.live)
        if clock is not None:
            clock.mark("bind")
        try:
            instance.resume()
        except BaseException:
            instance.stop()
            raise
        if clock is not None:
            clock.mark("resume")
        return instance

    def start(self, worker: Worker, clock: PhaseClock) -> Instance:
        """instantiate (Store + InstancePre.instantiate), bind (exports), resume
        (per-instance seed and clock). prepare_worker only if prepare() was skipped."""
        prepared = self.prepared.get(self._worker_key(worker))
        if prepared is None:
            self.prepare(worker)
            clock.mark("prepare_worker")
            prepared = self.prepared[self._worker_key(worker)]
        return self._start_prepared(prepared, clock)

    def memory_baseline(self) -> list[MemoryFigure]:
        # As `wasm`: the code and the memory image are mapped with the first instance.
        if self._last is None:
            self.prepare(load_worker())
        self._start_prepared(self._last).stop()
        release_freed_memory()
        return self._process_figures()

    # -- what it records ------------------------------------------------------------

    def versions(self) -> dict[str, str]:
        versions = super().versions()
        versions["wizer"] = wizer_version()
        versions["engine"] = versions["engine"] and versions["engine"] + ", pre-initialised by Wizer"
        return versions

    def facts(self) -> dict:
        return {
            "wizer": wizer_version(),
            "base_module_bytes": self.module_path.stat().st_size if self.module_path else None,
            "workers": {prepared.label: prepared.facts() for prepared in self.prepared.values()},
            "prepare_timer": ("time.perf_counter around prepare(worker): Wizer (or reusing its snapshot), "
                              "compiling (or loading the compiled code) and InstancePre; never part of a cold start"),
            "fast_instantiation": {
                "allocator": self.allocator or None,
                **({"allocator_note": self.allocator_note} if self.allocator_note else {}),
                "pool_slots": POOL_SLOTS if self.allocator == "pooling" else None,
                "memory_init_cow": True,
                "instance_pre": True,
            },
            "instance": "fresh Store + empty WASI context + InstancePre.instantiate of the snapshot; "
                        "isobench_resume (Math.random seed, performance.now origin, stack top)",
            "instantiate_vs_published": PUBLISHED_INSTANTIATE,
            "limits": {"time": f"epoch interruption, {self.time_limit_s:g} s (+ up to the tick); at "
                               f"pre-initialisation a QuickJS interrupt handler",
                       "memory": ("Store.set_limits(memory_size); at pre-initialisation QuickJS's malloc limit"
                                  if self.limits.memory_bytes else "none")},
        }

    def close(self) -> None:
        super().close()
        self.prepared.clear()
        self._last = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

