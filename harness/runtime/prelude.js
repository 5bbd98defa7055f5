// isobench runtime prelude: evaluated as a classic script before the worker,
// identically by every backend; every cold start parses it, so it stays small.
// It supplies the `sayHello` binding and the `__isobench` object through which
// hosts call the worker. A module worker gets module.js after it (and, but in
// workerd, workers_api.js).
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
  // Two copies of the timing loop, so each has one call target (monomorphic).
  const timed = (fn, args, count) => {
    let sum = 0;
    const start = now();
    for (let i = 0; i < count; i++) {
      const answer = String(fn(args[i & 63]));
      sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
    }
    return [now() - start, sum];
  };
  const timedBaseline = (fn, args, count) => {
    let sum = 0;
    const start = now();
    for (let i = 0; i < count; i++) {
      const answer = String(fn(args[i & 63]));
      sum = (Math.imul(sum, 31) + answer.length + answer.charCodeAt(answer.length - 1)) | 0;
    }
    return [now() - start, sum];
  };

  globalThis.__isobench = {
    clock: hasPerformance ? 'performance.now' : 'Date.now',
    now,
    // A deferred answer: the host reads it with settled() (after the engine ran
    // its pending jobs) or awaits whenSettled(). Also in worker.py.
    PENDING: '\u0000isobench:pending',
    DOCS: 'docs/workers-api.md lists what the isobench runtime provides',
    form: 'handler',
    handler: null,
    slot: null,
    setHandler(fn) {
      if (typeof fn !== 'function') {
        throw new TypeError('worker does not export a function named handler');
      }
      this.handler = fn;
    },
    isThenable(value) {
      return value !== null && (typeof value === 'object' || typeof value === 'function') &&
        typeof value.then === 'function';
    },
    // A ReferenceError for a global the runtime lacks names it and says so.
    explain(error) {
      const match = error instanceof ReferenceError && /^'?([\w$.]+)'? is not defined/.exec(error.message);
      return match ? new ReferenceError('the worker uses `' + match[1] + '`, which is not defined: ' + this.DOCS)
        : error;
    },
    defer(promise) {
      const slot = { state: 'pending', value: undefined };
      slot.promise = promise.then(
        (value) => { slot.state = 'done'; slot.value = value; return value; },
        (error) => { slot.state = 'failed'; slot.value = this.explain(error); throw slot.value; });
      slot.promise.catch(() => {});  // read by settled() or whenSettled()
      this.slot = slot;
      return this.PENDING;
    },
    settled() {
      const slot = this.slot;
      this.slot = null;
      if (slot === null) throw new Error('isobench: no answer is pending');
      if (slot.state === 'failed') throw slot.value;
      if (slot.state === 'pending') {
        throw new Error('the worker\'s answer never settled: it waits for something the isobench runtime never ' +
                        'delivers (a timer, I/O or an outbound fetch)');
      }
      return slot.value;
    },
    whenSettled() {
      const slot = this.slot;
      this.slot = null;
      return slot === null ? Promise.reject(new Error('isobench: no answer is pending')) : slot.promise;
    },
    // The handler's answer for arg, or PENDING when it is a promise.
    call(arg) {
      let answer;
      try {
        answer = this.handler(arg);
      } catch (error) {
        throw this.explain(error);
      }
      return this.isThenable(answer) ? this.defer(Promise.resolve(answer).then(String)) : answer;
    },
    // In-engine time per handler call, in nanoseconds. The handler is called
    // in a JS loop with 64 different arguments in turn, and every answer is
    // folded into a checksum the loop returns, so the engine can neither drop
    // nor hoist the calls. The same loop with the handler replaced by identity
    // measures the loop's own cost (loop_ns). The count doubles until the
    // handler loop lasts at least minMs on the engine's clock; the clock's
    // smallest step is measured too, so a reader can tell what it resolves.
    // A module worker's loop (module.js) awaits each answer: PENDING then.
    engineTime(arg, minMs) {
      const args = [];
      for (let i = 0; i < 64; i++) args.push(arg + i);
      if (this.form === 'module') return this.engineTimeAsync(args, minMs);
      const identity = (x) => x;
      for (let count = 1; ; count *= 2) {
        const [elapsed, sum] = timed(this.handler, args, count);
        if (elapsed >= minMs || count >= 1 << 30) {
          timedBaseline(identity, args, Math.min(count, 1 << 16));  // warm the baseline loop up first
          const [baseline, baselineSum] = timedBaseline(identity, args, count);
          return this.timing(elapsed, baseline, count, sum ^ baselineSum);
        }
      }
    },
    timing(elapsed, baseline, count, checksum) {
      return { handler_ns: (elapsed * 1e6) / count, loop_ns: (baseline * 1e6) / count, calls: count,
               clock: this.clock, clock_resolution_ns: clockStep() * 1e6, checksum };
    },
    // engineTime as JSON text (or PENDING, settling to the JSON text).
    engineJSON(arg, minMs) {
      const answer = this.engineTime(arg, minMs);
      if (answer !== this.PENDING) return JSON.stringify(answer);
      return this.defer(this.whenSettled().then((value) => JSON.stringify(value)));
    },
  };
})();
