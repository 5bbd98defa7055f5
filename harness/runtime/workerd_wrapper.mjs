// isobench's ES-module wrapper for workerd. workerd runs the worker natively:
// runtime.js (the prelude every backend evaluates, without isobench's Workers
// API: workerd has its own) is imported first, then the worker's own file as an ES module,
// and `fetch` calls the worker through the prelude's __isobench object.
//   GET /call?arg=A             -> 200, the worker's answer as text
//   GET /ping                   -> 200, empty: the transport without the worker
//   GET /engine?arg=A&min_ms=M  -> 200, __isobench.engineJSON
import "./runtime.js";
import * as worker from "./worker.js";

const api = globalThis.__isobench;
if (typeof worker.handler === "function") {
  api.setHandler(worker.handler);
} else {
  api.setModule(worker.default);
}

// A module worker's answer is a promise (PENDING): the response waits for it.
function answer(value) {
  if (value !== api.PENDING) return new Response(String(value));
  return api.whenSettled().then((text) => new Response(String(text)), failed);
}

function failed(error) {
  return new Response(String(error), { status: 500 });
}

export default {
  fetch(request) {
    const url = new URL(request.url);
    const arg = url.searchParams.get("arg") ?? "";
    try {
      switch (url.pathname) {
        case "/call":
          return answer(api.call(arg));
        case "/ping":
          return new Response("");
        case "/engine":
          return answer(api.engineJSON(arg, Number(url.searchParams.get("min_ms"))));
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (error) {
      return failed(error);
    }
  },
};
