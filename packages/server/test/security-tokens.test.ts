/**
 * Issue #12, token lifecycle: a revocation survives restarts, the last
 * operator token cannot be revoked (and `citybrain token create` recovers
 * offline), and a bad CITYBRAIN_TOKENS stops `citybrain serve` with one line.
 */
import { describe, it, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateGrid } from '@citybrain/engine';
import { Auth, bootstrapTokens, hashToken, openStore, startServer, type RunningServer } from '@citybrain/server';
import { openTestStore, pgUnavailable, type TestStore } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));
const citybrain = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, CITYBRAIN_TOKENS: '', CITYBRAIN_LOG_LEVEL: 'warn', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const tmp = mkdtempSync(join(tmpdir(), 'citybrain-sectok-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const pgSkip = await pgUnavailable();
for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`a revoked CITYBRAIN_TOKENS token stays revoked (${backend})`, { skip: backend === 'postgres' && pgSkip }, () => {
    let t: TestStore;
    before(async () => {
      t = await openTestStore(backend);
    });
    after(async () => t?.cleanup());

    it('putToken never clears a revocation', async () => {
      const rec = { id: 'tok_keep', hash: hashToken('cbt_keep-revoked-0000000'), name: 'kept', role: 'viewer' as const, intersections: [], bays: [], vehicles: [], createdAt: 1 };
      await t.store.putToken(rec);
      assert.equal(await t.store.revokeToken('tok_keep', 50), true);
      await t.store.putToken({ ...rec, name: 'kept, renamed' });
      const after = await t.store.findToken(rec.hash);
      assert.equal(after?.revokedAt, 50, 'still revoked');
      assert.equal(after?.name, 'kept, renamed', 'the rest is updated');
    });

    it('a restart with the same CITYBRAIN_TOKENS reports the revoked token and does not revive it', async () => {
      const env = JSON.stringify([
        { name: 'control room', role: 'operator', token: 'cbt_control-room-secret-0001' },
        { name: 'wall screen', role: 'viewer', token: 'cbt_wall-screen-secret-00001' },
      ]);
      const first = new Auth(t.store);
      await bootstrapTokens(first, { env, print: () => assert.fail('nothing to report at the first start') });
      const screen = (await first.authenticate('cbt_wall-screen-secret-00001'))!;
      assert.ok(await first.revoke(screen.tokenId));

      const printed: string[] = [];
      const restarted = new Auth(t.store);
      const r = await bootstrapTokens(restarted, { env, print: (l) => printed.push(l) });
      assert.deepEqual(r.created.map((c) => c.name), ['control room'], 'the revoked token is not among the installed ones');
      assert.equal(await restarted.authenticate('cbt_wall-screen-secret-00001'), undefined, 'still revoked after the restart');
      assert.equal((await restarted.authenticate('cbt_control-room-secret-0001'))?.role, 'operator');
      assert.equal(printed.length, 1);
      assert.match(printed[0], new RegExp(`CITYBRAIN_TOKENS\\[1\\] \\("wall screen", ${screen.tokenId}\\) was revoked on \\d{4}-\\d\\d-\\d\\dT.*stays revoked`));
      assert.ok(!printed[0].includes('cbt_wall-screen'), 'the secret is not printed');
    });
  });
}

