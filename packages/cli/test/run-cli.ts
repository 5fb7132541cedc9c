/** The compiled citybrain command run as a user runs it, for the CLI tests. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** `citybrain ARGS...` in a child process, stopped after `timeoutMs`: its exit code, stdout and stderr. */
export function cliRunner(timeoutMs: number): (...args: string[]) => { code: number | null; stdout: string; stderr: string } {
  return (...args) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}
