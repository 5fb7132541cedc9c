/**
 * Issue #17, "Installable": the tarballs `npm run pack` writes install and run
 * outside the checkout, in an empty temporary folder, the way the README's
 * "Install outside the checkout" says:
 *
 * - `npm install -g --prefix <tmp>/g --allow-scripts=better-sqlite3 ./citybrain-*.tgz`: `citybrain --help`,
 *   `simulate` on a generated grid, `serve --port 0` serving the dashboard, its
 *   assets, /healthz and the API;
 * - `npm init -y`, allowScripts for better-sqlite3, `npm install ./citybrain-*.tgz`: `npx citybrain generate`,
 *   and every runnable TypeScript example of the READMEs (a ```ts block whose
 *   first line is `// NAME.mts`), type-checked with tsc and run with node, as
 *   written there.
 *
 * Slow (two npm installs from the registry, better-sqlite3 may compile): the
 * two installs run side by side. Skipped, saying so, when npm or the registry
 * cannot be reached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Ran { code: number | null; out: string; err: string }

/** runs a command to its end; rejects with its output when it fails */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve({ code, out, err });
      else reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${code}\n${out.slice(-2000)}\n${err.slice(-4000)}`));
    });
  });
}

/** why the test cannot run here, or undefined */
function unreachable(): string | undefined {
  const v = spawnSync(npm, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) return `npm is not runnable: ${v.error?.message ?? v.stderr}`;
  const registry = spawnSync(npm, ['config', 'get', 'registry'], { encoding: 'utf8' }).stdout.trim();
  const ping = spawnSync(npm, ['ping', '--fetch-retries=0', '--fetch-timeout=15000'], { encoding: 'utf8', timeout: 30_000 });
  if (ping.status !== 0) {
    const said = (ping.stderr ?? '').split('\n').filter((l) => /error/i.test(l)).slice(0, 2).join(' / ');
    return `the npm registry ${registry} is unreachable: npm ping ${ping.signal ? 'gave no answer in 30 s' : `failed: ${said || ping.error?.message}`}`;
  }
  return undefined;
}

/** the READMEs' runnable TypeScript examples: ```ts blocks whose first line is `// NAME.mts` */
function examples(): Map<string, { code: string; from: string }> {
  const found = new Map<string, { code: string; from: string }>();
  const readmes = ['README.md', ...readdirSync(join(ROOT, 'packages')).map((p) => join('packages', p, 'README.md'))];
  for (const readme of readmes) {
    if (!existsSync(join(ROOT, readme))) continue;
    for (const m of readFileSync(join(ROOT, readme), 'utf8').matchAll(/```ts\n(\/\/ ([\w-]+\.mts)\b[\s\S]*?)```/g)) {
      assert.ok(!found.has(m[2]), `${m[2]} is named by two examples (${found.get(m[2])?.from}, ${readme})`);
      found.set(m[2], { code: m[1], from: readme });
    }
  }
  return found;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  let err = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms: ${err}`)), ms);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = err.match(pattern);
      if (m) {
        clearTimeout(t);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited early with ${code}: ${err}`));
    });
  });
}

