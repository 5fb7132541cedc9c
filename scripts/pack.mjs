// npm run pack [-- --out DIR] [--no-build]
//
// Builds and packs every public @citybrain package into DIR (default out/pack)
// as citybrain-<name>-<version>.tgz, installable where @citybrain/* is not on
// the registry (it is not published):
//
//   npm install -g ./citybrain-*.tgz      the citybrain command
//   npm install ./citybrain-*.tgz         the libraries, in a project
//
// One thing differs from a plain `npm pack -w`: the server's tarball carries the
// built dashboard in web/ (the web package is private and built by Vite; the
// server looks there first, see serve.ts).
//
// Install the tarballs together. Each pins its @citybrain dependencies to the
// exact workspace version (checked below), so npm satisfies them from the
// sibling tarballs and asks the registry only for third-party packages: in a
// project they sit side by side in node_modules/@citybrain, and under npm -g
// each is a global package that the others find as its neighbour. A tarball
// installed alone would look for its @citybrain dependencies on the registry,
// where they are not published.
//
// Why not a self-contained cli (bundleDependencies with node_modules/@citybrain/*
// inside its tarball)? Tried, with npm 11.19: npm -g nests every dependency
// under the cli, and then counts the bundled packages' own registry
// dependencies (fastify, better-sqlite3, ...) as part of the bundle too: it
// neither fetches nor extracts them, and better-sqlite3's install script fails
// on an empty folder ("binding.gyp not found"). Shipping them in the bundle
// would ship a native build for one platform.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-build': { type: 'boolean', default: false } } });
const OUT = resolve(values.out ?? join(ROOT, 'out', 'pack'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed with ${r.status ?? r.signal}${r.error ? `: ${r.error.message}` : ''}`);
  return r.stdout;
}
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

// the public workspaces, by package name
const pkgs = new Map();
for (const ws of readJson(join(ROOT, 'package.json')).workspaces) {
  const manifest = readJson(join(ROOT, ws, 'package.json'));
  if (!manifest.private) pkgs.set(manifest.name, { dir: join(ROOT, ws), manifest });
}
const ours = (deps = {}) => Object.keys(deps).filter((d) => d.startsWith('@citybrain/'));

// exact pins between our packages, so that the sibling tarballs satisfy them
for (const [name, { manifest }] of pkgs) {
  for (const dep of ours(manifest.dependencies)) {
    const want = manifest.dependencies[dep];
    if (!pkgs.has(dep)) throw new Error(`${name} depends on ${dep}, which is not a public workspace`);
    if (want !== pkgs.get(dep).manifest.version) throw new Error(`${name} wants ${dep}@${want}: pin it to the workspace's version, ${pkgs.get(dep).manifest.version}`);
  }
}

if (!values['no-build']) run(npm, ['run', 'build'], ROOT);
const webDist = join(ROOT, 'packages', 'web', 'dist');
if (!existsSync(join(webDist, 'index.html'))) throw new Error(`${webDist}/index.html is missing: build the dashboard first (npm run build)`);
for (const [name, { dir, manifest }] of pkgs) {
  for (const f of [manifest.main, ...Object.values(manifest.bin ?? {})].filter(Boolean)) {
    if (!existsSync(join(dir, f))) throw new Error(`${name}: ${f} is missing: build first (npm run build)`);
  }
}

// tsc -b never deletes: output whose source is gone would ship
for (const [name, { dir }] of pkgs) {
  const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  for (const js of walk(join(dir, 'dist')).filter((f) => f.endsWith('.js'))) {
    const src = js.slice(join(dir, 'dist').length).replace(/\.js$/, '');
    if (!['.ts', '.tsx', '.mts', '.js'].some((ext) => existsSync(join(dir, 'src', src + ext)))) {
      throw new Error(`${name}: ${js} has no source in src/ (left from an old build): npm run clean, then npm run pack`);
    }
  }
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'citybrain-pack-'));
try {
  // 1. plain tarballs of every public workspace (scripts ignored: built above)
  const packed = JSON.parse(run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work, ...[...pkgs.keys()].flatMap((n) => ['-w', n])], ROOT));
  const tarball = new Map(packed.map((p) => [p.name, join(work, p.filename)]));
  const unpack = (name, into) => {
    mkdirSync(into, { recursive: true });
    run('tar', ['-xzf', tarball.get(name), '-C', into, '--strip-components=1'], ROOT);
    return into;
  };
  const repack = (name, dir) => {
    const [{ filename }] = JSON.parse(run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], dir));
    tarball.set(name, join(work, filename));
  };

  // 2. the server, with the dashboard
  const server = unpack('@citybrain/server', join(work, 'stage', 'server'));
  cpSync(webDist, join(server, 'web'), { recursive: true });
  const serverJson = readJson(join(server, 'package.json'));
  serverJson.files = [...serverJson.files, 'web'];
  writeFileSync(join(server, 'package.json'), JSON.stringify(serverJson, null, 2) + '\n');
  repack('@citybrain/server', server);

  for (const [name, file] of tarball) {
    const to = join(OUT, file.slice(work.length + 1));
    copyFileSync(file, to);
    console.log(`${name.padEnd(20)} ${to}`);
  }
  const left = readdirSync(OUT).filter((f) => !f.startsWith('citybrain-') || !f.endsWith('.tgz'));
  if (left.length) throw new Error(`unexpected files in ${OUT}: ${left.join(', ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
