/**
 * Issue #12: the dashboard and the API are sent with a Content-Security-Policy,
 * no framing (clickjacking), no MIME sniffing and no referrer, and the built
 * dashboard and /docs still work under that policy in Chromium.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateGrid } from '@citybrain/engine';
import { startServer, type RunningServer } from '@citybrain/server';

const DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
let server: RunningServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-headers-'));
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2 }),
    storeUrl: `sqlite:${join(dir, 'city.db')}`,
    port: 0, run: true, logger: false, printToken: () => {}, webRoot: DIST, auth: { rateLimit: false },
  });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('every kind of response carries CSP, X-Frame-Options DENY, nosniff and no-referrer', async () => {
  const token = server.createdTokens[0].token;
  const cases: [string, Record<string, string>][] = [
    ['/', {}], ['/docs/', {}], ['/docs/json', {}], ['/healthz', {}], ['/api/v1/me', { authorization: `Bearer ${token}` }], ['/api/v1/me', {}], ['/no-such-page', {}],
  ];
  for (const [path, headers] of cases) {
    const r = await fetch(server.url + path, { headers });
    await r.arrayBuffer();
    const csp = r.headers.get('content-security-policy') ?? '';
    const what = `${path} (${r.status})`;
    assert.match(csp, /(^|;)\s*default-src 'self'/, what);
    assert.match(csp, /(^|;)\s*script-src 'self'(;|$)/, `${what}: scripts from this origin only, no inline or eval`);
    assert.match(csp, /(^|;)\s*frame-ancestors 'none'/, what);
    assert.match(csp, /(^|;)\s*object-src 'none'/, what);
    assert.equal(r.headers.get('x-frame-options'), 'DENY', what);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', what);
    assert.equal(r.headers.get('strict-transport-security'), null, `${what}: no HSTS from a plain-HTTP server`);
    assert.doesNotMatch(csp, /upgrade-insecure-requests/, `${what}: a plain-HTTP server must not upgrade its own requests`);
  }
});

const noBrowser = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)` : !existsSync(join(DIST, 'index.html')) ? 'the dashboard is not built (npm run build -w @citybrain/web)' : false;

test('the built dashboard (signed in, live map streaming) and /docs run under the policy without a violation', { skip: noBrowser, timeout: 120_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    // violations are reported to the page as events too (the console message can be rate limited)
    await page.addInitScript({ content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))" });

    await page.goto(server.url);
    await page.fill('input[name=token]', server.createdTokens[0].token);
    await page.click('button[name=sign-in]');
    await page.waitForSelector('[data-testid=role]');
    // the map drew (WebGL, workers) and the live stream opened with a ticket under connect-src 'self'
    await page.waitForFunction('(window.__citybrain?.stats.lanes ?? 0) > 0');
    await page.waitForSelector('[data-testid=live-status].open', { timeout: 15_000 });
    await page.waitForTimeout(1500);

    await page.goto(`${server.url}/docs/`);
    await page.waitForSelector('.swagger-ui .opblock', { timeout: 30_000 });
    assert.deepEqual(problems, [], 'errors or CSP violations in the page');
  } finally {
    await browser.close();
  }
});
