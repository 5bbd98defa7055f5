// The module form of workloads/hello/worker.js: the same answer through a
// Workers-style `fetch` handler. `sayHello` comes as a binding in `env`.
export default {
  async fetch(request, env) {
    const name = new URL(request.url).searchParams.get("name");
    return new Response(env.sayHello(name));
  },
};
