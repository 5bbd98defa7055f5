// isobench's runtime for module workers (`export default { fetch }`),
// evaluated after the prelude in every engine, workerd included. Each call is
// one request, built here from the workload's request template
// (setRequest); the answer is the response's body text.
(function () {
  'use strict';
  const api = globalThis.__isobench;
  const now = api.now;
  // Each call is awaited before the next, and the baseline awaits identity,
  // so the await's own cost cancels. Two copies: one call target each.
  const timed = async (fn, args, count) => {
    let sum = 0;
    const start = now();
    for (let i = 0; i < count; i++) {
      const answer = String(await fn(args[i & 63]));
      sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
    }
    return [now() - start, sum];
  };
  const timedBaseline = async (fn, args, count) => {
    let sum = 0;
    const start = now();
    for (let i = 0; i < count; i++) {
      const answer = String(await fn(args[i & 63]));
      sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
    }
    return [now() - start, sum];
  };
  // The answer: the response's body text; an error status is an error.
  const bodyText = (response) => {
    if (response === null || typeof response !== 'object' || typeof response.status !== 'number') {
      throw new TypeError('the worker\'s fetch() did not return a Response');
    }
    if (response.status >= 400) {
      throw new Error('the worker answered HTTP ' + response.status);
    }
    // workers_api.js's Response reads its string body at once; workerd's is a stream.
    return typeof response.bodyText === 'function' ? response.bodyText() : response.text();
  };

  Object.assign(api, {
    module: null,
    request: { method: 'GET', url: 'https://example.com/?name={arg}', headers: {}, body: null },
    env: { sayHello: globalThis.sayHello },
    ctx: { waitUntil() {}, passThroughOnException() {} },
    lacking(what) {
      const error = new Error(what + ' is not provided by the isobench runtime (' + api.DOCS + ')');
      error.name = 'MissingWorkersAPI';
      return error;
    },
    setModule(module) {
      if (module === null || typeof module !== 'object' || typeof module.fetch !== 'function') {
        throw new TypeError('the default export is not an object with a fetch(request, env, ctx) method');
      }
      this.form = 'module';
      this.module = module;
      this.handler = (arg) => this.serve(arg);
    },
    setRequest(template) {
      this.request = template;
    },
    // One request to the module worker; the answer is the response's body text.
    serve(arg) {
      const t = this.request;
      const init = { method: t.method, headers: t.headers };
      if (t.body !== null && t.body !== undefined && t.method !== 'GET' && t.method !== 'HEAD') init.body = t.body;
      const response = this.module.fetch(new Request(t.url.split('{arg}').join(encodeURIComponent(arg)), init),
                                         this.env, this.ctx);
      return this.isThenable(response) ? response.then(bodyText) : bodyText(response);
    },
    engineTimeAsync(args, minMs) {
      const handler = this.handler;
      const identity = (x) => x;
      const loop = async () => {
        for (let count = 1; ; count *= 2) {
          const [elapsed, sum] = await timed(handler, args, count);
          if (elapsed >= minMs || count >= 1 << 30) {
            await timedBaseline(identity, args, Math.min(count, 1 << 16));  // warm the baseline up first
            const [baseline, baselineSum] = await timedBaseline(identity, args, count);
            return this.timing(elapsed, baseline, count, sum ^ baselineSum);
          }
        }
      };
      return this.defer(loop());
    },
  });
})();
