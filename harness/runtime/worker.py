"""The worker contract: a single-file ES module in one of two forms.

- the handler form: `export function handler(arg)`, answering a string;
- the module form Cloudflare Workers use: `export default { fetch(request,
  env, ctx) }`, answering a Response. The harness sends it one request per
  call, built inside the engine from the workload's request template (the
  call's argument fills `{arg}` in the URL), and its answer is the body text.

Every backend but workerd evaluates the same *bundle*: the runtime prelude,
for a module worker its runtime (module.js), the Workers API
(workers_api.js) and its request template, then the worker with its `export` keywords turned into a classic
script that hands its handler or module to the runtime. The bundle
is plain JavaScript, so an engine with no module loader (py_mini_racer) and
node run the very same text. workerd imports the worker's own file as an ES
module (see `runtime_script`).

A workload is a folder under workloads/ with worker.js and workload.json
(name, description, form, request; see docs/workloads.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.paths import REPO_ROOT

RUNTIME_DIR = Path(__file__).parent
PRELUDE_PATH = RUNTIME_DIR / "prelude.js"
MODULE_RUNTIME_PATH = RUNTIME_DIR / "module.js"  # a module worker's runtime: request template, fetch, awaited timing
WORKERS_API_PATH = RUNTIME_DIR / "workers_api.js"  # a module worker's Workers API (not in workerd, which has its own)
WORKLOADS_DIR = REPO_ROOT / "workloads"
DEFAULT_WORKER = WORKLOADS_DIR / "hello" / "worker.js"
MANIFEST = "workload.json"
MAX_WORKER_BYTES = 16 << 20  # the size sweep's largest bundle is about 5 MB
# A deferred answer: the prelude returns this when the worker's answer is a
# promise, and the host then reads it with __isobench.settled() (or awaits
# __isobench.whenSettled()). The same string is in prelude.js; the QuickJS glue reads it from there.
PENDING = "\u0000isobench:pending"
# The request a module worker gets when its folder has no workload.json.
DEFAULT_REQUEST = {"method": "GET", "url": "https://example.com/?name={arg}", "headers": {}, "body": None}


class WorkerError(Exception):
    """The worker file breaks the contract; the message is one line."""


_IMPORT = re.compile(r"^\s*import\s+[\w{*'\"]", re.MULTILINE)
_EXPORT_DEFAULT = re.compile(r"^(\s*)export\s+default\s+", re.MULTILINE)
_EXPORT_DECLARATION = re.compile(
    r"^(\s*)export\s+((?:async\s+)?function\s*\*?\s*|class\s+|const\s+|let\s+|var\s+)([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_EXPORT_LIST = re.compile(r"^\s*export\s*\{([^}]*)\}\s*;?", re.MULTILINE)
_DEFAULT_LOCAL = "__isobench_default"


@dataclass(frozen=True)
class AnswerRule:
    """What every answer of a worker must satisfy, beyond arriving without an
    error (a module worker's status below 400 is already checked in the
    engine, by module.js). Real workers put timestamps and ids in their
    answers, so by default an answer need only be a non-empty string. The
    workload.json keys: `deterministic: true` (every answer to the same
    argument equals the first) and `answer_pattern` (a regular expression the
    whole answer must match)."""

    deterministic: bool = False
    pattern: str | None = None

    def problem(self, answer: object, first: object) -> str | None:
        """Why this answer is wrong, in a line, given the instance's first answer; None when it holds."""
        if not isinstance(answer, str) or not answer:
            return f"answer {answer!r} is not a non-empty string"
        if self.pattern is not None and re.fullmatch(self.pattern, answer, re.DOTALL) is None:
            return f"answer {answer[:120]!r} does not match the workload's answer_pattern {self.pattern!r}"
        if self.deterministic and answer != first:
            return (f"answer {answer[:120]!r} differs from the first answer {str(first)[:120]!r} "
                    "(the workload is declared deterministic)")
        return None

    def describe(self) -> str:
        parts = ["a non-empty string"]
        if self.pattern is not None:
            parts.append(f"matching {self.pattern!r}")
        if self.deterministic:
            parts.append("equal to the instance's first answer")
        return ", ".join(parts)

    @classmethod
    def from_manifest(cls, manifest: dict, where: Path) -> "AnswerRule":
        deterministic = manifest.get("deterministic", False)
        pattern = manifest.get("answer_pattern")
        if not isinstance(deterministic, bool):
            raise WorkerError(f"{where}: `deterministic` must be true or false")
        if pattern is not None:
            if not isinstance(pattern, str):
                raise WorkerError(f"{where}: `answer_pattern` must be a string (a regular expression)")
            try:
                re.compile(pattern)
            except re.error as error:
                raise WorkerError(f"{where}: `answer_pattern` is not a regular expression: {error}") from None
        return cls(deterministic=deterministic, pattern=pattern)


