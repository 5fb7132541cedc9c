import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrainKey, loadBrainKey, openStore, planVerifier } from '@citybrain/server';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'citybrain-brain-key-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const citybrain = (...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

test('citybrain token brain-key prints the public key of the store\'s brain key (made once), which verifies the plans the server signs', async () => {
  const db = join(tmp, 'city.db');
  const first = citybrain('token', 'brain-key', '--db', `sqlite:${db}`);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
  assert.match(first.stderr, /issuer brain-[0-9a-f]{16}/);
  assert.ok(existsSync(`${db}.brain-key.pem`));
  assert.equal(citybrain('token', 'brain-key', '--db', `sqlite:${db}`).stdout, first.stdout, 'the same key on every call');
  // the key the server loads from the same data signs what the printed key verifies
  const store = await openStore(`sqlite:${db}`);
  try {
    const key = await loadBrainKey(store);
    const plan = key.sign({ intersection: 'i', seq: 1, ts: Date.now(), phase: 1, validFor: 10 });
    assert.ok(planVerifier(first.stdout)(plan));
    assert.ok(!planVerifier(first.stdout)(BrainKey.generate().sign({ intersection: 'i', seq: 1, ts: Date.now(), phase: 1, validFor: 10 })));
  } finally {
    await store.close();
  }
});

test('a broken --brain-key file is a user error naming it, in token brain-key and in serve', () => {
  const bad = join(tmp, 'bad.pem');
  writeFileSync(bad, 'garbage');
  for (const args of [['token', 'brain-key'], ['serve', '--paused', '--grid', '1x1', '--port', '0']]) {
    const r = citybrain(...args, '--db', `sqlite:${join(tmp, 'other.db')}`, '--brain-key', bad);
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`--brain-key: brain key in ${bad}`), r.stderr);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  }
});
