// isobench node runner: newline-delimited JSON over stdin/stdout.
// The subprocess and container backends both run this file, so the only
// difference between them is the container.
'use strict';
const vm = require('vm');

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
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
      vm.runInThisContext(message.source, { filename: message.filename || 'worker.js' });
      if (!globalThis.__isobench || typeof globalThis.__isobench.handler !== 'function') {
        throw new Error('the bundle did not register a handler');
      }
      return { ok: true, clock: globalThis.__isobench.clock };
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
       uptime_ms: performance.now() });
