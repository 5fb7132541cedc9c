// Frame rate of the live map with 20,000 vehicles on screen, in headless Chromium.
//   node packages/web/test/fps.mjs [--seconds 5] [--period 500]
// Serves the built dashboard (packages/web/dist) in its in-browser fixture mode
// (`?fixture=vehicles20k`: a synthetic city streaming 20,000 vehicles through the
// same binary frame decoder as the server's feed), pans the map with the mouse
// the whole time so deck.gl must redraw every frame, and counts frames with
// requestAnimationFrame. Headless Chromium with --disable-gpu renders WebGL on
// the CPU (SwiftShader), so this is a floor, not what a GPU desktop shows.
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, period: { type: 'string', default: '500' } } });
const seconds = Number(values.seconds);
const period = Number(values.period);
if (!(seconds > 0 && period > 0)) throw new Error('--seconds and --period must be positive numbers');

const web = new URL('..', import.meta.url).pathname;
const dist = join(web, 'dist');
if (!existsSync(join(dist, 'index.html'))) {
  console.error('packages/web/dist is missing: run `npm run build -w @citybrain/web` first');
  process.exit(1);
}
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  console.error(`no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM)`);
  process.exit(1);
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml' };
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(dist, path === '/' ? 'index.html' : path);
  if (!file.startsWith(dist) || !existsSync(file)) return void res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/?fixture=vehicles20k&period=${period}`;

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(url);
  await page.fill('input[name=token]', 'viewer');
  await page.click('button[name=sign-in]');
  await page.waitForFunction(() => (window.__citybrain?.stats.vehicles ?? 0) >= 20000, null, { timeout: 60_000 });
  // the twin fills the city in its worker first (about two seconds of stepping): measure the page once it has settled
  await page.waitForTimeout(3000);
  const gl = await page.evaluate(() => {
    const c = document.querySelector('.map canvas');
    const ctx = c?.getContext('webgl2');
    const dbg = ctx?.getExtension('WEBGL_debug_renderer_info');
    return dbg ? ctx.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : ctx ? ctx.getParameter(ctx.RENDERER) : 'none';
  });
  // 1) the camera moves every frame (from inside the page), so deck.gl must
  //    redraw every frame: its redraws per second are the map's frame rate
  const orbit = await page.evaluate(async (ms) => {
    const d = window.__citybrain;
    return await new Promise((done) => {
      const gaps = [];
      const r0 = d.renders;
      const t0 = performance.now();
      let last = t0;
      const tick = (now) => {
        gaps.push(now - last);
        last = now;
        const a = (now - t0) / 2000;
        // circle 150 m around the city centre at the fitted zoom: all vehicles stay in view
        d.setView(1050 + 150 * Math.cos(a), 1050 + 150 * Math.sin(a), -1.6);
        if (now - t0 < ms) requestAnimationFrame(tick);
        else done({ seconds: (now - t0) / 1000, frames: gaps.length, renders: d.renders - r0, gaps, vehicles: d.stats.vehicles });
      };
      requestAnimationFrame(tick);
    });
  }, seconds * 1000);

  // 2) a user dragging the map with the mouse (input events drive the redraws)
  const box = await page.locator('.map').boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  const dragging = page.evaluate(async (ms) => {
    const d = window.__citybrain;
    const r0 = d.renders;
    const gaps = [];
    const t0 = performance.now();
    let last = t0;
    await new Promise((done) => {
      const tick = (now) => {
        gaps.push(now - last);
        last = now;
        if (now - t0 < ms) requestAnimationFrame(tick);
        else done();
      };
      requestAnimationFrame(tick);
    });
    return { seconds: (performance.now() - t0) / 1000, frames: gaps.length, renders: d.renders - r0, gaps, vehicles: d.stats.vehicles };
  }, seconds * 1000);
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const tEnd = Date.now() + seconds * 1000;
  for (let k = 0; Date.now() < tEnd; k++) await page.mouse.move(cx + 120 * Math.sin(k / 15), cy + 60 * Math.cos(k / 20));
  await page.mouse.up();
  const drag = await dragging;

  mkdirSync(join(web, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(web, 'test-artifacts', 'fps-20k.png') });
  if (errors.length) {
    // a broken shader draws nothing, and nothing is fast: such a figure is void
    console.error(`the page reported errors, so the figures below are void:\n${errors.join('\n').slice(0, 2000)}`);
    process.exitCode = 1;
  }
  console.log(`renderer: ${gl}`);
  const pct = (g, q) => g.slice().sort((a, b) => a - b)[Math.floor(g.length * q)].toFixed(1);
  console.log(`vehicles on screen: ${orbit.vehicles}; live frames every ${period} ms; ${seconds} s per measurement`);
  console.log(`FPS, camera moving every frame: ${(orbit.renders / orbit.seconds).toFixed(1)} (deck.gl redraws/s; requestAnimationFrame ${(orbit.frames / orbit.seconds).toFixed(1)}/s, frame time p50 ${pct(orbit.gaps, 0.5)} ms, p95 ${pct(orbit.gaps, 0.95)} ms)`);
  console.log(`FPS, mouse dragging the map: ${(drag.frames / drag.seconds).toFixed(1)} (requestAnimationFrame; deck.gl redraws ${(drag.renders / drag.seconds).toFixed(1)}/s, bounded by the input events; p95 frame time ${pct(drag.gaps, 0.95)} ms)`);
} finally {
  await browser.close();
  server.close();
}