test('the packed packages install outside the checkout: the citybrain command (npm -g) and the libraries (a project)', { timeout: 20 * 60_000 }, async (t) => {
  const why = unreachable();
  if (why) return void t.skip(why);
  const docs = examples();
  assert.ok(docs.has('mine.mts') && docs.has('twin.mts'), `the READMEs' examples: ${[...docs.keys()].join(', ')}`);

  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'citybrain-pack-')));
  try {
    // the tarballs, from what `npm test` built (the pack script refuses, naming what is missing, if it is not built)
    await run(process.execPath, [join(ROOT, 'scripts', 'pack.mjs'), '--no-build', '--out', join(tmp, 'tgz')], ROOT);
    const tarballs = readdirSync(join(tmp, 'tgz')).sort();
    assert.deepEqual(tarballs.map((f) => f.replace(/-\d+\.\d+\.\d+\.tgz$/, '')),
      ['citybrain-brain', 'citybrain-cli', 'citybrain-control', 'citybrain-engine', 'citybrain-field', 'citybrain-server', 'citybrain-workers']);
    const emptyFolder = (name: string) => {
      const dir = join(tmp, name);
      mkdirSync(dir);
      for (const f of tarballs) copyFileSync(join(tmp, 'tgz', f), join(dir, f));
      return dir;
    };
    const globalDir = emptyFolder('global'), projectDir = emptyFolder('project');
    const prefix = join(tmp, 'g');
    const local = tarballs.map((f) => `./${f}`); // what the shell makes of ./citybrain-*.tgz

    // one install of each kind, side by side (each mostly waits on the registry or the compiler)
    const t0 = performance.now();
    // better-sqlite3's install script builds the store's native module: allowed as the README says (npm 11 runs
    // unreviewed install scripts with a warning, npm 12 will not run them); --allow-scripts is for global installs only
    await Promise.all([
      run(npm, ['install', '-g', '--prefix', prefix, '--allow-scripts=better-sqlite3', ...local], globalDir),
      run(npm, ['init', '-y'], projectDir)
        .then(() => run(npm, ['pkg', 'set', 'allowScripts.better-sqlite3=true', '--json'], projectDir))
        .then(() => run(npm, ['install', ...local], projectDir)),
    ]);
    console.log(`# both installs: ${((performance.now() - t0) / 1000).toFixed(0)} s (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${availableParallelism()} cores)`);
    for (const server of [join(prefix, 'lib', 'node_modules', '@citybrain', 'server'), join(projectDir, 'node_modules', '@citybrain', 'server')]) {
      const sqlite = dirname(createRequire(join(server, 'package.json')).resolve('better-sqlite3/package.json'));
      assert.ok(existsSync(join(sqlite, 'build', 'Release', 'better_sqlite3.node')), `better-sqlite3 was not built in ${sqlite}`);
    }

    // --- the command, installed globally
    const citybrain = join(prefix, 'bin', 'citybrain');
    const installedMain = realpathSync(citybrain);
    assert.ok(!installedMain.startsWith(ROOT), `the installed command is ${installedMain}, inside the checkout`);
    const help = await run(citybrain, ['--help'], globalDir);
    assert.match(help.out, /^citybrain <command>/);
    assert.match(help.out, /serve/);

    await run(citybrain, ['generate', 'grid', '--rows', '2', '--cols', '2', '--out', 'grid', '--demand', '0.05'], globalDir);
    const sim = JSON.parse((await run(citybrain, ['simulate', '--roadnet', 'grid/roadnet.json', '--flow', 'grid/flow.json', '--steps', '600', '--controller', 'max-pressure', '--json'], globalDir)).out) as
      { signalised: number; enteredVehicles: number; finishedVehicles: number; averageTravelTime: number; faults: unknown[] };
    assert.equal(sim.signalised, 4);
    assert.ok(sim.finishedVehicles > 0 && sim.finishedVehicles <= sim.enteredVehicles, JSON.stringify(sim));
    assert.ok(Number.isFinite(sim.averageTravelTime) && sim.averageTravelTime > 0, JSON.stringify(sim));
    assert.deepEqual(sim.faults, []);

    const server = spawn(citybrain, ['serve', '--port', '0', '--db', `sqlite:${join(tmp, 'serve.db')}`], { cwd: globalDir, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const stderr: string[] = [];
      server.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
      const [, url] = await waitForLine(server, /CityBrain is running at (http:\/\/\S+)/, 60_000);
      const token = stderr.join('').match(/\bcbt_[\w-]+/)?.[0];
      assert.ok(token, `no operator token printed: ${stderr.join('')}`);

      // the dashboard, from the server package's own copy (nothing of the checkout is reachable from the install)
      const index = await fetch(`${url}/`);
      assert.equal(index.status, 200);
      const html = await index.text();
      assert.match(html, /<title>CityBrain<\/title>/);
      const script = html.match(/<script type="module"[^>]*src="\.?\/?(assets\/[^"]+\.js)"/)?.[1];
      assert.ok(script, `no script in the dashboard's index.html: ${html.slice(0, 500)}`);
      const asset = await fetch(`${url}/${script}`);
      assert.equal(asset.status, 200, script);
      assert.match(asset.headers.get('content-type') ?? '', /javascript/);
      assert.ok((await asset.arrayBuffer()).byteLength > 10_000, `${script} is too small to be the dashboard`);

      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'ok');
      assert.equal((await fetch(`${url}/api/v1/controllers`)).status, 401);
      const ctl = await fetch(`${url}/api/v1/controllers`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ctl.status, 200);
      assert.ok(((await ctl.json()) as string[]).includes('max-pressure'));
    } finally {
      server.kill('SIGTERM');
      if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
    }

    // --- the libraries, in a project, with the READMEs' examples as written
    const pkg = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['@citybrain/brain', '@citybrain/cli', '@citybrain/control', '@citybrain/engine', '@citybrain/field', '@citybrain/server', '@citybrain/workers']);
    await run(npm, ['exec', '--no', '--', 'citybrain', 'generate', 'grid', '--rows', '2', '--cols', '2', '--out', 'grid'], projectDir);
    for (const [name, { code }] of docs) writeFileSync(join(projectDir, name), code);
    // the README's tsc command; typescript and @types/node from the checkout rather than a third install
    await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['--module', 'nodenext', '--target', 'es2022', '--strict',
      '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node', ...docs.keys()], projectDir);
    const printed = new Map<string, string>();
    for (const [name, { from }] of docs) {
      const { out } = await run(process.execPath, [name.replace(/\.mts$/, '.mjs')], projectDir);
      assert.ok(out.trim().length > 0, `${name} (${from}) printed nothing`);
      printed.set(name, out.trim());
      console.log(`# ${name} (${from}): ${out.trim().replace(/\s+/g, ' ').slice(0, 160)}`);
    }
    // control's example prints its average travel time and the supervisor's faults: none
    const [att, ...faults] = printed.get('mine.mts')!.split(/\s+/);
    assert.ok(Number.isFinite(Number(att)) && Number(att) > 0, printed.get('mine.mts'));
    assert.equal(faults.join(' '), '[]');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
