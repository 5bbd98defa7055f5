"""The `wasm` backend's compile cache: wasmtime's compiled code for the QuickJS
module, serialized (Module.serialize) next to the .wasm in build/wasm/, so
that a fresh process loads it in milliseconds instead of compiling it again.

The file is named by a key: the sha256 of the .wasm bytes, the wasmtime
version, the engine settings (the Config flags wasm.py sets) and the machine
architecture. A JSON sidecar records those parts, the artifact's sha256 and
the compile time measured when it was made. Both are written atomically
(temporary file, then rename); the artifact last.

wasmtime's deserialize runs the code it is given, so it must only ever see
bytes that wasmtime serialized: the artifact is hashed and checked against
its sidecar before it is loaded. A cache file that fails that check, has no
readable sidecar, or that wasmtime refuses (another wasmtime build or
configuration) is ignored and rebuilt, and the reason is kept in `note`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from harness.results.store import write_atomic

COMPILED = "compiled now"
CACHED = "loaded from the compile cache"
CACHE_SUFFIX = ".cwasm"


@dataclass(frozen=True)
class LoadedModule:
    module: object  # wasmtime.Module
    source: str  # COMPILED or CACHED
    compile_ms: float | None  # measured now, when compiled
    load_ms: float | None  # measured now, when loaded: read + hash check + deserialize
    cached_compile_ms: float | None  # the compile time recorded when the cache file was made
    cache_path: Path
    note: str = ""  # why the cache was not used, or not written; "" when all went well


def wasmtime_version() -> str:
    return importlib.metadata.version("wasmtime")


def cache_key_parts(binary: bytes, settings: dict) -> dict:
    return {
        "module_sha256": hashlib.sha256(binary).hexdigest(),
        "wasmtime": wasmtime_version(),
        "engine_settings": {name: settings[name] for name in sorted(settings)},
        "machine": platform.machine(),
    }


def cache_key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cache_path(wasm_path: Path, key: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or wasm_path.parent) / f"{wasm_path.stem}.{key[:16]}{CACHE_SUFFIX}"


def sidecar_path(artifact: Path) -> Path:
    return artifact.with_suffix(".json")


def load_or_compile(engine, wasm_path: Path, settings: dict, cache_dir: Path | None = None) -> LoadedModule:
    """The compiled module for wasm_path under engine (made with `settings`):
    from the cache when a sound cache file is there, else compiled and cached."""
    import wasmtime

    binary = wasm_path.read_bytes()
    parts = cache_key_parts(binary, settings)
    key = cache_key(parts)
    artifact = cache_path(wasm_path, key, cache_dir)
    loaded, note = _load(wasmtime, engine, artifact, key)
    if loaded is not None:
        return loaded
    started = time.perf_counter()
    module = wasmtime.Module(engine, binary)
    compile_ms = (time.perf_counter() - started) * 1e3
    written = _store(wasmtime, module, artifact, {"key": key, **parts, "compile_ms": compile_ms})
    return LoadedModule(module, COMPILED, compile_ms, None, None, artifact,
                        "; ".join(text for text in (note, written) if text))


def _load(wasmtime, engine, artifact: Path, key: str) -> tuple[LoadedModule | None, str]:
    """(the module loaded from artifact, "") or (None, why not; "" if there is no cache file)."""
    started = time.perf_counter()
    try:
        data = artifact.read_bytes()
    except FileNotFoundError:
        return None, ""
    except OSError as error:
        return None, f"cache file unreadable ({error.strerror}); compiled again"
    try:
        info = json.loads(sidecar_path(artifact).read_text())
        recorded_key, recorded_sha, compile_ms = info["key"], info["artifact_sha256"], info.get("compile_ms")
    except (OSError, ValueError, KeyError, TypeError):
        return None, "cache sidecar missing or unreadable; compiled again"
    if recorded_key != key or hashlib.sha256(data).hexdigest() != recorded_sha:
        return None, "cache file corrupt (its sha256 differs from the sidecar's); compiled again"
    try:
        module = wasmtime.Module.deserialize(engine, data)
    except wasmtime.WasmtimeError as error:
        reason = [line.strip() for line in str(error).splitlines() if line.strip()][-1:]
        return None, f"wasmtime refused the cache file ({reason[0] if reason else 'no reason'}); compiled again"
    load_ms = (time.perf_counter() - started) * 1e3
    cached_ms = float(compile_ms) if isinstance(compile_ms, (int, float)) else None
    return LoadedModule(module, CACHED, None, load_ms, cached_ms, artifact), ""


def _store(wasmtime, module, artifact: Path, info: dict) -> str:
    """Write the artifact and its sidecar; '' or why it could not."""
    try:
        data = module.serialize()
        sidecar = {**info, "artifact_sha256": hashlib.sha256(data).hexdigest(), "artifact_bytes": len(data)}
        write_atomic(sidecar_path(artifact), json.dumps(sidecar, indent=1) + "\n")
        write_atomic(artifact, data)
    except (OSError, wasmtime.WasmtimeError) as error:
        return f"cache not written ({error})"
    return ""