@dataclass(frozen=True)
class Worker:
    path: Path
    source: str
    bundle: str
    name: str = "custom"  # the workload's name; "custom" for a file outside workloads/
    form: str = "handler"  # "handler" or "module"
    request: dict = field(default_factory=dict)  # module form: the request template
    runtime_script: str = ""  # workerd's: prelude (+ module.js + request template), no worker, no workers_api.js
    answers: AnswerRule = field(default_factory=AnswerRule)  # what each answer must satisfy (workload.json)

    @functools.cached_property
    def sha256(self) -> str:
        """Computed once per Worker: backends key their prepared state by it inside start(), where
        hashing a 5 MB source again (about 7 ms here) would be timed as part of the cold start."""
        return hashlib.sha256(self.source.encode()).hexdigest()

    def describe(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "bytes": len(self.source.encode()),
                "workload": self.name, "form": self.form}


def exported_names(source: str, filename: str = "worker.js") -> tuple[str, dict[str, str]]:
    """The worker's body with its `export` keywords removed, and what it
    exports (exported name -> local name)."""
    if _IMPORT.search(source):
        raise WorkerError(f"{filename}: imports are not supported; a worker is a single file (bundle it first)")
    exported: dict[str, str] = {}

    def declaration(match: re.Match) -> str:
        exported[match.group(3)] = match.group(3)
        return match.group(1) + match.group(2) + match.group(3)

    def export_list(match: re.Match) -> str:
        for item in match.group(1).split(","):
            parts = item.split()
            if len(parts) == 1:
                exported[parts[0]] = parts[0]
            elif len(parts) == 3 and parts[1] == "as":
                exported[parts[2]] = parts[0]
            elif parts:
                raise WorkerError(f"{filename}: cannot read export list entry {item.strip()!r}")
        return ""

    def default(match: re.Match) -> str:
        if "default" in exported:
            raise WorkerError(f"{filename}: more than one default export")
        exported["default"] = _DEFAULT_LOCAL
        return f"{match.group(1)}const {_DEFAULT_LOCAL} = "

    body = _EXPORT_DECLARATION.sub(declaration, source)
    body = _EXPORT_LIST.sub(export_list, body)
    body = _EXPORT_DEFAULT.sub(default, body)
    return body, exported


def worker_form(exported: dict[str, str], filename: str = "worker.js") -> str:
    if "handler" in exported:
        return "handler"
    if "default" in exported:
        return "module"
    raise WorkerError(f"{filename}: the worker exports neither `handler` nor a default object with fetch()")


def to_script(source: str, filename: str = "worker.js") -> str:
    """Rewrite the worker's exports so that it runs as a classic script.

    Supports `export function|class|const|let|var NAME`, `export { a, b as
    handler }`, `export default EXPRESSION` and `export { x as default }`.
    Raises WorkerError when the module imports, or exports neither `handler`
    nor a default. An error the worker throws while it loads is passed
    through __isobench.explain, which names a Workers API the runtime lacks.
    """
    body, exported = exported_names(source, filename)
    return _script(body, exported, worker_form(exported, filename))


def _script(body: str, exported: dict[str, str], form: str) -> str:
    if form == "handler":
        register = f"globalThis.__isobench.setHandler({exported['handler']});"
    else:
        register = f"globalThis.__isobench.setModule({exported['default']});"
    return (
        "try {\n"
        "(function () {\n"
        f"{body}\n"
        f"{register}\n"
        "})();\n"
        "} catch (error) { throw globalThis.__isobench.explain(error); }\n"
    )


