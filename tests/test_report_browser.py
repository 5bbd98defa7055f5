"""report.html in a real browser (Debian's headless Chromium): the page loads
from the file alone, every image decodes, its text is there, and it makes no
request of its own. Skipped where Chromium is absent, unless
ISOBENCH_REQUIRE_BROWSER=1 (CI installs it)."""

import json
import os
import re
import shutil
import subprocess

import pytest

from harness.report import build_report

from .synthetic import synthetic_run

PROBE = """<script>
window.addEventListener("securitypolicyviolation", (e) => { (window.__blocked = window.__blocked || []).push(e.blockedURI); });
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const requests = performance.getEntriesByType("resource").map((e) => e.name).filter((n) => !n.startsWith("data:"));
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    images: images.length,
    decoded: images.filter((i) => i.complete && i.naturalWidth > 0).length,
    requests, blocked: window.__blocked || [],
    text: document.body.innerText.slice(0, 400),
  });
  document.body.appendChild(out);
});
</script>"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("ISOBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


def test_the_html_report_loads_with_every_image_and_no_request(tmp_path):
    browser = chromium()
    build_report(synthetic_run(1, trials=4), tmp_path / "report")
    page = (tmp_path / "report" / "report.html").read_text()
    # The probe needs an inline script; everything else of the page's policy stays.
    probe_page = page.replace("style-src 'unsafe-inline'", "style-src 'unsafe-inline'; script-src 'unsafe-inline'")
    probe_page = probe_page.replace("</body>", PROBE + "</body>")
    target = tmp_path / "report" / "probe.html"
    target.write_text(probe_page)
    result = subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
                             "--dump-dom", target.as_uri()], capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert match, f"the page did not load: {result.stderr[-800:]}"
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert probe["images"] >= 4 and probe["decoded"] == probe["images"]
    assert probe["requests"] == [] and probe["blocked"] == []
    assert "isobench report" in probe["text"] and "What this means" in probe["text"]
    screenshot = tmp_path / "report" / "page.png"
    subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=1280,2400",
                    f"--screenshot={screenshot}", (tmp_path / "report" / "report.html").as_uri()],
                   capture_output=True, timeout=120)
    assert screenshot.exists() and screenshot.stat().st_size > 10_000
    keep = os.environ.get("ISOBENCH_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, keep)
