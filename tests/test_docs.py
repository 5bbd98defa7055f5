"""The documentation holds: every relative link in README.md and docs/ names a
file inside the repository, and every #anchor into a markdown file names one
of its headings (GitHub's slugs)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
EXTERNAL = ("http://", "https://", "mailto:")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation gone, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    for line in FENCE.sub("", page.read_text()).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    return [a or b for a, b in LINK.findall(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page):
    broken = []
    for target in links(page):
        if target.startswith(EXTERNAL):
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if ROOT not in where.parents and where != ROOT:
            broken.append(f"{target}: outside the repository")
        elif not where.exists():
            broken.append(f"{target}: no such file")
        elif anchor and where.suffix == ".md" and anchor not in anchors(where):
            broken.append(f"{target}: no heading #{anchor} in {where.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A title\n\n[ok](#a-title) [gone](missing.md) [code](`x`)\n```\n[not a link](nowhere.md)\n```\n")
    assert links(page) == ["#a-title", "missing.md"]
    assert anchors(page) == {"a-title"}
    assert slug("Where the isolate loses on `calls`, (2026)") == "where-the-isolate-loses-on-calls-2026"


def globals_table() -> str:
    """docs/workers-api.md's table, from each backend's host_globals (backends that declare the same share a column)."""
    from harness.backends import REGISTRY, backend_class
    from harness.runtime.api_surface import CANDIDATES, WORKERS_API

    columns: dict[frozenset, list[str]] = {}
    for name in REGISTRY:
        columns.setdefault(frozenset(backend_class(name).host_globals), []).append(name)
    rows = ["| global | " + " | ".join(", ".join(f"`{n}`" for n in names) for names in columns.values()) + " |",
            "|---|" + "---|" * len(columns)]
    for name in CANDIDATES:
        cells = ["yes" if name in found else "module form" if name in WORKERS_API else "–" for found in columns]
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def test_the_globals_table_is_what_the_backends_declare():
    page = (ROOT / "docs" / "workers-api.md").read_text()
    expected = globals_table()
    assert expected in page, "docs/workers-api.md's globals table is stale; it should read:\n" + expected
