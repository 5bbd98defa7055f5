// The hello worker from "How do CloudFlare Workers work?".
// `sayHello` is a runtime binding: every isobench backend provides it.
export function handler(name) {
  return sayHello(name);
}
