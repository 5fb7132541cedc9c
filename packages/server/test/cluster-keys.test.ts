/** keysWithin: a bucket listing that never ends (keys expiring, nats-server#3481) is given up on, not waited for. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KV } from '@nats-io/kv';
import { keysWithin } from '@citybrain/server/cluster';

/** A bucket whose listing yields `keys`, then ends or (hang) waits for ever; `stopped` says whether it was stopped. */
function bucket(keys: string[], hang: boolean): { kv: KV; stopped: () => boolean } {
  let stopped = false;
  let wake: (() => void) | undefined;
  const it = {
    async *[Symbol.asyncIterator]() {
      yield* keys;
      if (hang) await new Promise<void>((r) => (wake = r));
    },
    stop() {
      stopped = true;
      wake?.();
    },
  };
  return { kv: { keys: async () => it } as unknown as KV, stopped: () => stopped };
}

test('keysWithin: a listing that ends gives its keys', async () => {
  const { kv, stopped } = bucket(['a', 'b'], false);
  assert.deepEqual(await keysWithin(kv, 1000), ['a', 'b']);
  assert.equal(stopped(), false);
});

test('keysWithin: a listing that hangs is stopped at the deadline and gives undefined', async () => {
  const { kv, stopped } = bucket(['a'], true);
  const t0 = Date.now();
  assert.equal(await keysWithin(kv, 100), undefined);
  const took = Date.now() - t0;
  assert.ok(took >= 90 && took < 2000, `${took} ms`);
  assert.equal(stopped(), true, 'the listing was stopped');
});
