// The handler shared by the bundle-size sweep (size-10k ... size-5m). Each
// size's entry file imports its set of npm libraries as namespaces and passes
// them here; the handler is the same text in every bundle, only the set
// differs. Importing whole namespaces keeps each library whole (nothing is
// tree-shaken away), so its top-level code runs when the bundle loads, and
// every request calls one cheap function of every library.

// One cheap call per library known to the sweep: (namespace, arg) -> value.
const PROBES = {
  "ms": (m, arg) => m.default("2 days") + " " + m.default(arg.length * 1000),
  "escape-html": (m, arg) => m.default("<b>" + arg + "</b> & co"),
  "dlv": (m, arg) => m.default({ a: { b: [arg] } }, "a.b.0"),
  "dayjs": (m) => m.default("2024-02-28T12:00:00").add(1, "day").format("YYYY-MM-DD"),
  "marked": (m, arg) => m.parseInline("**" + arg + "** and `code`"),
  "moment": (m) => m.default.utc("2024-02-28T12:00:00Z").add(2, "days").format("dddd, MMMM Do YYYY"),
  "acorn": (m, arg) => m.parse("const x = " + JSON.stringify(arg) + ";", { ecmaVersion: 2020 }).body[0].declarations[0].init.value,
  "acorn-walk": (m, arg) => {
    const names = [];
    const ast = { type: "Program", sourceType: "script", body: [{ type: "ExpressionStatement", expression: { type: "Identifier", name: arg } }] };
    m.simple(ast, { Identifier: (node) => names.push(node.name) });
    return names.join(",");
  },
  "@babel/parser": (m, arg) => m.parseExpression("a + " + JSON.stringify(arg)).right.value,
  "lodash-es": (m, arg) => m.kebabCase(arg + " Lodash Probe"),
  "highlight.js": (m, arg) => m.default.highlight("let " + arg + " = 1;", { language: "rust" }).value,
  "mathjs": (m) => m.format(m.add(m.fraction(1, 3), m.fraction(1, 6))),
};

// FNV-1a, 32 bits, over the text's UTF-16 code units: a checksum of the answers.
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

export function sweepWorker(size, libraries) {
  const names = Object.keys(libraries);
  for (const name of names) {
    if (!PROBES[name]) throw new Error("sweep: no probe for library " + name);
  }
  return {
    async fetch(request) {
      const arg = new URL(request.url).searchParams.get("name") || "world";
      let answers = "";
      for (const name of names) {
        answers += name + "=" + String(PROBES[name](libraries[name], arg)) + "\n";
      }
      return Response.json({ size, libraries: names.length, check: fnv1a(answers) });
    },
  };
}
