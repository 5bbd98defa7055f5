// isobench runtime prelude: evaluated as a classic script before the worker,
// identically by every backend. It supplies the `sayHello` binding and the
// `__isobench` object through which hosts call the worker's handler.
(function () {
  'use strict';
  if (typeof globalThis.sayHello !== 'function') {
    globalThis.sayHello = function sayHello(name) {
      return 'Hello ' + name + '!';
    };
  }
  const hasPerformance =
    typeof performance !== 'undefined' && typeof performance.now === 'function';
  const now = hasPerformance ? () => performance.now() : () => Date.now();

  globalThis.__isobench = {
    clock: hasPerformance ? 'performance.now' : 'Date.now',
    handler: null,
    setHandler(fn) {
      if (typeof fn !== 'function') {
        throw new TypeError('worker does not export a function named handler');
      }
      this.handler = fn;
    },
    call(arg) {
      return this.handler(arg);
    },
    // In-engine time per handler call, in nanoseconds: the handler runs in a
    // JS loop, doubling the count until the loop lasts at least minMs on the
    // engine's own clock, so the clock's resolution stays small against it.
    // Answers are kept in a ring so the optimizer cannot drop the calls.
    engineTime(arg, minMs) {
      const handler = this.handler;
      const ring = new Array(16);
      let count = 1;
      for (;;) {
        const start = now();
        for (let i = 0; i < count; i++) {
          ring[i & 15] = handler(arg);
        }
        const elapsed = now() - start;
        if (elapsed >= minMs || count >= 1 << 30) {
          return { ns_per_call: (elapsed * 1e6) / count, calls: count, clock: this.clock, last: String(ring[(count - 1) & 15]) };
        }
        count *= 2;
      }
    },
  };
})();
