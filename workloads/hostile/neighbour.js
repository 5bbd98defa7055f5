// Hostile worker: tries to see or change the state of another instance of
// the same backend. The harness starts two instances, a victim and an
// attacker, and calls them with a JSON string:
//   {"op": "plant", "token": T}  (victim) keep T in a global and, where there
//                                is a file system, in a file T.txt (in /tmp, or /)
//   {"op": "probe"}              (attacker) look for another instance's token:
//                                in its own globals, in files, and in the memory
//                                of sibling runner processes (/proc/PID/mem);
//                                overwrite what it finds
//   {"op": "check"}              (victim) report its global and its file
// Every answer is a JSON string.
const PREFIX = 'isobench-nbr-';
const TOKEN = /^isobench-nbr-[0-9a-f]{32}$/;
const REPLACEMENT = PREFIX + 'deadbeef'.repeat(4);

function attempt(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error: String((error && (error.code || error.message)) || error).split('\n')[0] };
  }
}

function nodeFs() {
  if (typeof process !== 'object' || process === null) return null;
  if (typeof process.getBuiltinModule === 'function') return process.getBuiltinModule('fs');
  if (process.mainModule && typeof process.mainModule.require === 'function') return process.mainModule.require('fs');
  return null;
}

// Where an instance keeps its file: the first of these it can write to (a
// FROM-scratch container has no /tmp).
const DIRS = ['/tmp', '/'];
let plantedFile = null;

function plant(fs, token) {
  globalThis.__isobenchNeighbour = token;
  const tried = [];
  for (const dir of fs ? DIRS : []) {
    const path = dir.replace(/\/$/, '') + '/' + token + '.txt';
    const wrote = attempt(() => fs.writeFileSync(path, token));
    tried.push({ path, ok: wrote.ok, error: wrote.error });
    if (wrote.ok) {
      plantedFile = path;
      break;
    }
  }
  return { planted: true, file: plantedFile, tried, pid: typeof process === 'object' && process ? process.pid : null };
}

function check(fs) {
  const token = globalThis.__isobenchNeighbour;
  const file = fs && plantedFile ? attempt(() => fs.readFileSync(plantedFile, 'utf8')) : { ok: false };
  return { global: token === undefined ? null : String(token), file: plantedFile, file_content: file.ok ? file.value : null };
}

// Sibling runner processes: same parent, running node_runner.js.
function siblings(fs) {
  const mine = process.pid;
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === mine) continue;
    const stat = attempt(() => fs.readFileSync('/proc/' + name + '/stat', 'utf8'));
    if (!stat.ok) continue;
    const ppid = Number(stat.value.slice(stat.value.lastIndexOf(')') + 2).split(' ')[1]);
    const cmdline = attempt(() => fs.readFileSync('/proc/' + name + '/cmdline', 'utf8'));
    if (ppid === process.ppid && cmdline.ok && cmdline.value.includes('node_runner')) found.push(Number(name));
  }
  return found;
}

