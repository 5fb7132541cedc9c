import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

// ARCHITECTURE.md: these run in Node, a worker and the browser (the dashboard's sandbox runs the brain and the street in a Web Worker)
test('the pure packages import no Node module and touch no Node global', () => {
  const offences: string[] = [];
  for (const pkg of ['engine', 'control', 'brain', 'field']) {
    for (const file of sources(join(packages, pkg, 'src'))) {
      const text = readFileSync(file, 'utf8');
      text.split('\n').forEach((line, n) => {
        if (/from\s+'node:|require\(|\bprocess\.(env|argv|exit|on|cwd|platform|nextTick|stdout|stderr|hrtime|memoryUsage)\b|\bBuffer\b|from\s+'(fs|path|os|crypto|worker_threads)'/.test(line)) offences.push(`${file.slice(packages.length)}:${n + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(offences, []);
});
