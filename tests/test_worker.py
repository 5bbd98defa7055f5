import pytest

from harness.runtime.worker import DEFAULT_WORKER, WorkerError, load_worker, to_script


def test_default_worker_exports_handler():
    worker = load_worker()
    assert worker.path == DEFAULT_WORKER.resolve()
    assert "export" not in worker.bundle.split("isobench runtime prelude")[-1].split("(function () {\n", 2)[-1]
    assert "__isobench.setHandler(handler)" in worker.bundle
    assert len(worker.sha256) == 64


@pytest.mark.parametrize("source, registered", [
    ("export function handler(n) { return n; }", "handler"),
    ("export async function handler(n) { return n; }", "handler"),
    ("export const handler = (n) => n;", "handler"),
    ("function impl(n) { return n; }\nexport { impl as handler };", "impl"),
    ("const handler = (n) => n;\nexport { handler };", "handler"),
])
def test_export_forms(source, registered):
    script = to_script(source)
    assert "export" not in script
    assert f"__isobench.setHandler({registered});" in script


@pytest.mark.parametrize("source, message", [
    ("export function other(n) { return n; }", "exports neither `handler` nor a default"),
    ("import x from './x.js';\nexport function handler() {}", "imports are not supported"),
    ("", "exports neither `handler` nor a default"),
    ("export default {};\nexport default {};", "more than one default export"),
])
def test_contract_violations(source, message):
    with pytest.raises(WorkerError, match=message):
        to_script(source)


def test_missing_file(tmp_path):
    with pytest.raises(WorkerError, match="not found"):
        load_worker(tmp_path / "nope.js")


def test_directory(tmp_path):
    with pytest.raises(WorkerError, match="directory"):
        load_worker(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "w.js"
    path.write_bytes(b"\xff\xfe export function handler() {}")
    with pytest.raises(WorkerError, match="UTF-8"):
        load_worker(path)


def test_the_worker_hash_is_computed_once(monkeypatch):
    """Backends look their prepared state up by sha256 inside start(): hashing again there would be timed."""
    import hashlib

    from harness.runtime import worker as worker_module

    worker = worker_module.load_worker(worker_module.workload_file("size-10k"))
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(worker_module.hashlib, "sha256", lambda data: calls.append(1) or real(data))
    first = worker.sha256
    assert worker.sha256 == first == real(worker.source.encode()).hexdigest()
    assert len(calls) == 1
