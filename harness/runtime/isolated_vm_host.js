// isobench isolate-node host: one long-lived node process holding V8 isolates
// made with the isolated-vm addon (harness/backends/isolate_node.py starts it
// as `node --no-node-snapshot --expose-gc isolated_vm_host.js ADDON_DIR`).
// Newline-delimited JSON over stdin/stdout, one reply per request, in order.
//
// Each instance is an ivm.Isolate with one context that evaluates the same
// bundle as every other backend. The context has plain ECMAScript globals
// only: nothing of node (process, require, Buffer, crypto) is put into it.
// Every call into an isolate is synchronous (applySync / runSync) with
// isolated-vm's `timeout`; a module worker's promise is settled by the
// microtasks isolated-vm runs before applySync returns, so the prelude's
// settled() reads it, as in the py_mini_racer isolate.
'use strict';
const ivm = require(process.argv[2]);

const isolates = new Map();  // id -> { isolate, context, api, pending }
let nextId = 1;

// The prelude's entry points as one function made in the context, not a
// global: the worker sees nothing it did not see before.
const API = `(function (api) {
  return function (op, arg, minMs) {
    if (op === 0) return api.call(arg);
    if (op === 1) return api.settled();
    return api.engineJSON(arg, minMs);
  };
})(globalThis.__isobench)`;
const CALL = 0;
const SETTLED = 1;
const ENGINE = 2;

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

const firstLine = (error) => String(error).split('\n')[0];

class Breach extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;  // 'timeout' or 'memory'
  }
}

// A limit breach (isolated-vm's timeout, or its memoryLimit: the isolate
// disposed by it, or an ArrayBuffer refused by its allocator) disposes the
// isolate; any other error is the worker's and leaves it as it was.
function guarded(id, entry, run) {
  try {
    return run();
  } catch (error) {
    const text = String(error && error.message);
    let kind = null;
    if (entry.isolate.isDisposed || /disposed during execution due to memory limit/.test(text)) kind = 'memory';
    else if (/Array buffer allocation failed/.test(text)) kind = 'memory';
    else if (/^Script execution timed out/.test(text)) kind = 'timeout';
    if (kind === null) throw error;
    dispose(id);
    throw new Breach(kind, firstLine(error));
  }
}

function dispose(id) {
  const entry = isolates.get(id);
  if (!entry) return;
  isolates.delete(id);
  if (!entry.isolate.isDisposed) entry.isolate.dispose();
}

function entryOf(message) {
  const entry = isolates.get(message.id);
  if (!entry) throw new Error('no isolate ' + JSON.stringify(message.id) + ' (stopped, or disposed after a breach)');
  return entry;
}

const options = (message) => (message.timeout_ms == null ? {} : { timeout: message.timeout_ms });

function newIsolate(message) {
  const isolate = new ivm.Isolate(message.memory_mb == null ? {} : { memoryLimit: message.memory_mb });
  let context;
  try {
    context = isolate.createContextSync();
  } catch (error) {
    isolate.dispose();
    throw error;
  }
  const id = nextId++;
  isolates.set(id, { isolate, context, api: null, pending: null });
  return { ok: true, id };
}

function load(message) {
  const entry = entryOf(message);
  const clock = guarded(message.id, entry, () => {
    const script = entry.isolate.compileScriptSync(message.source, { filename: message.filename || 'worker.js' });
    script.runSync(entry.context, options(message));
    script.release();
    const found = entry.context.evalSync("typeof globalThis.__isobench === 'object' && " +
      "typeof globalThis.__isobench.handler === 'function' ? globalThis.__isobench.clock : null");
    if (found === null) throw new Error('the bundle did not register a handler');
    entry.api = entry.context.evalSync(API, { reference: true, ...options(message) });
    entry.pending = entry.context.evalSync('globalThis.__isobench.PENDING');
    return found;
  });
  return { ok: true, clock };
}

// op, then, for a PENDING answer, settled(): the microtasks have run by then.
function invoke(message, op, args) {
  const entry = entryOf(message);
  const { id } = message;
  return guarded(id, entry, () => {
    const settings = { result: { copy: true }, ...options(message) };
    const answer = entry.api.applySync(undefined, [op, ...args], settings);
    return answer === entry.pending ? entry.api.applySync(undefined, [SETTLED], settings) : answer;
  });
}

function heap(message) {
  const total = { total_physical_size: 0, used_heap_size: 0, externally_allocated_size: 0 };
  for (const id of message.ids) {
    const entry = isolates.get(id);
    if (!entry || entry.isolate.isDisposed) continue;
    const stats = entry.isolate.getHeapStatisticsSync();
    for (const key of Object.keys(total)) total[key] += stats[key] || 0;
  }
  return { ok: true, result: total };
}

function handle(message) {
  switch (message.op) {
    case 'new_isolate':
      return newIsolate(message);
    case 'load':
      return load(message);
    case 'call':
      return { ok: true, result: invoke(message, CALL, [message.arg]) };
    case 'engine':
      return { ok: true, result: JSON.parse(invoke(message, ENGINE, [message.arg, message.min_ms])) };
    case 'ping':
      entryOf(message);
      return { ok: true };
    case 'stop':
      dispose(message.id);
      return { ok: true };
    case 'heap':
      return heap(message);
    case 'collect':  // the host's own garbage (handles of disposed isolates), before a memory reading
      if (typeof globalThis.gc === 'function') globalThis.gc();
      return { ok: true, isolates: isolates.size };
    default:
      return { ok: false, kind: 'error', error: 'unknown op ' + JSON.stringify(message.op) };
  }
}

function reply(line) {
  try {
    return handle(JSON.parse(line));
  } catch (error) {
    if (error instanceof Breach) return { ok: false, kind: error.kind, error: error.message };
    return { ok: false, kind: 'error', error: firstLine(error) };
  }
}

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let newline;
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    send(reply(line));
  }
});
process.stdin.on('end', () => {
  for (const id of [...isolates.keys()]) dispose(id);
  process.exit(0);
});

send({ ok: true, ready: true, pid: process.pid, node: process.versions.node, v8: process.versions.v8,
       isolated_vm: require(process.argv[2] + '/package.json').version });
