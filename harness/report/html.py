"""report.html: the same content as report.md, in one self-contained file.
markdown-it-py renders the markdown (raw HTML such as <details> passes
through); every image is embedded as a data: URI; the style is inline; and a
Content-Security-Policy forbids the page any request, so it opens offline and
leaks nothing."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from markdown_it import MarkdownIt

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328;
       max-width: 1040px; margin: 2em auto; padding: 0 1.2em; }
h1, h2 { border-bottom: 1px solid #d8dee4; padding-bottom: .25em; }
table { border-collapse: collapse; margin: 1em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid #d0d7de; padding: 4px 9px; vertical-align: top; }
tr:nth-child(2n) { background: #f6f8fa; }
td:not(:first-child) { font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; }
blockquote { border-left: 4px solid #d0a000; margin: 1em 0; padding: .2em 1em; background: #fff8e1; }
details { margin: 1em 0; padding: .4em .8em; border: 1px solid #d0d7de; border-radius: 6px; }
summary { cursor: pointer; font-weight: 600; }
code { background: #f0f2f4; padding: .1em .3em; border-radius: 4px; font-size: 90%; }
"""


def _embed(body: str, folder: Path) -> str:
    """Every <img src="x.png"> as a data: URI read from the report's folder."""
    def inline(match: re.Match) -> str:
        source = html.unescape(match.group(2))
        path = folder / source
        if source.startswith("data:") or not path.is_file():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode()
        return f'{match.group(1)}data:image/png;base64,{data}{match.group(3)}'
    return re.sub(r'(<img[^>]*?src=")([^"]+)(")', inline, body)


def render(markdown_text: str, folder: Path, title: str = "isobench report") -> str:
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    body = _embed(parser.render(markdown_text), folder)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")
