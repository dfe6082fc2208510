// The app's side of the shared protocol cases (tests/fixtures/protocol-cases.json);
// tests/sync/test_shared_cases.py holds the server to the same table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as hlc from '../../pwa/js/hlc.js';
import { applyLocal, canonical, merge, wins } from '../../pwa/js/records.js';

const CASES = JSON.parse(readFileSync(new URL('../fixtures/protocol-cases.json', import.meta.url), 'utf8'));
const STAMP = '1764147600000-0000-00000000000000aa';

for (const c of CASES.ties) {
  test(`tie: ${c.why}`, () => {
    const a = { v: c.a, t: STAMP };
    const b = { v: c.b, t: STAMP };
    const winner = wins(b, a) ? 'b' : wins(a, b) ? 'a' : 'same';
    assert.equal(winner, c.winner);
  });
}

for (const c of CASES.canonical) {
  test(`canonical: ${c.json}`, () => assert.equal(canonical(c.value), c.json));
}

for (const c of CASES.hlc) {
  test(`clock: ${c.why}`, () => {
    const state = { last: c.last, node: CASES.node, offset: 0 };
    const got = c.op === 'tick' ? hlc.tick(state, c.now)[1] : hlc.receive(state, c.remote, c.now).last;
    assert.equal(got, c.expect);
  });
}

test('a deletion keeps the identifying fields, so the server can authorise it', () => {
  const t1 = '1764147600000-0000-00000000000000aa';
  const t2 = '1764147600001-0000-00000000000000aa';
  const answer = applyLocal(null, {
    type: 'checklist_answer',
    id: 'a',
    values: { participant_id: 'p', project_id: 'q', stage: 'design', statement_id: 's', value: 'agree', comment: 'private' },
  }, t1);
  const gone = applyLocal(answer, { type: 'checklist_answer', id: 'a', delete: true }, t2);
  assert.equal(gone.deleted, t2);
  assert.deepEqual(Object.keys(gone.fields).sort(), ['participant_id', 'project_id', 'stage', 'statement_id']);
  // A tombstone pulled from the server (no fields) keeps them too while the local one waits to go.
  const pulled = merge(gone, { type: 'checklist_answer', id: 'a', fields: {}, deleted: t2 });
  assert.equal(pulled.fields.statement_id.v, 's');
  assert.equal(pulled.fields.comment, undefined);
});
