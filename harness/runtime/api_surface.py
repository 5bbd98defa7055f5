"""Which globals a worker meets beyond isobench's own runtime, per backend.

Every backend evaluates the same bundle, but the engines around it differ:
node (and Deno, Bun, the containers) expose `crypto`, `Buffer`, `process`,
timers and more; py_mini_racer's isolate only `setTimeout`; QuickJS `atob`;
workerd the real Workers API. So "the same worker" can meet a different API
per backend. isobench does not hide the engines' globals (a worker that uses
`crypto` is measured wherever `crypto` exists); it finds a worker that needs a
global only some of the requested backends provide, before measuring, and
records the others unavailable for that worker, with the backends named
(harness/measure/preflight.py).

- CANDIDATES: the globals some engine exposes and another lacks (plus the
  Workers API classes, which every backend has for a module worker).
- Each Backend class declares `host_globals`, the CANDIDATES its engine
  exposes to a handler-form worker; tests/test_backend_contract.py checks the
  declaration against PROBE_SOURCE run on the backend itself, in both forms.
- `referenced_globals` finds the CANDIDATES a worker's source names outside
  comments, strings, property accesses, object keys and `typeof` guards. It is
  a scan, not a parser: a reference it finds is confirmed by running the
  worker on a backend that lacks the global (preflight.py), so a guarded or
  unused reference excludes nothing.
"""

from __future__ import annotations

import json
import re

# Module workers get these from workers_api.js (workerd: its own API) on every backend.
WORKERS_API = ("Headers", "URLSearchParams", "URL", "Request", "Response", "console", "fetch")
CANDIDATES = (
    "crypto", "TextEncoder", "TextDecoder", "setTimeout", "setInterval", "clearTimeout", "clearInterval",
    "setImmediate", "queueMicrotask", "structuredClone", "atob", "btoa", "performance", "navigator", "self",
    "Buffer", "process", "global", "require", "Deno", "Bun",
    "caches", "scheduler", "HTMLRewriter", "WebSocketPair", "WebSocket", "URLPattern",
    "ReadableStream", "WritableStream", "TransformStream", "Blob", "FormData", "File",
    "AbortController", "AbortSignal", "EventTarget", "Event", "MessageChannel", "BroadcastChannel",
    "WebAssembly", "Intl", "SharedArrayBuffer", "Atomics", "WeakRef", "FinalizationRegistry",
) + WORKERS_API

# A handler-form worker that answers the CANDIDATES its engine exposes, comma-separated.
PROBE_SOURCE = (
    f"const NAMES = {json.dumps(list(CANDIDATES))};\n"
    + "export function handler(arg) {\n"
      "  return NAMES.filter((name) => typeof globalThis[name] !== 'undefined').join(',');\n"
      "}\n"
)
MODULE_PROBE_SOURCE = PROBE_SOURCE.replace(
    "export function handler(arg) {", "function handler(arg) {") + (
    "export default { fetch() { return new Response(handler('')); } };\n")

_SKIPPED = re.compile(r"""//[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`""", re.DOTALL)
_NAMES = re.compile(r"(?<![\w$.])(" + "|".join(re.escape(n) for n in CANDIDATES) + r")(?![\w$])")
_GUARD = re.compile(r"typeof\s*\(?\s*$")
_KEY = re.compile(r"\s*:(?!:)")
_NOT_DEFINED = re.compile(r"the worker uses `([\w$.]+)`, which is not defined")


def exposed(host_globals: frozenset[str], form: str) -> frozenset[str]:
    """The CANDIDATES a worker of this form meets on a backend whose engine exposes host_globals."""
    return frozenset(host_globals) | (frozenset(WORKERS_API) if form == "module" else frozenset())


def referenced_globals(source: str) -> frozenset[str]:
    """The CANDIDATES the source names as a global (outside comments and strings;
    not `x.name`, not `{name: ...}`, not after `typeof`)."""
    code = _SKIPPED.sub(lambda m: " " * len(m.group(0)), source)
    found = set()
    for match in _NAMES.finditer(code):
        before, after = code[max(0, match.start() - 12):match.start()], code[match.end():match.end() + 3]
        if _GUARD.search(before) or (_KEY.match(after) and not before.rstrip().endswith("?")):
            continue
        found.add(match.group(1))
    return frozenset(found)


def global_not_defined(message: str) -> str | None:
    """The global an error says the worker used and the engine lacks (the prelude's `explain`), or None."""
    match = _NOT_DEFINED.search(message)
    return match.group(1) if match else None
