// Hostile worker: never returns. Something outside the worker has to stop it
// (a call time limit), or its host spins forever.
export function handler(arg) {
  let turns = 0;
  for (;;) {
    turns++;
  }
}
