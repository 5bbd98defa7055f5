// Markdown to HTML with marked (third-party code from npm): the request body
// is a markdown document, the answer is a complete HTML page.
import { Marked } from "marked";

const marked = new Marked({ gfm: true, breaks: false, async: false });

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const markdown = await request.text();
    const heading = /^#\s+(.+)$/m.exec(markdown);
    const title = heading ? heading[1] : url.pathname;
    const body = marked.parse(markdown);
    const html =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
      "<title>" + escapeHtml(title) + "</title>\n</head>\n<body>\n<main data-page=\"" + escapeHtml(url.pathname) + "\">\n" +
      body + "</main>\n</body>\n</html>\n";
    return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
  },
};
