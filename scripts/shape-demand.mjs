// Reshapes a generated grid's flow.json (citybrain generate grid) into unbalanced or time-varying demand,
// for checking controllers on cities they were not tuned on (issue #16):
//   node scripts/shape-demand.mjs IN.json OUT.json [--heading H=F]... [--pulses A-B:F,C-D:G,...]
// --heading 0=3   flows whose first road heads east (0; 1 north, 2 west, 3 south) get 3x the vehicles
// --pulses 0-900:2,900-1800:0.5   each flow runs only in these windows (s), at F x its demand in each
import { readFileSync, writeFileSync } from 'node:fs';

const [inPath, outPath, ...rest] = process.argv.slice(2);
if (!inPath || !outPath) {
  console.error('usage: node scripts/shape-demand.mjs IN.json OUT.json [--heading H=F]... [--pulses A-B:F,...]');
  process.exit(2);
}
const factor = [1, 1, 1, 1];
let pulses = null;
for (let i = 0; i < rest.length; i += 2) {
  const [flag, v] = [rest[i], rest[i + 1]];
  if (flag === '--heading' && /^[0-3]=\d+(\.\d+)?$/.test(v ?? '')) {
    const [h, f] = v.split('=');
    factor[Number(h)] = Number(f);
  } else if (flag === '--pulses' && /^(\d+-\d+:\d+(\.\d+)?,?)+$/.test(v ?? '')) {
    pulses = v.split(',').filter(Boolean).map((w) => {
      const [span, f] = w.split(':');
      const [a, b] = span.split('-').map(Number);
      if (!(b > a)) throw new Error(`--pulses: window ${span} must end after it starts`);
      return { a, b, f: Number(f) };
    });
  } else {
    console.error(`shape-demand: bad option ${flag} ${v ?? ''} (--heading H=F with H in 0..3, --pulses A-B:F,...)`);
    process.exit(2);
  }
}
const flows = JSON.parse(readFileSync(inPath, 'utf8'));
const heading = (f) => Number(f.route[0].split('_')[3]);
const out = flows.flatMap((f) => {
  const k = factor[heading(f)];
  if (!(k > 0)) return [];
  if (!pulses) return [{ ...f, interval: f.interval / k }];
  return pulses.filter((p) => p.f > 0).map((p) => ({ ...f, interval: f.interval / k / p.f, startTime: p.a, endTime: p.b }));
});
writeFileSync(outPath, JSON.stringify(out));
console.log(`${out.length} flows written to ${outPath}`);
