import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

// Issue #12, item 4: at the heaviest setting SIGINT/SIGTERM did nothing for 18 s (the brain's loop held the event loop).
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`serve stops within 2 s of ${signal} with predictive-sequential on a busy city at 60x`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citybrain-stop-'));
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--db', `sqlite:${join(dir, 'c.db')}`, '--grid', '4x4', '--demand', '0.3', '--controller', 'predictive-sequential', '--speed', '60'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not running after 20 s: ${err}`)), 20_000);
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('CityBrain is running at')) {
            clearTimeout(t);
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${err}`)));
      });
      // let traffic build up and the controllers work hard
      await new Promise((r) => setTimeout(r, 6000));
      const t0 = performance.now();
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      const ms = performance.now() - t0;
      console.log(`# ${signal}: exited with ${code} after ${ms.toFixed(0)} ms`);
      assert.equal(code, 0);
      assert.ok(ms < 2000, `stopped ${ms.toFixed(0)} ms after ${signal}`);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
