// A small Workers-style JSON API: a route table whose patterns (`/api/users/:id`)
// compile to regular expressions, GET/POST/DELETE routes, JSON in and out, and
// 404/405 answers. State is a per-request copy of a fixed seed, so every
// request sees the same data and the answer depends only on the request.

const SEED_USERS = [
  { id: "ada", name: "Ada Lovelace", email: "ada@example.com", roles: ["admin"] },
  { id: "alan", name: "Alan Turing", email: "alan@example.com", roles: ["dev"] },
  { id: "grace", name: "Grace Hopper", email: "grace@example.com", roles: ["dev", "ops"] },
];

// "/api/users/:id" -> { regex: /^\/api\/users\/([^/]+)\/?$/, keys: ["id"] }.
// A trailing "*" matches the rest of the path as the parameter "rest".
function compile(pattern) {
  const keys = [];
  const parts = pattern.split("/").filter((part) => part !== "");
  let source = "";
  for (const part of parts) {
    if (part === "*") {
      keys.push("rest");
      source += "(?:/(.*))?";
    } else if (part.startsWith(":")) {
      keys.push(part.slice(1));
      source += "/([^/]+)";
    } else {
      source += "/" + part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  return { regex: new RegExp("^" + (source || "/") + "/?$"), keys };
}

// A malformed %-escape stays as it is rather than failing the request.
function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

class Router {
  constructor() {
    this.routes = [];
  }
  add(method, pattern, handler) {
    this.routes.push({ method, pattern, handler, ...compile(pattern) });
    return this;
  }
  get(pattern, handler) {
    return this.add("GET", pattern, handler);
  }
  post(pattern, handler) {
    return this.add("POST", pattern, handler);
  }
  delete(pattern, handler) {
    return this.add("DELETE", pattern, handler);
  }
  async handle(request, env, ctx) {
    const url = new URL(request.url);
    const allowed = [];
    for (const route of this.routes) {
      const match = route.regex.exec(url.pathname);
      if (!match) continue;
      if (route.method !== request.method) {
        allowed.push(route.method);
        continue;
      }
      const params = {};
      route.keys.forEach((key, i) => {
        params[key] = decode(match[i + 1] || "");
      });
      return route.handler({ request, env, ctx, url, params });
    }
    if (allowed.length > 0) {
      return json({ error: "method not allowed", allowed }, 405, { allow: allowed.join(", ") });
    }
    return json({ error: "not found", path: url.pathname }, 404);
  }
}

function json(value, status = 200, headers = {}) {
  return Response.json(value, { status, headers });
}

async function readJson(request) {
  try {
    return { value: await request.json() };
  } catch (error) {
    return { error: "body is not JSON" };
  }
}

function validateUser(input) {
  const problems = [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) return ["body must be an object"];
  if (typeof input.name !== "string" || input.name.trim() === "") problems.push("name: a non-empty string");
  if (typeof input.email !== "string" || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(input.email)) problems.push("email: an address");
  if (input.roles !== undefined && (!Array.isArray(input.roles) || input.roles.some((r) => typeof r !== "string"))) {
    problems.push("roles: a list of strings");
  }
  return problems;
}

function newStore() {
  const users = new Map();
  for (const user of SEED_USERS) users.set(user.id, { ...user, roles: [...user.roles] });
  return users;
}

const router = new Router()
  .get("/", () => json({ service: "isobench-router", routes: router.routes.map((r) => r.method + " " + r.pattern) }))
  .get("/health", () => new Response("ok", { headers: { "content-type": "text/plain" } }))
  .get("/api/users", ({ env, url }) => {
    const role = url.searchParams.get("role");
    const users = [...env.users.values()].filter((u) => !role || u.roles.includes(role));
    return json({ count: users.length, users });
  })
  .get("/api/users/:id", ({ env, params }) => {
    const user = env.users.get(params.id);
    return user ? json({ user }) : json({ error: "no such user", id: params.id }, 404);
  })
  .post("/api/users/:id", async ({ request, env, params }) => {
    const body = await readJson(request);
    if (body.error) return json({ error: body.error }, 400);
    const problems = validateUser(body.value);
    if (problems.length > 0) return json({ error: "invalid user", problems }, 422);
    const created = !env.users.has(params.id);
    const user = {
      id: params.id,
      name: body.value.name.trim(),
      email: body.value.email.toLowerCase(),
      roles: [...new Set(body.value.roles || [])].sort(),
    };
    env.users.set(params.id, user);
    return json({ ok: true, created, user, total: env.users.size });
  })
  .delete("/api/users/:id", ({ env, params }) => {
    const existed = env.users.delete(params.id);
    return json({ ok: existed, total: env.users.size }, existed ? 200 : 404);
  })
  .get("/api/users/:id/roles/:role", ({ env, params }) => {
    const user = env.users.get(params.id);
    return json({ id: params.id, role: params.role, granted: !!user && user.roles.includes(params.role) });
  })
  .get("/static/*", ({ params }) => json({ error: "no static files", file: params.rest }, 404));

export default {
  async fetch(request, env, ctx) {
    return router.handle(request, { ...env, users: newStore() }, ctx);
  },
};
