// Hybrid logical clock, sync-protocol.md: "WWWWWWWWWWWWW-CCCC-NNNNNNNNNNNNNNNN".
// Pure functions over a state {last, node, offset}; storage.js persists the state.

const MAX_COUNTER = 0xffff;

export function randomNode() {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function format(wall, counter, node) {
  return `${String(wall).padStart(13, '0')}-${counter.toString(16).padStart(4, '0')}-${node}`;
}

export function parse(t) {
  const [w, c, n] = t.split('-');
  return { wall: Number(w), counter: parseInt(c, 16), node: n };
}

export function initial(node = randomNode()) {
  return { last: format(0, 0, node), node, offset: 0 };
}

// Carry a counter overflow into the wall so stamps stay strictly increasing.
function make(wall, counter, node) {
  if (counter > MAX_COUNTER) return format(wall + 1, 0, node);
  return format(wall, counter, node);
}

/** Stamp a local write: returns [newState, t]. */
export function tick(state, nowMs = Date.now()) {
  const last = parse(state.last);
  const now = Math.floor(nowMs + (state.offset || 0));
  const t = now > last.wall ? make(now, 0, state.node) : make(last.wall, last.counter + 1, state.node);
  return [{ ...state, last: t }, t];
}

/** Fold a remote stamp in, so the next local stamp is above it. */
export function receive(state, remote, nowMs = Date.now()) {
  if (!remote) return state;
  const l = parse(state.last);
  const m = parse(remote);
  const now = Math.floor(nowMs + (state.offset || 0));
  const wall = Math.max(l.wall, m.wall, now);
  let counter;
  if (wall === l.wall && wall === m.wall) counter = Math.max(l.counter, m.counter) + 1;
  else if (wall === l.wall) counter = l.counter + 1;
  else if (wall === m.wall) counter = m.counter + 1;
  else counter = 0;
  return { ...state, last: make(wall, counter, state.node) };
}

/**
 * The server said our clock runs ahead: take its time as the truth and forget
 * our own future stamps. Returns the corrected state (stamps resume from the
 * server's clock, never below a stamp the server has shown us).
 */
export function correct(state, serverTimeMs, serverHlc, nowMs = Date.now()) {
  const offset = Math.round(serverTimeMs - nowMs);
  const base = { ...state, offset, last: format(0, 0, state.node) };
  return receive(base, serverHlc, nowMs);
}
