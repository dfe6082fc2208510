// Usage (from tests/node): node same_tokens.mjs a.js b.js [c.js d.js ...]. Exits 1, naming
// the first difference, unless each pair is the same JavaScript token for token (what
// minifying may change is only the spaces and comments between tokens).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const acorn = require('acorn');
const tokens = (file) => [...acorn.tokenizer(readFileSync(file, 'utf8'), { ecmaVersion: 'latest', sourceType: 'module' })]
  .map((t) => `${t.type.label}:${t.value === undefined ? '' : String(t.value)}`);
let failed = false;
for (let k = 2; k < process.argv.length; k += 2) {
  const [a, b] = [tokens(process.argv[k]), tokens(process.argv[k + 1])];
  const i = a.findIndex((t, n) => t !== b[n]);
  if (i >= 0 || a.length !== b.length) {
    failed = true;
    console.log(`${process.argv[k]} differs at token ${i}: ${JSON.stringify(a.slice(Math.max(0, i - 3), i + 3))} vs ${JSON.stringify(b.slice(Math.max(0, i - 3), i + 3))}`);
  }
}
process.exit(failed ? 1 : 0);
