// isobench runtime prelude: evaluated as a classic script before the worker,
// identically by every backend. It supplies the `sayHello` binding, a minimal
// Workers API for module workers (docs/workers-api.md lists what is there),
// and the `__isobench` object through which hosts call the worker.
(function () {
  'use strict';
  if (typeof globalThis.sayHello !== 'function') {
    globalThis.sayHello = function sayHello(name) {
      return 'Hello ' + name + '!';
    };
  }
  const hasPerformance =
    typeof performance !== 'undefined' && typeof performance.now === 'function';
  const now = hasPerformance ? () => performance.now() : () => Date.now();
  // The clock's smallest step (ms): the least change seen between readings.
  const clockStep = () => {
    let step = Infinity;
    for (let i = 0; i < 5; i++) {
      const first = now();
      let next = now();
      for (let spins = 0; next === first && spins < 1e7; spins++) next = now();
      if (next > first) step = Math.min(step, next - first);
    }
    return step === Infinity ? null : step;
  };
  // Where the answer is a promise, hosts get this string and then read the
  // answer with settled() (or await whenSettled()). Also in worker.py and quickjs_wasm.c.
  const PENDING = '\u0000isobench:pending';
  const DOCS = 'docs/workers-api.md lists what the isobench runtime provides';
  const lacking = (what) => {
    const error = new Error(what + ' is not provided by the isobench runtime (' + DOCS + ')');
    error.name = 'MissingWorkersAPI';
    return error;
  };
  const isThenable = (value) => value !== null && (typeof value === 'object' || typeof value === 'function') &&
    typeof value.then === 'function';
  // workerd has the real Workers API; its wrapper sets this flag before the prelude runs.
  const nativeWeb = globalThis.__isobenchNativeWeb === true;

  // Two copies of each timing loop, so each has one call target (monomorphic).
  const timeSync = (fn, args, count) => {
    let sum = 0;
    const start = now();
    for (let i = 0; i < count; i++) {
      const answer = String(fn(args[i & 63]));
      sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
    }
    return [now() - start, sum];
  };
  const timeSyncBaseline = (fn, args, count) => {
    let sum = 0;
    const start = now();
    for (let i = 0; i < count; i++) {
      const answer = String(fn(args[i & 63]));
      sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
    }
    return [now() - start, sum];
  };
  // Module workers answer through promises: each call is awaited before the
  // next, and the baseline awaits identity, so the await's own cost cancels.
  const timeAsync = async (fn, args, count) => {
    let sum = 0;
    const start = now();
    for (let i = 0; i < count; i++) {
      const answer = String(await fn(args[i & 63]));
      sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
    }
    return [now() - start, sum];
  };
  const timeAsyncBaseline = async (fn, args, count) => {
    let sum = 0;
    const start = now();
    for (let i = 0; i < count; i++) {
      const answer = String(await fn(args[i & 63]));
      sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
    }
    return [now() - start, sum];
  };

  globalThis.__isobench = {
    clock: hasPerformance ? 'performance.now' : 'Date.now',
    PENDING,
    form: null,  // 'handler' or 'module'
    handler: null,  // (arg) -> answer, or a promise of it
    module: null,
    request: { method: 'GET', url: 'https://example.com/?name={arg}', headers: {}, body: null },
    env: { sayHello: globalThis.sayHello },
    ctx: { waitUntil() {}, passThroughOnException() {} },
    slot: null,
    setHandler(fn) {
      if (typeof fn !== 'function') {
        throw new TypeError('worker does not export a function named handler');
      }
      this.form = 'handler';
      this.handler = fn;
    },
    setModule(module) {
      if (module === null || typeof module !== 'object' || typeof module.fetch !== 'function') {
        throw new TypeError('the default export is not an object with a fetch(request, env, ctx) method');
      }
      this.form = 'module';
      this.module = module;
      this.handler = (arg) => this.serve(arg);
    },
    // A module worker's runtime: the request template, and (but in workerd)
    // the minimal Workers API. A handler worker gets neither, so hello's start
    // costs what it did before module workers existed.
    setRequest(template) {
      this.request = template;
      if (!nativeWeb) installWebAPI(lacking);
    },
    // One request to the module worker; the answer is the response's body text.
    serve(arg) {
      const t = this.request;
      const init = { method: t.method, headers: t.headers };
      if (t.body !== null && t.body !== undefined && t.method !== 'GET' && t.method !== 'HEAD') init.body = t.body;
      const response = this.module.fetch(new Request(t.url.split('{arg}').join(encodeURIComponent(arg)), init),
                                         this.env, this.ctx);
      return isThenable(response) ? response.then(bodyText) : bodyText(response);
    },
    // A ReferenceError for a global the runtime lacks names it and says so.
    explain(error) {
      if (error instanceof ReferenceError) {
        const match = /^'?([\w$.]+)'? is not defined/.exec(error.message);
        if (match) {
          const named = new ReferenceError('the worker uses `' + match[1] + '`, which is not defined: ' + DOCS);
          return named;
        }
      }
      return error;
    },
    defer(promise) {
      const slot = { state: 'pending', value: undefined };
      slot.promise = promise.then(
        (value) => { slot.state = 'done'; slot.value = value; return value; },
        (error) => { slot.state = 'failed'; slot.value = this.explain(error); throw slot.value; });
      slot.promise.catch(() => {});  // read by settled() or whenSettled()
      this.slot = slot;
      return PENDING;
    },
    // The deferred answer, after the engine ran its microtasks (engines do at
    // the end of each eval); an answer still pending waits for what this
    // runtime never delivers (a timer, I/O, an outbound fetch).
    settled() {
      const slot = this.slot;
      this.slot = null;
      if (slot === null) throw new Error('isobench: no answer is pending');
      if (slot.state === 'failed') throw slot.value;
      if (slot.state === 'pending') {
        throw new Error('the worker\'s answer never settled: it waits for something the isobench runtime never ' +
                        'delivers (a timer, I/O or an outbound fetch)');
      }
      return slot.value;
    },
    whenSettled() {
      const slot = this.slot;
      this.slot = null;
      if (slot === null) return Promise.reject(new Error('isobench: no answer is pending'));
      return slot.promise;
    },
    // The handler's answer for arg, or PENDING when it is a promise.
    call(arg) {
      let answer;
      try {
        answer = this.handler(arg);
      } catch (error) {
        throw this.explain(error);
      }
      return isThenable(answer) ? this.defer(Promise.resolve(answer).then(String)) : answer;
    },
    // In-engine time per handler call, in nanoseconds. The handler is called
    // in a JS loop with 64 different arguments in turn, and every answer is
    // folded into a checksum the loop returns, so the engine can neither drop
    // nor hoist the calls. The same loop with the handler replaced by identity
    // measures the loop's own cost (loop_ns). The count doubles until the
    // handler loop lasts at least minMs on the engine's clock; the clock's
    // smallest step is measured too, so a reader can tell what it resolves.
    // A module worker's loop awaits each answer: the result is PENDING then.
    engineTime(arg, minMs) {
      const args = [];
      for (let i = 0; i < 64; i++) args.push(arg + i);
      const identity = (x) => x;
      const result = (elapsed, baseline, count, sum, baselineSum) => ({
        handler_ns: (elapsed * 1e6) / count,
        loop_ns: (baseline * 1e6) / count,
        calls: count,
        clock: this.clock,
        clock_resolution_ns: clockStep() * 1e6,
        checksum: sum ^ baselineSum,
      });
      if (this.form === 'module') {
        const handler = this.handler;
        const loop = async () => {
          for (let count = 1; ; count *= 2) {
            const [elapsed, sum] = await timeAsync(handler, args, count);
            if (elapsed >= minMs || count >= 1 << 30) {
              await timeAsyncBaseline(identity, args, Math.min(count, 1 << 16));  // warm the baseline up first
              const [baseline, baselineSum] = await timeAsyncBaseline(identity, args, count);
              return result(elapsed, baseline, count, sum, baselineSum);
            }
          }
        };
        return this.defer(loop());
      }
      for (let count = 1; ; count *= 2) {
        const [elapsed, sum] = timeSync(this.handler, args, count);
        if (elapsed >= minMs || count >= 1 << 30) {
          timeSyncBaseline(identity, args, Math.min(count, 1 << 16));  // warm the baseline loop up first
          const [baseline, baselineSum] = timeSyncBaseline(identity, args, count);
          return result(elapsed, baseline, count, sum, baselineSum);
        }
      }
    },
    // engineTime as JSON text (or PENDING, settling to the JSON text).
    engineJSON(arg, minMs) {
      const answer = this.engineTime(arg, minMs);
      if (answer !== PENDING) return JSON.stringify(answer);
      return this.defer(this.whenSettled().then((value) => JSON.stringify(value)));
    },
  };

  // A module worker's answer: its response's body text (an error status is an error).
  function bodyText(response) {
    if (response === null || typeof response !== 'object' || typeof response.status !== 'number') {
      throw new TypeError('the worker\'s fetch() did not return a Response');
    }
    if (response.status >= 400) {
      throw new Error('the worker answered HTTP ' + response.status);
    }
    return nativeWeb ? response.text() : response.bodyText();
  }

  // The minimal Workers API: Headers, URLSearchParams, URL, Request, Response,
  // console; string bodies only. Installed in every engine but workerd, so they
  // all run the same JavaScript (node's own classes are replaced too).
  function installWebAPI(lacking) {
    const lower = (name) => String(name).toLowerCase();
    class Headers {
      constructor(init) {
        this._map = new Map();
        if (init instanceof Headers) init.forEach((value, name) => this.append(name, value));
        else if (Array.isArray(init)) for (const [name, value] of init) this.append(name, value);
        else if (init) for (const name of Object.keys(init)) this.append(name, init[name]);
      }
      get(name) { const v = this._map.get(lower(name)); return v === undefined ? null : v; }
      has(name) { return this._map.has(lower(name)); }
      set(name, value) { this._map.set(lower(name), String(value)); }
      append(name, value) {
        const key = lower(name);
        this._map.set(key, this._map.has(key) ? this._map.get(key) + ', ' + value : String(value));
      }
      delete(name) { this._map.delete(lower(name)); }
      forEach(fn, self) { for (const [k, v] of this.entries()) fn.call(self, v, k, this); }
      entries() { return [...this._map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))[Symbol.iterator](); }
      keys() { return [...this.entries()].map((e) => e[0])[Symbol.iterator](); }
      values() { return [...this.entries()].map((e) => e[1])[Symbol.iterator](); }
      [Symbol.iterator]() { return this.entries(); }
    }
    const decode = (text) => decodeURIComponent(text.replace(/\+/g, ' '));
    const encode = (text) => encodeURIComponent(text).replace(/%20/g, '+');
    class URLSearchParams {
      constructor(init) {
        this._list = [];
        this._url = null;
        if (typeof init === 'string') {
          for (const part of init.replace(/^\?/, '').split('&')) {
            if (!part) continue;
            const at = part.indexOf('=');
            this._list.push(at < 0 ? [decode(part), ''] : [decode(part.slice(0, at)), decode(part.slice(at + 1))]);
          }
        } else if (Array.isArray(init)) {
          for (const [k, v] of init) this._list.push([String(k), String(v)]);
        } else if (init) {
          for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
        }
      }
      _changed() { if (this._url) this._url._search = this._list.length ? '?' + this.toString() : ''; }
      get(name) { const e = this._list.find((p) => p[0] === name); return e ? e[1] : null; }
      getAll(name) { return this._list.filter((p) => p[0] === name).map((p) => p[1]); }
      has(name) { return this._list.some((p) => p[0] === name); }
      append(name, value) { this._list.push([String(name), String(value)]); this._changed(); }
      set(name, value) {
        const at = this._list.findIndex((p) => p[0] === name);
        this._list = this._list.filter((p, i) => p[0] !== name || i === at);
        if (at < 0) this._list.push([String(name), String(value)]);
        else this._list[this._list.findIndex((p) => p[0] === name)][1] = String(value);
        this._changed();
      }
      delete(name) { this._list = this._list.filter((p) => p[0] !== name); this._changed(); }
      forEach(fn, self) { for (const [k, v] of this._list) fn.call(self, v, k, this); }
      entries() { return this._list.map((p) => [p[0], p[1]])[Symbol.iterator](); }
      keys() { return this._list.map((p) => p[0])[Symbol.iterator](); }
      values() { return this._list.map((p) => p[1])[Symbol.iterator](); }
      [Symbol.iterator]() { return this.entries(); }
      toString() { return this._list.map(([k, v]) => encode(k) + '=' + encode(v)).join('&'); }
    }
    // scheme://[userinfo@]host[:port][/path][?query][#hash]; a relative URL needs a base.
    const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+.-]*:)\/\/(?:[^@/?#]*@)?([^:/?#]*)(?::(\d*))?([^?#]*)(\?[^#]*)?(#.*)?$/;
    const DEFAULT_PORTS = { 'http:': '80', 'https:': '443' };
    class URL {
      constructor(url, base) {
        let text = String(url);
        if (!ABSOLUTE.test(text)) {
          if (base === undefined) throw new TypeError('Invalid URL: ' + text);
          const root = new URL(base);
          if (text.startsWith('//')) text = root.protocol + text;
          else if (text.startsWith('/')) text = root.origin + text;
          else if (text.startsWith('?')) text = root.origin + root.pathname + text;
          else if (text.startsWith('#')) text = root.origin + root.pathname + root.search + text;
          else text = root.origin + root.pathname.replace(/[^/]*$/, '') + text;
        }
        const m = ABSOLUTE.exec(text);
        if (!m) throw new TypeError('Invalid URL: ' + url);
        this.protocol = m[1].toLowerCase();
        this.hostname = m[2].toLowerCase();
        this.port = m[3] && m[3] !== DEFAULT_PORTS[this.protocol] ? m[3] : '';
        this.pathname = m[4] || '/';
        this._search = m[5] && m[5] !== '?' ? m[5] : '';
        this.hash = m[6] && m[6] !== '#' ? m[6] : '';
        this._params = null;
      }
      get host() { return this.hostname + (this.port ? ':' + this.port : ''); }
      get origin() { return this.protocol + '//' + this.host; }
      get search() { return this._search; }
      set search(value) { const v = String(value); this._search = v && v !== '?' ? (v[0] === '?' ? v : '?' + v) : ''; this._params = null; }
      get searchParams() {
        if (this._params === null) { this._params = new URLSearchParams(this._search); this._params._url = this; }
        return this._params;
      }
      get href() { return this.origin + this.pathname + this._search + this.hash; }
      toString() { return this.href; }
      toJSON() { return this.href; }
    }
    const readBody = (body) => {
      if (body === undefined || body === null) return null;
      if (typeof body === 'string') return body;
      if (body instanceof URLSearchParams) return body.toString();
      throw lacking('a body that is not a string (' + Object.prototype.toString.call(body) + ')');
    };
    class Body {
      bodyText() { return this._body === null ? '' : this._body; }
      text() { return Promise.resolve(this.bodyText()); }
      json() { return Promise.resolve().then(() => JSON.parse(this.bodyText())); }
      get bodyUsed() { return false; }
      get body() { throw lacking('a body stream (Request.body, Response.body)'); }
      arrayBuffer() { return Promise.reject(lacking('arrayBuffer()')); }
      blob() { return Promise.reject(lacking('blob()')); }
      formData() { return Promise.reject(lacking('formData()')); }
    }
    class Request extends Body {
      constructor(input, init = {}) {
        super();
        const from = input instanceof Request ? input : null;
        this.url = from ? from.url : new URL(String(input)).href;
        this.method = String(init.method || (from ? from.method : 'GET')).toUpperCase();
        this.headers = new Headers(init.headers || (from ? from.headers : undefined));
        this._body = init.body !== undefined ? readBody(init.body) : from ? from._body : null;
        this.cf = {};
        this.signal = null;
      }
      clone() { return new Request(this); }
    }
    class Response extends Body {
      constructor(body, init = {}) {
        super();
        this._body = readBody(body);
        this.status = init.status === undefined ? 200 : init.status;
        this.statusText = init.statusText || '';
        this.headers = new Headers(init.headers);
        if (this._body !== null && !this.headers.has('content-type')) {
          this.headers.set('content-type', 'text/plain;charset=UTF-8');
        }
        this.redirected = false;
        this.url = '';
        this.webSocket = null;
      }
      get ok() { return this.status >= 200 && this.status < 300; }
      clone() { return new Response(this._body, this); }
      static json(value, init = {}) {
        const headers = new Headers(init.headers);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
        return new Response(JSON.stringify(value), { ...init, headers });
      }
      static redirect(url, status = 302) {
        return new Response(null, { status, headers: { location: new URL(url).href } });
      }
    }
    const quiet = () => {};
    Object.assign(globalThis, { Headers, URLSearchParams, URL, Request, Response });
    // Output is discarded (node's own console would write into the runner's protocol).
    globalThis.console = { log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet, trace: quiet };
    globalThis.fetch = function fetch() {
      return Promise.reject(lacking('fetch() (an outbound request)'));
    };
  }
})();
