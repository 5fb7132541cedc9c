import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fairShare, ownershipMoves } from '@citybrain/server/cluster';

const R4 = ['north-east', 'north-west', 'south-east', 'south-west'];

/** Plays the rule to a fixed point: each round every live worker applies its moves on the bucket as the others left it (claims are atomic creates). */
function settle(regions: string[], live: string[], start: Record<string, string> = {}, rounds = 20): Map<string, string> {
  const owners = new Map(Object.entries(start));
  for (let round = 0; round < rounds; round++) {
    let moved = false;
    for (const self of live) {
      const { claim, release } = ownershipMoves({ self, regions, owners, live });
      for (const r of release) {
        assert.equal(owners.get(r), self, `${self} hands back ${r}, which it does not own`);
        owners.delete(r);
        moved = true;
      }
      for (const r of claim) {
        assert.equal(owners.has(r), false, `${self} claims ${r}, which is owned`);
        owners.set(r, self);
        moved = true;
      }
    }
    if (!moved) return owners;
  }
  assert.fail(`no fixed point after ${rounds} rounds: ${JSON.stringify([...owners])}`);
}

const counts = (owners: Map<string, string>, live: string[]) => live.map((w) => [...owners.values()].filter((o) => o === w).length);

test('fair share is ceil(regions / live workers), at least one worker', () => {
  assert.equal(fairShare(4, 1), 4);
  assert.equal(fairShare(4, 3), 2);
  assert.equal(fairShare(16, 5), 4);
  assert.equal(fairShare(4, 0), 4);
});

test('a lone worker claims every region; two split them 2/2', () => {
  assert.deepEqual(ownershipMoves({ self: 'a', regions: R4, owners: new Map(), live: [] }).claim.sort(), [...R4].sort());
  const owners = settle(R4, ['a', 'b']);
  assert.equal(owners.size, 4);
  assert.deepEqual(counts(owners, ['a', 'b']), [2, 2]);
});

test('a worker joining takes its share: the others hand back their surplus', () => {
  const start = Object.fromEntries(R4.map((r) => [r, 'a']));
  // a alone held all four; b joins: a hands back two (beyond ceil(4/2))
  const m = ownershipMoves({ self: 'a', regions: R4, owners: new Map(Object.entries(start)), live: ['a', 'b'] });
  assert.equal(m.release.length, 2);
  assert.deepEqual(counts(settle(R4, ['a', 'b'], start), ['a', 'b']), [2, 2]);
});

test('2/2 and a third joins: one region is handed back (not two), the newcomer gets it', () => {
  const start = { 'north-east': 'a', 'north-west': 'a', 'south-east': 'b', 'south-west': 'b' };
  const owners = new Map(Object.entries(start));
  const live = ['a', 'b', 'c'];
  const moves = live.map((self) => ownershipMoves({ self, regions: R4, owners, live }));
  assert.deepEqual(moves.map((m) => m.release.length), [1, 0, 0]);
  const settled = settle(R4, live, start);
  assert.equal(settled.size, 4);
  assert.deepEqual(counts(settled, live).sort(), [1, 1, 2]);
});

test('a dead worker\'s regions, once their keys expire, go to the survivors evenly', () => {
  // 16 regions over 4 workers; d dies: its 4 keys expire
  const regions = Array.from({ length: 16 }, (_, i) => `r${i}`);
  const live4 = ['a', 'b', 'c', 'd'];
  const four = settle(regions, live4);
  assert.deepEqual(counts(four, live4), [4, 4, 4, 4]);
  for (const [r, o] of [...four]) if (o === 'd') four.delete(r);
  const survivors = ['a', 'b', 'c'];
  const three = settle(regions, survivors, Object.fromEntries(four));
  assert.equal(three.size, 16, 'every region owned again');
  assert.deepEqual(counts(three, survivors).sort(), [5, 5, 6]);
});

test('a region still keyed to a dead worker is not claimed (it is owned until the key expires)', () => {
  const owners = new Map([['north-east', 'gone'], ['north-west', 'gone']]);
  const m = ownershipMoves({ self: 'a', regions: R4, owners, live: ['a'] });
  assert.deepEqual(m.claim.sort(), ['south-east', 'south-west']);
});

test('more workers than regions: each region one owner, the rest idle', () => {
  const live = ['a', 'b', 'c', 'd', 'e', 'f'];
  const owners = settle(R4, live);
  assert.equal(owners.size, 4);
  assert.deepEqual(counts(owners, live).sort(), [0, 0, 1, 1, 1, 1]);
});