// Tokens in another process's writable memory, with their addresses.
function scanMemory(fs, pid, budgetBytes, budgetMs) {
  const started = Date.now();
  const maps = fs.readFileSync('/proc/' + pid + '/maps', 'utf8').split('\n');
  const fd = fs.openSync('/proc/' + pid + '/mem', 'r');
  const chunk = Buffer.alloc(1 << 20);
  const hits = [];
  let scanned = 0;
  try {
    for (const line of maps) {
      const [range, perms] = line.split(' ');
      if (!range || !perms || !perms.startsWith('rw')) continue;
      const [low, high] = range.split('-').map((hex) => BigInt('0x' + hex));
      for (let at = low; at < high; at += BigInt(chunk.length)) {
        const length = Number(high - at < BigInt(chunk.length) ? high - at : BigInt(chunk.length));
        const read = attempt(() => fs.readSync(fd, chunk, 0, length, at));
        if (!read.ok) break;
        scanned += read.value;
        for (let i = chunk.indexOf(PREFIX); i >= 0 && i < read.value; i = chunk.indexOf(PREFIX, i + 1)) {
          const text = chunk.toString('latin1', i, i + PREFIX.length + 32);
          if (TOKEN.test(text) && hits.length < 256) hits.push({ token: text, address: at + BigInt(i) });
        }
        if (scanned > budgetBytes || Date.now() - started > budgetMs) return { hits, scanned, truncated: true };
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { hits, scanned, truncated: false };
}

function probe(fs) {
  const out = { found: [], modified: [], routes: [], siblings: [] };
  // 1. Globals: anything another instance planted that this one can see.
  for (const key of Object.getOwnPropertyNames(globalThis)) {
    const value = attempt(() => globalThis[key]);
    if (value.ok && typeof value.value === 'string' && TOKEN.test(value.value)) {
      out.found.push({ token: value.value, via: 'global ' + key });
    }
  }
  if (!fs) {
    out.routes.push('no file system or process binding: only this instance\'s own globals are reachable');
    return out;
  }
  // 2. Files another instance left where it could write.
  for (const dir of DIRS) {
    const listing = attempt(() => fs.readdirSync(dir).filter((n) => TOKEN.test(n.replace(/\.txt$/, ''))));
    out.routes.push('fs: ' + dir + (listing.ok ? '' : ' (' + listing.error + ')'));
    for (const name of listing.ok ? listing.value : []) {
      const path = dir.replace(/\/$/, '') + '/' + name;
      const content = attempt(() => fs.readFileSync(path, 'utf8'));
      if (content.ok) out.found.push({ token: content.value.trim(), via: 'file ' + path });
      const written = attempt(() => fs.writeFileSync(path, 'overwritten by ' + process.pid));
      out.modified.push({ what: 'file ' + path, ok: written.ok, error: written.error });
    }
  }
  // 3. Sibling processes: their memory, through /proc/PID/mem.
  const pids = attempt(() => siblings(fs));
  out.siblings = pids.ok ? pids.value : [];
  out.routes.push('/proc: ' + (pids.ok ? out.siblings.length + ' sibling runner(s)' : pids.error));
  for (const pid of out.siblings) {
    const scan = attempt(() => scanMemory(fs, pid, 512 << 20, 10000));
    if (!scan.ok) {
      out.modified.push({ what: 'memory of ' + pid, ok: false, error: scan.error });
      continue;
    }
    const theirs = scan.value.hits.filter((hit) => hit.token !== REPLACEMENT);
    for (const token of new Set(theirs.map((hit) => hit.token))) {
      out.found.push({ token, via: '/proc/' + pid + '/mem (' + scan.value.scanned + ' bytes scanned)' });
    }
    if (theirs.length) {
      const opened = attempt(() => fs.openSync('/proc/' + pid + '/mem', 'r+'));
      const bytes = Buffer.from(REPLACEMENT, 'latin1');
      const writes = opened.ok ? theirs.map((hit) => attempt(() => fs.writeSync(opened.value, bytes, 0, bytes.length, Number(hit.address)))) : [];
      if (opened.ok) fs.closeSync(opened.value);
      const done = writes.filter((w) => w.ok).length;
      out.modified.push({ what: 'memory of ' + pid + ' (' + done + ' of ' + theirs.length + ' copies of its token overwritten)',
        ok: done > 0, error: opened.ok ? (writes.find((w) => !w.ok) || {}).error : opened.error });
    }
  }
  return out;
}

export function handler(arg) {
  const request = JSON.parse(arg);
  const fs = attempt(nodeFs);
  const files = fs.ok ? fs.value : null;
  if (request.op === 'plant') return JSON.stringify(plant(files, request.token));
  if (request.op === 'check') return JSON.stringify(check(files));
  if (request.op === 'probe') return JSON.stringify(probe(files));
  throw new Error('unknown op ' + request.op);
}
