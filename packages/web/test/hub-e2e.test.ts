// End-to-end, issue #21 (the Data tab): the built dashboard in headless
// Chromium against a server whose data hub holds a department's datasets
// (registered and loaded through the API), one derived from another. A
// department's analyst signs in and sees only the Data tab: the catalogue, a
// dataset's schema, lineage and access log, a GROUP BY query's table, chart
// and CSV, and a refused query on a dataset not granted to it. An operator
// sees the Data tab beside the city's; a viewer does not.
// Screenshots land in packages/web/test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { generateGrid } from '@citybrain/engine';
import { startServer, type RunningServer } from '@citybrain/server';
import { translate } from '../src/i18n.js';

const WEB = new URL('../../', import.meta.url).pathname; // packages/web
const DIST = join(WEB, 'dist');
const ARTIFACTS = join(WEB, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
/** the machine is shared and loaded: waits are long */
const WAIT_MS = 60_000;

// a week of daily counts on three roads: vehicles = 100 * road number + day
const ROADS = ['road_1', 'road_2', 'road_3'];
const DAYS = Array.from({ length: 7 }, (_, i) => `2024-05-0${i + 1}`);
const COUNTS_CSV = 'road,day,vehicles\n' + ROADS.flatMap((r, ri) => DAYS.map((d, di) => `${r},${d},${100 * (ri + 1) + di}`)).join('\n') + '\n';
const GROUP_BY = 'SELECT road, sum(vehicles) AS vehicles, count(*) AS days FROM counts GROUP BY road ORDER BY road';
/** what the GROUP BY must answer, from the CSV above */
const EXPECTED = ROADS.map((r, ri) => [r, DAYS.reduce((s, _, di) => s + 100 * (ri + 1) + di, 0), DAYS.length] as const);

describe('dashboard end to end: the Data tab (the city data hub)', { skip, timeout: 300_000 }, () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  const tokens: Record<'operator' | 'analyst' | 'viewer', string> = { operator: '', analyst: '', viewer: '' };
  const errors: string[] = [];

  const call = async (who: keyof typeof tokens, method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(server.url + path, {
      method, headers: { Authorization: `Bearer ${tokens[who]}`, ...(body === undefined ? {} : { 'Content-Type': type }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) as Record<string, unknown> : undefined };
  };
  const ok = async (status: number, p: Promise<{ status: number; text: string }>) => {
    const r = await p;
    assert.equal(r.status, status, r.text);
  };

  /** `expected`: console errors the test causes on purpose (the refused query's 403) */
  const open = async (token: string, name: string, expected: RegExp[] = []): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`${name} pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && !expected.some((re) => re.test(m.text() + ' ' + m.location().url)) && errors.push(`${name} console: ${m.text()}`));
    await page.goto(server.url);
    await page.fill('input[name=token]', token);
    await page.click('button[name=sign-in]');
    await page.waitForSelector('[data-testid=role]', { timeout: WAIT_MS });
    return page;
  };
  const tabs = (page: Page) => page.$$eval('[role=tablist].main-tabs [data-tab]', (b) => b.map((x) => (x as HTMLElement).dataset.tab));

  before(async () => {
    assert.ok(existsSync(join(DIST, 'index.html')), 'packages/web/dist is missing: run `npm run build -w @citybrain/web`');
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'citybrain-web-hub-'));
    server = await startServer({
      scenario: generateGrid({ rows: 3, cols: 3, demand: 0.05 }), storeUrl: `sqlite:${join(dir, 'city.db')}`, run: false, street: false,
      port: 0, logger: false, printToken: () => undefined, webRoot: DIST, auth: { rateLimit: false }, hub: { dir: join(dir, 'hub') },
    });
    tokens.operator = server.createdTokens.find((t) => t.role === 'operator')!.token;
    for (const [id, name] of [['transport', 'Transport Bureau'], ['police', 'Traffic Police']]) {
      await ok(201, call('operator', 'POST', '/api/v1/hub/departments', { id, name }));
    }
    const analyst = await call('operator', 'POST', '/api/v1/tokens', { name: 'transport analyst', role: 'analyst', organisation: 'transport' });
    assert.equal(analyst.status, 201, analyst.text);
    tokens.analyst = analyst.json!.token as string;
    tokens.viewer = (await server.auth.createToken({ name: 'viewer', role: 'viewer' })).token;

    const base = { updateFrequency: 'daily', licence: 'CC-BY-4.0' };
    // the transport bureau's analyst registers and loads its own data (owner: admin of it)
    await ok(201, call('analyst', 'POST', '/api/v1/hub/datasets', {
      ...base, id: 'counts', title: 'Daily road counts', owner: 'transport', description: 'Vehicles counted per road per day', classification: 'restricted',
      columns: [{ name: 'road', type: 'string', nullable: false }, { name: 'day', type: 'date', nullable: false }, { name: 'vehicles', type: 'integer' }],
    }));
    await ok(201, call('analyst', 'POST', '/api/v1/hub/datasets/counts/load', COUNTS_CSV, 'text/csv'));
    await ok(201, call('analyst', 'POST', '/api/v1/hub/datasets', {
      ...base, id: 'patrols', title: 'Counting patrols', owner: 'transport', description: 'Who counted where', classification: 'personal', updateFrequency: 'weekly',
      columns: [{ name: 'road', type: 'string' }, { name: 'officer', type: 'string', personal: true }],
    }));
    await ok(201, call('analyst', 'POST', '/api/v1/hub/datasets/patrols/rows', { rows: [{ road: 'road_1', officer: 'Li Wei' }] }));
    // derived: its lineage names counts and the SQL
    await ok(201, call('analyst', 'POST', '/api/v1/hub/datasets', {
      ...base, id: 'counts_by_road', title: 'Counts by road', owner: 'transport', description: 'The week per road', classification: 'restricted',
      sql: 'SELECT road, sum(vehicles) AS vehicles FROM counts GROUP BY road',
    }));
    // the police's restricted data: not granted to transport
    await ok(201, call('operator', 'POST', '/api/v1/hub/datasets', {
      ...base, id: 'incidents', title: 'Police incidents', owner: 'police', description: 'Incidents on the roads', classification: 'restricted',
      columns: [{ name: 'road', type: 'string' }, { name: 'severity', type: 'integer' }],
    }));
    await ok(201, call('operator', 'POST', '/api/v1/hub/datasets/incidents/rows', { rows: [{ road: 'road_2', severity: 3 }] }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an analyst sees only the Data tab: the catalogue, a dataset\'s schema, lineage and access log, a GROUP BY\'s table, chart and CSV; a dataset not granted is refused', async () => {
    const page = await open(tokens.analyst, 'analyst', [/403 \(Forbidden\)/]);
    assert.equal(await page.textContent('[data-testid=role]'), translate('en', 'role_analyst'));
    assert.deepEqual(await tabs(page), ['data']);
    assert.equal(await page.textContent('[data-tab=data]'), translate('en', 'tabData'));
    // nothing of the city: no map, no wall mode, no simulation controls
    await page.waitForSelector('[data-testid=data-catalogue]', { timeout: WAIT_MS });
    assert.equal(await page.$('button[name=wall-mode]'), null);
    assert.equal(await page.$('canvas#deckgl-overlay, [data-panel]'), null);

    // the catalogue: the analyst's department's datasets, not the police's
    const rows = await page.$$eval('[data-testid=data-catalogue] tbody tr', (r) => r.map((x) => [
      (x as HTMLElement).dataset.dataset, ...[...x.querySelectorAll('td')].slice(1).map((td) => td.textContent!.trim()),
    ]));
    assert.deepEqual(rows.map((r) => r[0]).sort(), ['counts', 'counts_by_road', 'patrols']);
    const counts = rows.find((r) => r[0] === 'counts')!;
    assert.deepEqual(counts.slice(1), ['Transport Bureau', translate('en', 'class_restricted'), '21', translate('en', 'freq_daily'), 'CC-BY-4.0']);

    // a personal dataset: its personal column marked, read in clear by its owner
    await page.click('[data-dataset=patrols] button[name=open-dataset]');
    await page.waitForSelector('[data-testid=data-dataset][data-dataset=patrols] [data-testid=data-schema]', { timeout: WAIT_MS });
    assert.deepEqual(await page.$$eval('[data-testid=data-schema] tr[data-personal=true]', (r) => r.map((x) => (x as HTMLElement).dataset.column)), ['officer']);
    assert.equal(await page.textContent('[data-column=officer] [data-testid=personal]'), translate('en', 'dataPersonal'));
    assert.equal(await page.textContent('[data-testid=data-classification]'), translate('en', 'class_personal'));

    // the derived dataset: its lineage names counts (a link) and the SQL
    await page.click('[data-dataset=counts_by_road] button[name=open-dataset]');
    await page.waitForSelector('[data-testid=data-dataset][data-dataset=counts_by_road] [data-testid=data-lineage]', { timeout: WAIT_MS });
    assert.match(await page.textContent('[data-testid=data-lineage] pre.sql') ?? '', /SELECT road, sum\(vehicles\) AS vehicles FROM counts GROUP BY road/);
    await page.click('[data-testid=data-lineage] button[data-input=counts]');
    // the input's page: its schema with types, loaded (not derived), its access log (the analyst's department owns it)
    await page.waitForSelector('[data-testid=data-dataset][data-dataset=counts] [data-testid=data-not-derived]', { timeout: WAIT_MS });
    assert.deepEqual(await page.$$eval('[data-testid=data-schema] tbody tr', (r) => r.map((x) => [(x as HTMLElement).dataset.column, x.querySelectorAll('td')[1].textContent])),
      [['road', 'string'], ['day', 'date'], ['vehicles', 'integer']]);
    assert.equal(await page.textContent('[data-testid=data-your-access]'), translate('en', 'access_admin'));
    await page.waitForSelector('[data-testid=data-access-log] tr[data-action="hub.load"]', { timeout: WAIT_MS });
    assert.match(await page.textContent('[data-testid=data-access-log] tr[data-action="hub.load"]') ?? '', /transport analyst.*analyst@transport.*csv.*21/s);

    // the GROUP BY: its table, a bar chart drawn on its canvas, the read in the access log
    await page.fill('textarea[name=sql]', GROUP_BY);
    await page.click('button[name=run-query]');
    await page.waitForSelector('[data-testid=data-query-result]', { timeout: WAIT_MS });
    const table = await page.$$eval('[data-testid=data-result] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(table, EXPECTED.map(([r, v, d]) => [r, String(v), String(d)]));
    assert.deepEqual(await page.$eval('[data-testid=data-chart]', (c) => [(c as HTMLElement).dataset.chartType, (c as HTMLElement).dataset.x, (c as HTMLElement).dataset.series]),
      ['bar', 'road', 'vehicles,days']);
    // the canvas holds drawn pixels (the bars), not a blank box
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid=data-chart] canvas') as HTMLCanvasElement | null;
      if (!c || c.width === 0) return false;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let drawn = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) drawn++;
      return drawn > 1000;
    }, undefined, { timeout: WAIT_MS });
    await page.waitForSelector('[data-testid=data-access-log] tr[data-action="hub.read"]', { timeout: WAIT_MS });
    const read = await page.$$eval('[data-testid=data-access-log] tr[data-action="hub.read"]', (r) => r.map((x) => [...x.querySelectorAll('td')].slice(1).map((td) => td.textContent)));
    // newest first: who (token name and id, role@department), what (the SQL), how many rows
    assert.match(read[0][0]!, /^transport analyst \(tok_\w+\) ?analyst@transport$/);
    assert.deepEqual(read[0].slice(1), [`${translate('en', 'hubAction_read')} ${GROUP_BY}`, '3']);
    await page.screenshot({ path: join(ARTIFACTS, 'data-analyst-query.png'), fullPage: true });

    // the CSV: the server's, of the query shown
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), page.click('button[name=download-csv]')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    assert.equal(csv, ['road,vehicles,days', ...EXPECTED.map((r) => r.join(','))].join('\r\n') + '\r\n');
    assert.equal(download.suggestedFilename(), 'counts.csv');
    // the download is a read of its own, audited as CSV
    await page.waitForFunction((sql) => document.querySelector('[data-testid=data-access-log] tr[data-action="hub.read"] code')?.textContent === `${sql} · csv`, GROUP_BY, { timeout: WAIT_MS });

    // over time: a line
    await page.fill('textarea[name=sql]', 'SELECT day, sum(vehicles) AS vehicles FROM counts GROUP BY day ORDER BY day');
    await page.click('button[name=run-query]');
    await page.waitForSelector('[data-testid=data-chart][data-chart-type=line][data-x=day]', { timeout: WAIT_MS });
    assert.equal(await page.$$eval('[data-testid=data-result] tbody tr', (r) => r.length), DAYS.length);

    // the police's incidents, not granted to transport: refused, the server's reason beside the sentence
    await page.fill('textarea[name=sql]', 'SELECT road, count(*) AS n FROM incidents GROUP BY road');
    await page.click('button[name=run-query]');
    const refusal = await page.waitForSelector('.data-query-error[data-error=CB_FORBIDDEN]', { timeout: WAIT_MS });
    assert.ok((await refusal.textContent())!.includes(translate('en', 'dataQueryRefused')));
    assert.match(await refusal.$eval('.error-detail', (e) => e.textContent!), /query refused: .*incidents/);
    assert.equal(await page.$('[data-testid=data-query-result]'), null, 'no result is shown for a refused query');
    await page.screenshot({ path: join(ARTIFACTS, 'data-analyst-refused.png'), fullPage: true });

    // in Chinese: the tab and the refusal's sentence follow the language
    await page.selectOption('select[name=language]', 'zh');
    assert.equal(await page.textContent('[data-tab=data]'), translate('zh', 'tabData'));
    assert.ok((await page.textContent('.data-query-error'))!.includes(translate('zh', 'dataQueryRefused')));
    await page.context().close();
  });

  test('an operator sees the Data tab beside the city\'s: every dataset, a personal column hidden without a grant; a viewer has no Data tab', async () => {
    const page = await open(tokens.operator, 'operator');
    assert.deepEqual(await tabs(page), ['live', 'compare', 'replay', 'data']);
    await page.click('[data-tab=data]');
    await page.waitForSelector('[data-testid=data-catalogue]', { timeout: WAIT_MS });
    assert.deepEqual((await page.$$eval('[data-testid=data-catalogue] tbody tr', (r) => r.map((x) => (x as HTMLElement).dataset.dataset))).sort(),
      ['counts', 'counts_by_road', 'incidents', 'patrols']);
    await page.click('[data-dataset=patrols] button[name=open-dataset]');
    await page.waitForSelector('[data-testid=data-schema] tr[data-column=officer]', { timeout: WAIT_MS });
    assert.equal(await page.textContent('[data-testid=data-schema] tr[data-column=officer] td:nth-child(3)'), translate('en', 'reads_null'));
    // the analyst's reads are in the counts log (an operator is admin of every dataset)
    await page.click('[data-dataset=counts] button[name=open-dataset]');
    await page.waitForSelector('[data-testid=data-access-log] tr[data-action="hub.read"]', { timeout: WAIT_MS });
    await page.screenshot({ path: join(ARTIFACTS, 'data-operator.png'), fullPage: true });
    await page.context().close();

    const viewer = await open(tokens.viewer, 'viewer');
    assert.deepEqual(await tabs(viewer), ['live', 'compare', 'replay']);
    await viewer.context().close();
  });

  test('no page errors along the way', () => {
    assert.deepEqual(errors, []);
  });
});
