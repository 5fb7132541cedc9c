/**
 * The install itself: every package the lockfile holds (those for other
 * platforms too) accepts every Node version the project declares, so `npm ci`
 * prints no EBADENGINE warning anywhere, and
 * the server's static-file plugin is installed once (the dashboard and the API
 * docs' assets go through the same copy).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import semver from 'semver';

const ROOT = new URL('../../../', import.meta.url);
const readJson = (path: string) => JSON.parse(readFileSync(new URL(path, ROOT), 'utf8')) as Record<string, unknown>;

interface LockEntry {
  version?: string;
  engines?: unknown;
}

const lock = readJson('package-lock.json') as { packages: Record<string, LockEntry> };

test('every locked package accepts every Node version the project declares', () => {
  const declared = (readJson('package.json').engines as { node: string }).node;
  const refused: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || typeof entry.engines !== 'object' || entry.engines === null) continue;
    const node = (entry.engines as { node?: unknown }).node;
    if (typeof node === 'string' && !semver.subset(declared, node)) {
      refused.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${node}`);
    }
  }
  assert.deepEqual(refused, [], `the project declares node ${declared}`);
  // the machine and CI run Node 20
  assert.ok(semver.satisfies('20.19.0', declared));
});

test('@fastify/static is installed once', () => {
  const copies = Object.entries(lock.packages)
    .filter(([path]) => path.endsWith('node_modules/@fastify/static'))
    .map(([path, e]) => `${path}@${e.version}`);
  assert.equal(copies.length, 1, copies.join(', '));
});
