// Hostile worker: tries to make its host process die.
// 1. process.abort(), where the runtime reaches `process` (node);
// 2. a stack overflow (engines turn it into a catchable RangeError);
// 3. an allocation V8 treats as fatal: filling a 1e9-element array grows a
//    backing store past V8's limits, and V8 aborts the whole process
//    (FatalProcessOutOfMemory), not just the script.
// If the host is still alive after all three, it says so.
export function handler(arg) {
  const tried = [];
  if (typeof process === 'object' && process !== null && typeof process.abort === 'function') {
    tried.push('process.abort');
    process.abort();
  }
  try {
    (function deeper(n) { return deeper(n + 1) + 1; })(0);
  } catch (error) {
    tried.push('stack overflow: ' + error.name);
  }
  tried.push('fatal allocation');
  const huge = new Array(1e9).fill(0);
  return JSON.stringify({ survived: true, tried, length: huge.length });
}
