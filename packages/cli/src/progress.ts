import { createRequire } from 'node:module';

// loaded only when a bar is drawn: --json runs and pipes (the benchmarks) do without it
const require = createRequire(import.meta.url);

/** A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, --json). */
export function progress(total: number, label: string, enabled = true): { update(n: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const cliProgress = require('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} s | eta {eta}s`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let last = 0;
  return {
    update(n) {
      // redraw at most every 1% to keep the bar off the hot path
      if (n - last >= total / 100 || n === total) {
        bar.update(n);
        last = n;
      }
    },
    stop() {
      bar.stop();
    },
  };
}
