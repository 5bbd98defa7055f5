// Hostile worker: tries to get out of its sandbox and returns, as a JSON
// string, what it managed. The harness passes, as a JSON string:
//   secret_path  a file the harness created on the host (its own user can read it)
//   port, token  a TCP listener on the host's 127.0.0.1 that records the token
//   canary       the name of a variable in the host's (the harness's) environment
// Calls are synchronous, so every attempt uses a synchronous route: node's
// modules when the runtime hands them out, and a child `node -e` (started
// with child_process.execFileSync) for the TCP connection.

function attempt(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error: String((error && (error.code || error.message)) || error).split('\n')[0] };
  }
}

// How a script reaches node's modules. `require` is module-scoped: a script
// run with vm.runInThisContext does not see it, but `process` is a global.
function findRequire(routes) {
  if (typeof require === 'function') {
    routes.push('require (in scope)');
    return require;
  }
  if (typeof process !== 'object' || process === null) return null;
  if (typeof process.getBuiltinModule === 'function') {
    routes.push('process.getBuiltinModule');
    return (name) => process.getBuiltinModule(name);
  }
  if (process.mainModule && typeof process.mainModule.require === 'function') {
    routes.push('process.mainModule.require');
    return (name) => process.mainModule.require(name);
  }
  return null;
}

function runtimeFacts() {
  const hasProcess = typeof process === 'object' && process !== null;
  return {
    process: hasProcess,
    require: typeof require === 'function',
    mainModule_require: hasProcess && !!process.mainModule && typeof process.mainModule.require === 'function',
    getBuiltinModule: hasProcess && typeof process.getBuiltinModule === 'function',
    binding: hasProcess && typeof process.binding === 'function',
    pid: hasProcess ? process.pid : null,
    globals: Object.getOwnPropertyNames(globalThis).length,
  };
}

const CONNECT = [
  "const [port, token] = process.argv.slice(1);",
  "const s = require('net').connect(Number(port), '127.0.0.1', () => s.write(token + '\\n'));",
  "let got = '';",
  "const done = (r) => { console.log(JSON.stringify(r)); process.exit(0); };",
  "s.setTimeout(2000, () => done({ connected: false, error: 'timeout' }));",
  "s.on('data', (d) => { got += d; if (got.includes('\\n')) done({ connected: true, reply: got.trim() }); });",
  "s.on('error', (e) => done({ connected: false, error: e.code || String(e) }));",
].join('\n');

function noRoute() {
  return { ok: false, error: 'no route: the runtime exposes no module, file or process binding' };
}

export function handler(arg) {
  const want = JSON.parse(arg);
  const routes = [];
  const req = findRequire(routes);
  const fs = req ? attempt(() => req('fs')) : null;
  const cp = req ? attempt(() => req('child_process')) : null;
  const read = (path) => (fs && fs.ok ? attempt(() => fs.value.readFileSync(path, 'utf8').slice(0, 4096)) : noRoute());

  const out = { runtime: runtimeFacts(), routes, files: {}, loopback: null, env: {} };
  out.files.secret = { path: want.secret_path, ...read(want.secret_path) };
  out.files.hostname = { path: '/etc/hostname', ...read('/etc/hostname') };
  out.files.root_listing = fs && fs.ok ? attempt(() => fs.value.readdirSync('/').slice(0, 40)) : noRoute();

  if (cp && cp.ok && typeof process === 'object') {
    const ran = attempt(() => cp.value.execFileSync(process.execPath, ['-e', CONNECT, String(want.port), want.token],
      { timeout: 5000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    out.loopback = { route: 'child_process.execFileSync(node -e net.connect)', target: '127.0.0.1:' + want.port,
      ...(ran.ok ? JSON.parse(ran.value.trim().split('\n').pop()) : { connected: false, error: ran.error }) };
  } else {
    out.loopback = { route: null, connected: false, error: noRoute().error };
  }

  const hasEnv = typeof process === 'object' && process !== null && typeof process.env === 'object';
  out.env.own_names = hasEnv ? Object.keys(process.env).sort() : null;
  out.env.canary_in_own = hasEnv && want.canary in process.env ? process.env[want.canary] : null;
  // The host's environment: the parent process's, through /proc.
  if (hasEnv && fs && fs.ok && process.ppid > 0) {
    const environ = read('/proc/' + process.ppid + '/environ');
    const entry = environ.ok ? environ.value.split('\0').find((kv) => kv.startsWith(want.canary + '=')) : undefined;
    out.env.parent = { path: '/proc/' + process.ppid + '/environ', ok: environ.ok, error: environ.error,
      canary: entry ? entry.slice(want.canary.length + 1) : null };
  } else {
    out.env.parent = { ok: false, error: hasEnv ? 'no parent process visible (pid namespace) or no fs' : noRoute().error };
  }
  return JSON.stringify(out);
}
