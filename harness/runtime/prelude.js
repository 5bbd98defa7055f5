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
  // The clock's smallest step (ms): the least change seen between readings.
  const clockStep = () => {
    let step = Infinity;
    for (let i = 0; i < 5; i++) {
      const first = now();
      let next = now();
      for (let spins = 0; next === first && spins < 1e7; spins++) next = now();
      if (next > first) step = Math.min(step, next - first);
    }
    return step === Infinity ? null : step;
  };

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
    // In-engine time per handler call, in nanoseconds. The handler is called
    // in a JS loop with 64 different arguments in turn, and every answer is
    // folded into a checksum the loop returns, so the engine can neither drop
    // nor hoist the calls. The same loop with the handler replaced by identity
    // measures the loop's own cost (loop_ns). The count doubles until the
    // handler loop lasts at least minMs on the engine's clock; the clock's
    // smallest step is measured too, so a reader can tell what it resolves.
    engineTime(arg, minMs) {
      const handler = this.handler;
      const identity = (x) => x;
      const args = [];
      for (let i = 0; i < 64; i++) args.push(arg + i);
      // Two copies of the loop, so each has one call target (monomorphic).
      const withHandler = (count) => {
        let sum = 0;
        const start = now();
        for (let i = 0; i < count; i++) {
          const answer = String(handler(args[i & 63]));
          sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
        }
        return [now() - start, sum];
      };
      const withIdentity = (count) => {
        let sum = 0;
        const start = now();
        for (let i = 0; i < count; i++) {
          const answer = String(identity(args[i & 63]));
          sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
        }
        return [now() - start, sum];
      };
      let count = 1;
      for (;;) {
        const [elapsed, sum] = withHandler(count);
        if (elapsed >= minMs || count >= 1 << 30) {
          withIdentity(Math.min(count, 1 << 16));  // warm the baseline loop up first
          const [baseline, baselineSum] = withIdentity(count);
          return {
            handler_ns: (elapsed * 1e6) / count,
            loop_ns: (baseline * 1e6) / count,
            calls: count,
            clock: this.clock,
            clock_resolution_ns: clockStep() * 1e6,
            checksum: sum ^ baselineSum,
          };
        }
        count *= 2;
      }
    },
  };
})();