def _read_text(path: Path, what: str = "worker file", limit: int = MAX_WORKER_BYTES) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WorkerError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise WorkerError(f"{what} path is a directory, not a file: {path}") from None
    except OSError as error:
        raise WorkerError(f"cannot read {what} {path}: {error.strerror}") from None
    if len(raw) > limit:
        raise WorkerError(f"{path}: larger than {limit} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkerError(f"{path}: not UTF-8 text") from None


def read_manifest(worker_path: Path) -> dict:
    """The workload.json beside a worker file ({} when there is none)."""
    manifest = worker_path.parent / MANIFEST
    if not manifest.is_file():
        return {}
    try:
        raw = json.loads(_read_text(manifest, "workload manifest"))
    except json.JSONDecodeError as error:
        raise WorkerError(f"{manifest}: corrupt JSON (line {error.lineno}: {error.msg})") from None
    if not isinstance(raw, dict):
        raise WorkerError(f"{manifest}: expected a JSON object")
    return raw


def request_template(manifest: dict, folder: Path) -> dict:
    """The request a module worker gets: method, URL with `{arg}`, headers, body."""
    given = manifest.get("request") or {}
    where = folder / MANIFEST
    if not isinstance(given, dict):
        raise WorkerError(f"{where}: `request` must be an object")
    request = {**DEFAULT_REQUEST, **{k: v for k, v in given.items() if k != "body_file"}}
    if "body_file" in given:
        request["body"] = _read_text(folder / str(given["body_file"]), "request body file")
    if not isinstance(request["url"], str) or "://" not in request["url"]:
        raise WorkerError(f"{where}: request.url must be an absolute URL, e.g. https://example.com/?name={{arg}}")
    if not isinstance(request["headers"], dict) or not all(isinstance(v, str) for v in request["headers"].values()):
        raise WorkerError(f"{where}: request.headers must map names to strings")
    if request["body"] is not None and not isinstance(request["body"], str):
        raise WorkerError(f"{where}: request.body must be a string")
    request["method"] = str(request["method"]).upper()
    return request


def load_worker(path: str | Path | None = None) -> Worker:
    """Read and check a worker file (and its workload.json), and build its bundle."""
    worker_path = Path(path) if path is not None else DEFAULT_WORKER
    source = _read_text(worker_path)
    body, exported = exported_names(source, worker_path.name)
    form = worker_form(exported, worker_path.name)
    script = _script(body, exported, form)
    manifest = read_manifest(worker_path)
    request = request_template(manifest, worker_path.parent) if form == "module" else {}
    folder = worker_path.resolve().parent
    name = str(manifest.get("name") or (folder.name if folder.parent == WORKLOADS_DIR.resolve() else "custom"))
    answers = AnswerRule.from_manifest(manifest, worker_path.parent / MANIFEST)
    prelude = PRELUDE_PATH.read_text()
    if form == "handler":
        return Worker(path=worker_path.resolve(), source=source, bundle=prelude + "\n" + script, name=name,
                      form=form, request=request, runtime_script=prelude, answers=answers)
    runtime = prelude + "\n" + MODULE_RUNTIME_PATH.read_text()
    template = f"\nglobalThis.__isobench.setRequest({json.dumps(request)});\n"
    api = WORKERS_API_PATH.read_text()
    return Worker(path=worker_path.resolve(), source=source, bundle=runtime + "\n" + api + template + "\n" + script,
                  name=name, form=form, request=request, runtime_script=runtime + template, answers=answers)


# ---------------------------------------------------------------- workloads

def workload_names() -> list[str]:
    """The workloads under workloads/ (folders with worker.js and workload.json): hello and
    its module form first, then the others by name, then the size sweep from small to large."""
    names = [p.parent.name for p in WORKLOADS_DIR.glob(f"*/{MANIFEST}") if (p.parent / "worker.js").is_file()]
    return sorted(names, key=lambda n: (not n.startswith("hello"), _size_order(n), n))


def _size_order(name: str) -> float:
    """size-10k < size-100k < size-1m < size-5m; other names keep their place."""
    match = re.fullmatch(r"size-(\d+)([km])", name)
    return 0.0 if not match else int(match.group(1)) * (1e3 if match.group(2) == "k" else 1e6)


def workload_file(name: str) -> Path:
    names = workload_names()
    if name not in names:
        raise WorkerError(f"unknown workload {name!r}; choose from: {', '.join(names)} (or all)")
    return WORKLOADS_DIR / name / "worker.js"


def parse_workloads(text: str) -> list[str]:
    """`--workload NAME[,NAME...]` or `all`, checked."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return workload_names()
    if not names:
        raise WorkerError("--workload needs a name, a comma-separated list, or all")
    for name in names:
        workload_file(name)
    return list(dict.fromkeys(names))
