// Hostile worker: allocates until something stops it, and keeps everything.
// Each round takes 1 MiB of typed-array memory (written, so it is resident)
// and a few small JS objects. Typed-array contents live outside the V8 heap,
// in the host's malloc: a limit that counts only the V8 heap does not see them.
export function handler(arg) {
  const kept = [];
  for (let round = 0; ; round++) {
    const chunk = new Uint8Array(1 << 20);
    chunk.fill(round & 255);
    kept.push(chunk, { round, note: 'kept ' + round });
  }
}
