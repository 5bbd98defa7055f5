#!/usr/bin/env node
// Loads each built module worker in a bare global, the way isobench's
// runtimes see it, and sends it its benchmark request:
//
//   node workloads/build/check.mjs [--out DIR] [NAME ...]
//
// (default: every workload under DIR, default workloads/, that this folder
// builds: form "module" with its source in workloads/build/src/).
// The context has only what the isobench prelude provides (console, Request,
// Response, Headers, URL, URLSearchParams, sayHello; node's own classes stand
// in for the prelude's): no process, require, Buffer, setTimeout, TextEncoder,
// crypto or fetch. The bundle's final `export { x as default };` becomes
// `globalThis.__w = x;` and the text runs as a classic script, so the
// libraries' top-level code runs there too. Checks status 200, and for
// hello-module the exact answer; also that the SHA-256 in src/sha256.js agrees
// with node's crypto. Exit status 1 when any check fails.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { sha256Hex, utf8 } from "./src/sha256.js";

const buildDir = dirname(fileURLToPath(import.meta.url));
const DEFAULT_EXPORT = /\nexport \{\s*([A-Za-z_$][\w$]*) as default\s*\};\s*$/;
const IMPORT_LINE = /^\s*import\s+[\w{*'"]/m;

const silent = { log() {}, info() {}, warn() {}, error() {}, debug() {} };
const sayHello = (name) => "Hello " + name + "!";

async function checkWorkload(dir, name, arg) {
  const manifest = JSON.parse(readFileSync(join(dir, "workload.json"), "utf8"));
  const source = readFileSync(join(dir, "worker.js"), "utf8");
  if (IMPORT_LINE.test(source)) throw new Error("a line the loader reads as an import");
  const match = DEFAULT_EXPORT.exec(source);
  if (!match) throw new Error("no final `export { x as default };`");
  const script = source.slice(0, match.index) + `\nglobalThis.__w = ${match[1]};\n`;
  const context = vm.createContext({ console: silent, Request, Response, Headers, URL, URLSearchParams, sayHello });
  const started = performance.now();
  vm.runInContext(script, context, { filename: `${name}/worker.js` });
  const loadMs = performance.now() - started;
  const worker = context.__w;
  if (!worker || typeof worker.fetch !== "function") throw new Error("the default export has no fetch()");

  const spec = manifest.request;
  const init = { method: spec.method || "GET", headers: spec.headers || {} };
  if (spec.body !== undefined) init.body = spec.body;
  if (spec.body_file !== undefined) init.body = readFileSync(join(dir, spec.body_file), "utf8");
  const request = new Request(spec.url.replaceAll("{arg}", arg), init);
  const ctx = { waitUntil() {}, passThroughOnException() {} };
  const t0 = performance.now();
  const response = await worker.fetch(request, { sayHello }, ctx);
  const body = await response.text();
  const fetchMs = performance.now() - t0;
  if (response.status !== 200) throw new Error(`status ${response.status}: ${body.slice(0, 200)}`);
  if (name === "hello-module" && arg === "world" && body !== "Hello world!") throw new Error(`answered ${JSON.stringify(body)}`);
  return { loadMs, fetchMs, body };
}

function checkSha256() {
  const samples = ["", "abc", "a".repeat(55), "a".repeat(56), "a".repeat(64), "Zürich 東京 😀 \ud800", "x".repeat(70000) + "é"];
  for (const text of samples) {
    const ours = sha256Hex(utf8(text));
    const node = createHash("sha256").update(text, "utf8").digest("hex");
    if (ours !== node) throw new Error(`sha256 of ${JSON.stringify(text.slice(0, 20))}: ${ours} != ${node}`);
  }
}

async function main() {
  const argv = process.argv.slice(2);
  let root = resolve(buildDir, "..");
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out" && i + 1 < argv.length) root = resolve(argv[++i]);
    else names.push(argv[i]);
  }
  // The workloads this folder builds: module workers whose source is in src/.
  const built = (n) => {
    const file = join(root, n, "workload.json");
    if (!existsSync(file)) return false;
    const manifest = JSON.parse(readFileSync(file, "utf8"));
    return manifest.form === "module" && String(manifest.source).startsWith("workloads/build/src/");
  };
  const all = readdirSync(root).filter(built).sort();
  let failed = 0;
  try {
    checkSha256();
    console.log("sha256.js agrees with node's crypto");
  } catch (error) {
    failed++;
    console.log(`FAIL sha256.js: ${error.message}`);
  }
  for (const name of names.length ? names : all) {
    try {
      const { loadMs, fetchMs, body } = await checkWorkload(join(root, name), name, "world");
      console.log(`ok   ${name.padEnd(13)} load ${loadMs.toFixed(1).padStart(7)} ms  fetch ${fetchMs.toFixed(1).padStart(6)} ms  ${JSON.stringify(body.slice(0, 80))}`);
    } catch (error) {
      failed++;
      console.log(`FAIL ${name}: ${error.message}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
