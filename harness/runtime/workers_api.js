// isobench's minimal Workers API for module workers: Headers, URLSearchParams,
// URL, Request, Response (string bodies), console (output dropped) and an
// outbound fetch() that says it is missing. Evaluated after module.js, in
// every engine but workerd (which has the real API), only for module workers,
// so every engine runs the same JavaScript (node's own classes are replaced
// too) and a handler worker's start does not pay for it. docs/workers-api.md.
(function () {
  'use strict';
  const lacking = globalThis.__isobench.lacking;
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
      if (at < 0) this._list.push([String(name), String(value)]);
      else {  // the first keeps its place and takes the value; later ones go
        this._list = this._list.filter((p, i) => p[0] !== name || i <= at);
        this._list[at] = [String(name), String(value)];
      }
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
})();
