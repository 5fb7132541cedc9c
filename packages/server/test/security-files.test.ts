/**
 * Issue #12: the embedded store holds plates and the audit log, so its
 * directory and files are the owner's alone (0700 / 0600, -wal and -shm too).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@citybrain/server';
import { events } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'citybrain-secfile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

test('a new SQLite store: directory 0700, database, -wal and -shm 0600', async () => {
  const dir = join(tmp, 'data', 'nested');
  const file = join(dir, 'citybrain.db');
  const store = await openStore(`sqlite:${file}`);
  try {
    await store.append(events(10, 'perm'));
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      assert.ok(existsSync(f), `${f} exists`);
      assert.equal(mode(f), '600', f);
    }
    assert.equal(mode(dir), '700');
    assert.equal(mode(join(tmp, 'data')), '700', 'the parents it creates too');
  } finally {
    await store.close();
  }
});

test('an existing world-readable database (from an older version) is made 0600 when opened', async () => {
  const file = join(tmp, 'old.db');
  writeFileSync(file, '');
  chmodSync(file, 0o644);
  const store = await openStore(`sqlite:${file}`);
  try {
    await store.append(events(1, 'old'));
    assert.equal(mode(file), '600');
    assert.equal(mode(`${file}-wal`), '600');
  } finally {
    await store.close();
  }
});
