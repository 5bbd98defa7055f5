// isobench's ES-module wrapper for workerd. workerd loads workers as ES
// modules and serves them over HTTP, so the same bundle as every backend
// (harness/runtime/prelude.js + the worker with its exports rewritten) is
// imported for its side effects, and `fetch` calls the worker's handler
// through the prelude's __isobench object. `sayHello` comes from the prelude.
//   GET /call?arg=A             -> 200, the handler's answer as text
//   GET /ping                   -> 200, empty: the transport without the handler
//   GET /engine?arg=A&min_ms=M  -> 200, __isobench.engineTime as JSON
import "./bundle.js";

const api = globalThis.__isobench;

export default {
  fetch(request) {
    const url = new URL(request.url);
    const arg = url.searchParams.get("arg") ?? "";
    try {
      switch (url.pathname) {
        case "/call":
          return new Response(String(api.call(arg)));
        case "/ping":
          return new Response("");
        case "/engine":
          return Response.json(api.engineTime(arg, Number(url.searchParams.get("min_ms"))));
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (error) {
      return new Response(String(error), { status: 500 });
    }
  },
};
