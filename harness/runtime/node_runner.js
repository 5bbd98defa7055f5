// isobench node runner: newline-delimited JSON over stdin/stdout.
// The subprocess and container backends both run this file, so the only
// difference between them is the container.
'use strict';
const fs = require('fs');
const vm = require('vm');

let loaded = null;  // the vm.Script of the last 'load', for 'cache'

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

// Compile and run the bundle; with `cache` (a file of V8 cached data from a
// 'cache' op), compile from that, and fail if V8 rejects it.
function load(message) {
  const options = { filename: message.filename || 'worker.js' };
  if (message.cache) options.cachedData = fs.readFileSync(message.cache);
  const script = new vm.Script(message.source, options);
  if (message.cache && script.cachedDataRejected) {
    throw new Error('V8 rejected the code cache ' + message.cache + ' (another node or V8 version, or other flags)');
  }
  script.runInThisContext();
  if (!globalThis.__isobench || typeof globalThis.__isobench.handler !== 'function') {
    throw new Error('the bundle did not register a handler');
  }
  return script;
}

// A module worker's answer is a promise (the prelude returns PENDING): its
// reply waits for it, and the messages after it wait in turn. Every other
// reply is sent at once, as before.
function settle(answer, reply) {
  const api = globalThis.__isobench;
  return answer === api.PENDING ? api.whenSettled().then(reply) : reply(answer);
}

function handle(message) {
  const api = globalThis.__isobench;
  switch (message.op) {
    case 'call':
      return settle(api.call(message.arg), (result) => ({ ok: true, result }));
    case 'ping':
      return { ok: true };
    case 'load':
      loaded = load(message);
      return { ok: true, clock: globalThis.__isobench.clock };
    case 'cache': {
      // V8's code cache of the loaded bundle, after its top level ran (so the
      // functions that ran are compiled too); no handler call: a hostile
      // worker does its harm in calls, under the limits of a measured instance.
      const data = loaded.createCachedData();
      fs.writeFileSync(message.out, data);
      return { ok: true, bytes: data.length };
    }
    case 'engine':
      return settle(api.engineJSON(message.arg, message.min_ms), (json) => ({ ok: true, result: JSON.parse(json) }));
    case 'memory':
      return { ok: true, result: process.memoryUsage() };
    default:
      return { ok: false, error: 'unknown op ' + JSON.stringify(message.op) };
  }
}

const failure = (error) => ({ ok: false, error: String(error).split('\n')[0] });
const lines = [];
let waiting = false;
let ended = false;

function drain() {
  while (!waiting && lines.length) {
    const line = lines.shift();
    let reply;
    try {
      reply = handle(JSON.parse(line));
    } catch (error) {
      reply = failure(error);
    }
    if (reply instanceof Promise) {
      waiting = true;
      reply.then(send, (error) => send(failure(error))).then(() => {
        waiting = false;
        drain();
      });
    } else {
      send(reply);
    }
  }
  if (ended && !waiting) process.exit(0);
}

// Serve requests on stdin until it ends.
function serve() {
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      lines.push(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
    drain();
  });
  process.stdin.on('end', () => {
    ended = true;
    drain();
  });

  // uptime_ms: node's own start-up until now, by its clock (performance.now()
  // counts from the process's start); the oci-* backends split their cold start with it.
  send({ ok: true, ready: true, pid: process.pid, node: process.versions.node, v8: process.versions.v8,
         uptime_ms: performance.now(), preloaded });
}

// subprocess-snapshot builds a V8 start-up snapshot from this file
// (`node --build-snapshot`) with the bundle in ISOBENCH_SNAPSHOT_BUNDLE
// already loaded; the process started from it serves at once, its worker
// named in the ready message (`preloaded`). Otherwise this serves now.
// (The environment is read only then: Deno asks a permission for it.)
let preloaded = null;
const startup = process.execArgv.includes('--build-snapshot') ? require('v8').startupSnapshot : null;
if (startup && startup.isBuildingSnapshot()) {
  // An indirect eval runs the bundle in the global scope, as vm's
  // runInThisContext does (node does not vouch for vm in a snapshot builder).
  // A worker that does not load exits 3 with its error, as a load would answer it.
  try {
    (0, eval)(fs.readFileSync(process.env.ISOBENCH_SNAPSHOT_BUNDLE, 'utf8'));
    if (!globalThis.__isobench || typeof globalThis.__isobench.handler !== 'function') {
      throw new Error('the bundle did not register a handler');
    }
  } catch (error) {
    process.stderr.write('isobench-worker-error: ' + String(error).split('\n')[0] + '\n');
    process.exit(3);
  }
  // node's builder runs the event loop until it is empty before it snapshots:
  // a timer or handle the top level leaves would keep it waiting.
  const stdio = ['PipeWrap', 'TTYWrap'];
  const pending = process.getActiveResourcesInfo().filter((kind) => !stdio.includes(kind));
  if (pending.length) {
    process.stderr.write('isobench-snapshot-error: the worker\'s top level leaves pending work (' +
                         pending.join(', ') + '), which node\'s snapshot builder would wait for\n');
    process.exit(4);
  }
  preloaded = process.env.ISOBENCH_SNAPSHOT_SHA256;
  startup.setDeserializeMainFunction(serve);
} else {
  serve();
}