describe('the last operator token', () => {
  let server: RunningServer;
  let operator: string;
  const store = `sqlite:${join(tmp, 'ops.db')}`;
  const start = () => startServer({ scenario: generateGrid({ rows: 1, cols: 1 }), storeUrl: store, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false } });
  async function call(method: string, path: string, token: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  }
  before(async () => {
    server = await start();
    operator = server.createdTokens[0].token;
  });
  after(async () => server?.close());

  it('cannot be revoked (409 naming why); once another exists it can, and then that one is the last', async () => {
    const me = (await call('GET', '/api/v1/me', operator)).body;
    const refused = await call('DELETE', `/api/v1/tokens/${me.tokenId}`, operator);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'CB_LAST_OPERATOR');
    assert.match(refused.body.message, new RegExp(`token ${me.tokenId} is the last active operator token: issue another operator token before revoking it`));
    assert.equal((await call('GET', '/api/v1/me', operator)).status, 200, 'still valid');

    const viewer = (await call('POST', '/api/v1/tokens', operator, { name: 'screen', role: 'viewer' })).body;
    assert.equal((await call('DELETE', `/api/v1/tokens/${viewer.id}`, operator)).status, 204, 'other roles are revoked as before');

    const second = (await call('POST', '/api/v1/tokens', operator, { name: 'night shift', role: 'operator' })).body;
    assert.equal((await call('DELETE', `/api/v1/tokens/${me.tokenId}`, second.token)).status, 204);
    assert.equal((await call('DELETE', `/api/v1/tokens/${second.id}`, second.token)).status, 409);
    operator = second.token;
  });

  it('two revocations at once cannot leave no operator', async () => {
    const a = (await call('POST', '/api/v1/tokens', operator, { name: 'a', role: 'operator' })).body;
    const me = (await call('GET', '/api/v1/me', operator)).body;
    const both = await Promise.all([call('DELETE', `/api/v1/tokens/${me.tokenId}`, a.token), call('DELETE', `/api/v1/tokens/${a.id}`, operator)]);
    // one revocation goes through; the other is refused: as the last operator (409), or, when the first was done before it
    // was even authenticated, because the token it came with is revoked (401)
    const statuses = both.map((r) => r.status).sort();
    assert.equal(statuses[0], 204);
    assert.ok(statuses[1] === 409 || statuses[1] === 401, `the other: ${statuses[1]}`);
    operator = both[0].status === 204 ? a.token : operator;
    assert.equal((await call('GET', '/api/v1/me', operator)).status, 200, 'an operator is left');
  });

  it('citybrain token create writes an operator token into the store offline, printed once, audited', async () => {
    await server.close();
    const r = citybrain(['token', 'create', '--role', 'operator', '--name', 'recovery', '--db', store]);
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    assert.match(token, /^cbt_[A-Za-z0-9_-]{43}$/);
    assert.match(r.stderr, /issued operator token "recovery" \(tok_[0-9a-f]{12}\).*shown once/);
    server = await start();
    const me = await call('GET', '/api/v1/me', token);
    assert.equal(me.status, 200);
    assert.equal(me.body.role, 'operator');
    const audit = (await call('GET', '/api/v1/audit?action=issue-token', token)).body;
    assert.equal(audit[0].target, `token:${me.body.tokenId}`);
    assert.match(audit[0].actor, /^citybrain token create \(/);

    const bad = citybrain(['token', 'create', '--role', 'root', '--db', store]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'citybrain: --role must be one of viewer, operator, device, app, police, analyst, got "root"\n');
    assert.equal(bad.stdout, '');
  });
});

test('a bad CITYBRAIN_TOKENS stops citybrain serve with one line naming the entry and field, exit code 2', () => {
  const db = `sqlite:${join(tmp, 'bad-env.db')}`;
  const cases: [string, string][] = [
    ['[{"name": "x", "role": "boss", "token": "cbt_0123456789abcdef"}]', 'CITYBRAIN_TOKENS[0]: token "x": role must be one of viewer, operator, device, app, police, analyst, got "boss"'],
    ['[{"name": "x", "role": "viewer"}]', 'CITYBRAIN_TOKENS[0].token is required (the secret its clients send)'],
    ['{"name": "x"}', 'CITYBRAIN_TOKENS must be a JSON array of {name, role, token, device?, intersections?, bays?, vehicles?}'],
    ['[1]', 'CITYBRAIN_TOKENS[0] must be an object {name, role, token, device?, intersections?, bays?, vehicles?}, got 1'],
  ];
  for (const [env, message] of cases) {
    const r = citybrain(['serve', '--port', '0', '--paused', '--db', db], { CITYBRAIN_TOKENS: env });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `citybrain: ${message}\n`);
  }
  const notJson = citybrain(['serve', '--port', '0', '--paused', '--db', db], { CITYBRAIN_TOKENS: '[{' });
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /^citybrain: CITYBRAIN_TOKENS is not JSON: [^\n]+\n$/);
});

test('a bad entry of CITYBRAIN_TOKENS installs none of them', async () => {
  const s = await openStore(`sqlite:${join(tmp, 'partial.db')}`);
  try {
    const env = JSON.stringify([{ name: 'ok', role: 'viewer', token: 'cbt_fine-secret-000000001' }, { name: 'bad', role: 'viewer', token: 'short' }]);
    await assert.rejects(bootstrapTokens(new Auth(s), { env }), /CITYBRAIN_TOKENS\[1\]: token "bad": token must be at least 16 characters/);
    assert.deepEqual(await s.listTokens(), []);
  } finally {
    await s.close();
  }
});
