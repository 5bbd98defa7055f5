// isobench node runner: newline-delimited JSON over stdin/stdout.
// The subprocess and container backends both run this file, so the only
// difference between them is the container.
'use strict';
const vm = require('vm');

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function handle(message) {
  switch (message.op) {
    case 'call':
      return { ok: true, result: globalThis.__isobench.call(message.arg) };
    case 'ping':
      return { ok: true };
    case 'load':
      vm.runInThisContext(message.source, { filename: message.filename || 'worker.js' });
      if (!globalThis.__isobench || typeof globalThis.__isobench.handler !== 'function') {
        throw new Error('the bundle did not register a handler');
      }
      return { ok: true, clock: globalThis.__isobench.clock };
    case 'engine':
      return { ok: true, result: globalThis.__isobench.engineTime(message.arg, message.min_ms) };
    case 'memory':
      return { ok: true, result: process.memoryUsage() };
    default:
      return { ok: false, error: 'unknown op ' + JSON.stringify(message.op) };
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
    let reply;
    try {
      reply = handle(JSON.parse(line));
    } catch (error) {
      reply = { ok: false, error: String(error).split('\n')[0] };
    }
    send(reply);
  }
});
process.stdin.on('end', () => process.exit(0));

// uptime_ms: node's own start-up until now, by its clock (performance.now()
// counts from the process's start); the oci-* backends split their cold start with it.
send({ ok: true, ready: true, pid: process.pid, node: process.versions.node, v8: process.versions.v8,
       uptime_ms: performance.now() });
