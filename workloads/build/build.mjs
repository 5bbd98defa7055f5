#!/usr/bin/env node
// Builds isobench's module workers: each workload is one bundled ES-module
// file, workloads/<name>/worker.js, made by esbuild from src/ and the npm
// libraries pinned in package-lock.json, with its manifest workload.json and
// any request-body file beside it. The outputs are committed; rebuild with
//
//   npm ci --prefix workloads/build && node workloads/build/build.mjs [--out DIR]
//
// DIR (default: the repo's workloads/ folder) is the output root. The output
// is deterministic: the same sources and lock file give the same bytes.
import { build } from "esbuild";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const buildDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(buildDir, "..", "..");

const SWEEP_REQUEST = { method: "GET", url: "https://example.com/sweep?name={arg}" };
const sweep = (size, approx, libraries) => ({
  name: `size-${size}`,
  entry: `size-${size}.js`,
  description: `The bundle-size sweep's ${approx} bundle: the shared sweep handler (src/sweep-handler.js) with about ${approx} of npm library code (${libraries}), each library touched once per request.`,
  request: SWEEP_REQUEST,
});

const WORKLOADS = [
  {
    name: "hello-module",
    entry: "hello-module.js",
    description: "The hello worker in module form: answers env.sayHello(name) for the name in the query string.",
    request: { method: "GET", url: "https://example.com/?name={arg}" },
  },
  {
    name: "router",
    entry: "router.js",
    description: "A small Workers-style JSON API: a route table of :param patterns compiled to regular expressions, JSON in and out, 404 and 405 answers.",
    request: {
      method: "POST",
      url: "https://example.com/api/users/{arg}",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada Lovelace", email: "Ada@Example.com", roles: ["dev", "admin", "dev"] }),
    },
  },
  {
    name: "render",
    entry: "render.js",
    description: "Renders a markdown page of about 8 KB (the request body) to an HTML page with the marked library from npm.",
    request: {
      method: "POST",
      url: "https://example.com/docs/{arg}",
      headers: { "content-type": "text/markdown; charset=utf-8" },
      body_file: "page.md",
    },
    files: () => ({ "page.md": readFileSync(join(buildDir, "src", "page.md"), "utf8") }),
  },
  {
    name: "compute",
    entry: "compute.js",
    description: "CPU-bound: parses a 100 KB JSON list of orders, aggregates and sorts it, serializes the report and hashes it with SHA-256 in plain JavaScript.",
    request: {
      method: "POST",
      url: "https://example.com/compute?run={arg}",
      headers: { "content-type": "application/json" },
      body_file: "body.json",
    },
    files: () => ({ "body.json": ordersJson() }),
  },
  sweep("10k", "10 KB", "ms, escape-html, dlv"),
  sweep("100k", "100 KB", "size-10k's set, dayjs, marked"),
  sweep("1m", "1 MB", "size-100k's set, acorn, acorn-walk, @babel/parser"),
  sweep("5m", "5 MB", "size-1m's set, moment, lodash-es, highlight.js, mathjs"),
];

// The compute workload's request body: orders from a seeded generator
// (mulberry32), so the same bytes on every build.
function ordersJson() {
  let seed = 0x1505bec4;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (list) => list[Math.floor(random() * list.length)];
  const cities = [
    ["Zürich", "EU"], ["Kraków", "EU"], ["Lisboa", "EU"], ["Göteborg", "EU"], ["Paris", "EU"],
    ["São Paulo", "SA"], ["Bogotá", "SA"], ["Toronto", "NA"], ["Montréal", "NA"], ["Chicago", "NA"],
    ["東京", "AS"], ["서울", "AS"], ["Mumbai", "AS"], ["Cape Town", "AF"], ["Lagos", "AF"], ["Sydney", "OC"],
  ];
  const tags = ["gift", "express", "fragile", "bulk", "repeat", "promo", "b2b", "éco"];
  const orders = [];
  for (let i = 1; i <= 400; i++) {
    const [city, region] = pick(cities);
    const items = [];
    const count = 1 + Math.floor(random() * 4);
    for (let j = 0; j < count; j++) {
      const item = {
        sku: "SKU-" + String(1000 + Math.floor(random() * 120)),
        qty: 1 + Math.floor(random() * 9),
        price: Math.round(100 + random() * 19900) / 100,
      };
      if (random() < 0.25) item.discount = pick([0.05, 0.1, 0.15, 0.2]);
      items.push(item);
    }
    const day = 1 + Math.floor(random() * 365);
    const date = new Date(Date.UTC(2024, 0, day, Math.floor(random() * 24), Math.floor(random() * 60)));
    orders.push({
      id: "o-" + String(i).padStart(5, "0"),
      customer: "c-" + String(1 + Math.floor(random() * 60)).padStart(3, "0"),
      city,
      region,
      placed: date.toISOString(),
      tags: tags.filter(() => random() < 0.2),
      items,
      note: random() < 0.3 ? pick(["leave at the door", "call first", "ring twice — thanks!", "no plastic, merci"]) : null,
    });
  }
  // One order a line: compact, yet a diff shows which orders changed.
  const lines = orders.map((order) => JSON.stringify(order));
  return '{"generated": "isobench compute workload, seed 0x1505bec4", "orders": [\n' + lines.join(",\n") + "\n]}\n";
}

