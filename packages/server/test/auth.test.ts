import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Auth, bootstrapTokens, hashToken, type Principal, type TokenSpec } from '@citybrain/server';
import { openTestStore, type TestStore } from './helpers.js';

describe('tokens and roles', () => {
  let t: TestStore;
  before(async () => {
    t = await openTestStore('sqlite');
  });
  after(async () => t?.cleanup());

  it('first start with no tokens creates one operator token and prints it once', async () => {
    const auth = new Auth(t.store);
    const printed: string[] = [];
    const first = await bootstrapTokens(auth, { env: '', print: (l) => printed.push(l) });
    assert.equal(first.created.length, 1);
    assert.equal(first.created[0].role, 'operator');
    assert.match(first.created[0].token, /^cbt_[A-Za-z0-9_-]{43}$/);
    assert.equal(printed.length, 1);
    assert.ok(printed[0].includes(first.created[0].token));
    const again = await bootstrapTokens(auth, { env: '', print: (l) => printed.push(l) });
    assert.deepEqual(again.created, []);
    assert.equal(printed.length, 1, 'printed once only');
    const p = await auth.authenticate(first.created[0].token);
    assert.equal(p?.role, 'operator');
  });

  it('a store provisioned with device tokens first (citybrain token field) still gets its operator token on the first start, once', async () => {
    const s = await openTestStore('sqlite');
    try {
      const auth = new Auth(s.store);
      await auth.createToken({ name: 'det', role: 'device', device: 'det-1', intersections: ['intersection_1_1'] });
      const printed: string[] = [];
      const first = await bootstrapTokens(auth, { env: '', print: (l) => printed.push(l) });
      assert.deepEqual(first.created.map((c) => c.role), ['operator']);
      assert.equal(printed.length, 1);
      assert.deepEqual((await bootstrapTokens(auth, { env: '', print: (l) => printed.push(l) })).created, [], 'an operator token was issued: none again');
      assert.equal(printed.length, 1);
    } finally {
      await s.cleanup();
    }
  });

  it('keeps only the sha256 of a token, never the token', async () => {
    const auth = new Auth(t.store);
    const { token, record } = await auth.createToken({ name: 'v', role: 'viewer' });
    assert.equal(record.hash, hashToken(token));
    assert.equal(record.id, `tok_${record.hash.slice(0, 12)}`);
    const stored = JSON.stringify(await t.store.listTokens());
    assert.ok(!stored.includes(token));
  });

  it('installs CITYBRAIN_TOKENS with their device scopes', async () => {
    const auth = new Auth(t.store);
    const env = JSON.stringify([
      { name: 'gateway 7', role: 'device', device: 'gw-7', intersections: ['i7', 'i8'], bays: ['bay-3'], token: 'cbt_gateway-seven-secret-000' },
      { name: 'partner', role: 'app', token: 'cbt_partner-app-secret-0000' },
    ]);
    const r = await bootstrapTokens(auth, { env, print: () => assert.fail('nothing is printed for configured tokens') });
    assert.deepEqual(r.created.map((c) => c.role), ['device', 'app']);
    const gw = (await auth.authenticate('cbt_gateway-seven-secret-000')) as Principal;
    assert.equal(gw.device, 'gw-7');
    assert.deepEqual([...gw.intersections], ['i7', 'i8']);
    assert.deepEqual([...gw.bays], ['bay-3']);
    assert.equal((await auth.authenticate('cbt_partner-app-secret-0000'))?.role, 'app');
    await assert.rejects(bootstrapTokens(auth, { env: '{"name": 1}' }), /CITYBRAIN_TOKENS must be a JSON array/);
    await assert.rejects(bootstrapTokens(auth, { env: '[{"name": "x", "role": "viewer"}]' }), /CITYBRAIN_TOKENS\[0\]\.token is required/);
    await assert.rejects(bootstrapTokens(auth, { env: 'nope' }), /CITYBRAIN_TOKENS is not JSON/);
  });

  it('refuses token specs that make no sense, naming the problem', async () => {
    const auth = new Auth(t.store);
    await assert.rejects(auth.createToken({ name: 'd', role: 'device', intersections: ['i1'] }), /a device token needs device/);
    await assert.rejects(auth.createToken({ name: 'd', role: 'device', device: 'cam-9' }), /needs at least one intersection, bay or vehicle/);
    await assert.rejects(auth.createToken({ name: 'v', role: 'viewer', intersections: ['i1'] }), /only device tokens carry/);
    await assert.rejects(auth.createToken({ name: 'x', role: 'admin' as 'viewer' }), /role must be one of viewer, operator, device, app/);
    await assert.rejects(auth.createToken({ name: 'x', role: 'viewer', token: 'short' }), /at least 16 characters/);
    // as CITYBRAIN_TOKENS may give them (no schema there): a string is not a list of its characters, a number is not a device id
    const spec = (o: object) => JSON.parse(JSON.stringify({ name: 'cab', role: 'device', device: 'cab-1', token: 'cbt_cabinet-secret-00000001', ...o })) as TokenSpec;
    await assert.rejects(bootstrapTokens(auth, { env: JSON.stringify([spec({ intersections: 'i1' })]) }), /token "cab": intersections must be an array of ids, got "i1"/);
    await assert.rejects(bootstrapTokens(auth, { env: JSON.stringify([spec({ intersections: ['i1'], bays: 'bay-1' })]) }), /token "cab": bays must be an array of ids/);
    await assert.rejects(bootstrapTokens(auth, { env: JSON.stringify([spec({ device: 12, intersections: ['i1'] })]) }), /a device token needs device: an id of letters/);
  });

  it('a revoked token stops working at once on this instance', async () => {
    const auth = new Auth(t.store);
    const { token, record } = await auth.createToken({ name: 'temp', role: 'viewer' });
    assert.ok(await auth.authenticate(token));
    assert.equal(await auth.revoke(record.id), true);
    assert.equal(await auth.authenticate(token), undefined);
  });

  it('rate-limits per token with a token bucket', () => {
    const auth = new Auth(t.store, { rateLimit: { perSecond: 10, burst: 3 } });
    assert.deepEqual([auth.takeRate('a'), auth.takeRate('a'), auth.takeRate('a')], [0, 0, 0]);
    assert.equal(auth.takeRate('a'), 1, 'the fourth request in the same instant waits');
    assert.equal(auth.takeRate('b'), 0, 'buckets are per token');
  });
});