// The loader's rule (harness/runtime/worker.py): a line that starts with
// `import` and an identifier, `{`, `*` or a quote is an import.
const IMPORT_LINE = /^\s*import\s+[\w{*'"]/m;
const EXPORT_LINE = /^\s*export\b.*$/gm;
const DEFAULT_EXPORT = /\nexport \{\s*([A-Za-z_$][\w$]*) as default\s*\};\n$/;

function checkBundle(name, text) {
  const problems = [];
  const imp = IMPORT_LINE.exec(text);
  if (imp) problems.push(`a line the loader reads as an import: ${JSON.stringify(text.slice(imp.index, imp.index + 60))}`);
  for (const path of [buildDir, repoRoot, "/work/", "/home/", "/tmp/"]) {
    if (text.includes(path)) problems.push(`an absolute path (${path}) in the output`);
  }
  const exports = text.match(EXPORT_LINE) || [];
  if (exports.length !== 1 || !DEFAULT_EXPORT.test(text)) {
    problems.push(`expected exactly one export line, the last: export { x as default }; found ${JSON.stringify(exports)}`);
  }
  if (problems.length) throw new Error(`${name}: ${problems.join("; ")}`);
}

// The npm packages whose code is in the bundle (from esbuild's metafile), with
// their licence texts, for THIRD_PARTY_LICENSES.txt beside worker.js.
function thirdPartyLicenses(metafile) {
  const packages = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.add(match[1]);
  }
  if (packages.size === 0) return null;
  const rule = "=".repeat(78);
  let text = "Third-party code bundled into worker.js, with its licences. Generated by\n" +
    "workloads/build/build.mjs from workloads/build/node_modules (versions pinned\n" +
    "in workloads/build/package-lock.json).\n";
  for (const name of [...packages].sort()) {
    const dir = join(buildDir, "node_modules", name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const licenseFile = readdirSync(dir).filter((f) => /^licen[cs]e(\.(md|txt))?$/i.test(f)).sort()[0];
    let body;
    if (licenseFile) {
      body = readFileSync(join(dir, licenseFile), "utf8").replace(/\r\n/g, "\n").trimEnd();
    } else {
      const author = typeof pkg.author === "string" ? pkg.author : pkg.author && pkg.author.name;
      body = `(The package ships no licence file; its package.json says "license": "${pkg.license}"` +
        (author ? `, author ${author}` : "") + ".)";
    }
    text += `\n${rule}\n${name} ${pkg.version} (${pkg.license})\n${rule}\n\n${body}\n`;
  }
  return text;
}

function parseArgs(argv) {
  let out = join(repoRoot, "workloads");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out" && i + 1 < argv.length) out = resolve(argv[++i]);
    else if (argv[i].startsWith("--out=")) out = resolve(argv[i].slice(6));
    else throw new Error(`usage: node workloads/build/build.mjs [--out DIR] (unknown argument ${argv[i]})`);
  }
  return { out };
}

function write(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

async function main() {
  const { out } = parseArgs(process.argv.slice(2));
  const rows = [];
  for (const workload of WORKLOADS) {
    const source = `workloads/build/src/${workload.entry}`;
    const result = await build({
      absWorkingDir: buildDir,
      entryPoints: [`src/${workload.entry}`],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      target: "es2020",
      minify: false,
      charset: "ascii",
      legalComments: "inline",
      define: { "process.env.NODE_ENV": '"production"' },
      banner: {
        js: `// isobench workload "${workload.name}": generated by workloads/build/build.mjs from ${source}\n` +
          "// and the npm packages pinned in workloads/build/package-lock.json. Do not edit: rebuild.\n" +
          "// Licences of bundled npm packages (if any): THIRD_PARTY_LICENSES.txt beside this file.",
      },
      metafile: true,
      logLevel: "warning",
    });
    const text = result.outputFiles[0].text;
    checkBundle(workload.name, text);
    const dir = join(out, workload.name);
    write(join(dir, "worker.js"), text);
    const extra = workload.files ? workload.files() : {};
    const licenses = thirdPartyLicenses(result.metafile);
    if (licenses) extra["THIRD_PARTY_LICENSES.txt"] = licenses;
    for (const [file, content] of Object.entries(extra)) write(join(dir, file), content);
    const manifest = { name: workload.name, description: workload.description, form: "module",
      deterministic: true, request: workload.request, source };
    write(join(dir, "workload.json"), JSON.stringify(manifest, null, 2) + "\n");
    rows.push([workload.name, Buffer.byteLength(text)]);
  }
  console.log("workload        worker.js bytes");
  for (const [name, bytes] of rows) {
    const human = bytes >= 1e6 ? (bytes / 1e6).toFixed(2) + " MB" : (bytes / 1e3).toFixed(1) + " KB";
    console.log(`${name.padEnd(14)} ${String(bytes).padStart(10)}  (${human})`);
  }
  console.log(`written under ${out}`);
}

main().catch((error) => {
  console.error(`build.mjs: ${error.message}`);
  process.exit(1);
});
