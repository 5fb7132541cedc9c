import { constants } from 'node:buffer';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { generateGrid, loadCityflowScenario, type Scenario } from '@citybrain/engine/core';
import { gridOption, numOption, UsageError } from './usage.js';

/** Where a command puts the loader's warnings (flows CityFlow drops): by default, stderr. */
export type Warn = (warning: string) => void;
const warnOnStderr: Warn = (w) => console.error(`citybrain: warning: ${w}`);

const isXml = (p: string) => p.toLowerCase().endsWith('.xml');

/**
 * Reads a scenario from disk: CityFlow JSON (roadnet + flow) or SUMO
 * (.net.xml + .rou.xml), chosen by the files' extensions. CityFlow files run as
 * CityFlow runs them: the flows it drops are dropped, each with a warning to
 * `warn`; SUMO files warn of what they say that the model does not take.
 * The SUMO loader (and its XML parser) is loaded only for SUMO files.
 */
export async function readScenario(roadnetPath: string, flowPath: string, warn: Warn = warnOnStderr): Promise<Scenario> {
  if (isXml(roadnetPath) !== isXml(flowPath)) {
    throw new UsageError(`--roadnet and --flow must both be CityFlow JSON or both SUMO XML (got ${basename(roadnetPath)} and ${basename(flowPath)})`);
  }
  if (!isXml(roadnetPath)) return readCityflowScenario(roadnetPath, flowPath, warn);
  const roadnetText = readText(roadnetPath, '--roadnet');
  const flowText = readText(flowPath, '--flow');
  const { loadSumoScenario } = await import('@citybrain/engine');
  const { scenario, warnings } = loadSumoScenario({
    net: roadnetText, routes: flowText, netSource: basename(roadnetPath), routesSource: basename(flowPath),
  });
  warnings.forEach(warn);
  return scenario;
}

/** readScenario for CityFlow JSON alone (the reference scenarios): at once. */
export function readCityflowScenario(roadnetPath: string, flowPath: string, warn: Warn = warnOnStderr): Scenario {
  const roadnetText = readText(roadnetPath, '--roadnet');
  const flowText = readText(flowPath, '--flow');
  const { scenario, warnings } = loadCityflowScenario({
    roadnet: roadnetText, flow: flowText, roadnetSource: basename(roadnetPath), flowSource: basename(flowPath),
  });
  for (const w of warnings) warn(w);
  return scenario;
}

/**
 * The city a command runs, as serve, field and token field choose it: --roadnet and --flow
 * (together), else the generated --grid (default 4x4) with --demand vehicles per second per route
 * (default 0.05). The brain and its field process must be given the same.
 */
export async function chooseScenario(v: { grid?: string; demand?: string; roadnet?: string; flow?: string }, warn?: Warn): Promise<Scenario> {
  if (v.roadnet || v.flow) {
    if (!v.roadnet || !v.flow) throw new UsageError('--roadnet and --flow go together');
    return readScenario(v.roadnet, v.flow, warn);
  }
  return generateGrid({ ...gridOption(v.grid, '4x4'), demand: numOption(v.demand, 'demand', 0.05, 0.001, 5) });
}

/**
 * The largest scenario file the loaders read, in bytes: the loaders take text, and a JavaScript string holds at
 * most this many characters (512 MB on 64-bit Node); a UTF-8 file has at least as many bytes as characters.
 */
export const MAX_SCENARIO_FILE_BYTES = constants.MAX_STRING_LENGTH;

/** "537 MB" */
export function megabytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MB`;
}

/** A file given with `option`, as text; a one-line usage error when it cannot be read or is too large. */
export function readText(path: string, option: string): string {
  let bytes: Buffer;
  try {
    // checked before reading: reading would take the whole file into memory only to fail
    const size = statSync(path).size;
    if (size > MAX_SCENARIO_FILE_BYTES) {
      throw new UsageError(`${option} ${path}: the file is too large (${megabytes(size)}); the loaders read files of at most ${megabytes(MAX_SCENARIO_FILE_BYTES)}`);
    }
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${option} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  // gzip's magic number: SUMO tools write .net.xml.gz, which would otherwise read as garbage JSON
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new UsageError(`${option} ${path}: the file is gzip-compressed; decompress it first (gunzip -k ${path})`);
  }
  return bytes.toString('utf8');
}

/** Creates an output folder (and its parents) named by `option`; failing that, a one-line usage error. */
export function makeOutputDir(dir: string, option: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`${option} ${dir}: cannot create the folder: ${ioProblem(e)}`);
  }
}

/** Writes an output file of `option`'s folder; failing that, a one-line usage error. */
export function writeOutput(path: string, text: string, option: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new UsageError(`${option}: cannot write ${path}: ${ioProblem(e)}`);
  }
}

/** One file of writeOutputFiles: its name and its text, in pieces. */
export interface OutputFile {
  name: string;
  chunks: Iterable<string>;
}

/** Text gathered before each write: big enough for few system calls, far below the longest string. */
const WRITE_CHUNK = 1 << 20;

/**
 * Writes files into the folder `dir` of `option` all or nothing, streaming each
 * (so no file's text must fit in one string): each goes to a temporary name and
 * all are renamed into place once every one is written. On a failure, or a
 * SIGINT or SIGTERM while writing, the temporaries are removed, and the folder
 * too if this call created it, so no half-written output is left; an I/O
 * failure is then a one-line usage error, and a signal ends the process as it
 * would have. Resolves to each file's size in bytes.
 */
export async function writeOutputFiles(dir: string, option: string, files: OutputFile[]): Promise<number[]> {
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`${option} ${dir}: cannot create the folder: ${ioProblem(e)}`);
  }
  // the writes yield to the event loop after each chunk, so that a signal is seen (and the output removed) mid-way
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => void (signal = s);
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const temporaries: string[] = [];
  let current = '';
  try {
    for (const f of files) {
      current = join(dir, f.name);
      // a folder in the way would fail the rename after other files had been replaced
      if (statSync(current, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    }
    const sizes: number[] = [];
    for (const f of files) {
      current = join(dir, f.name);
      const temp = join(dir, `.${f.name}.${process.pid}.partial`);
      temporaries.push(temp);
      const fd = openSync(temp, 'w');
      let size = 0;
      try {
        let pending: string[] = [];
        let pendingLength = 0;
        const flush = async () => {
          const buf = Buffer.from(pending.join(''));
          for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
          size += buf.length;
          pending = [];
          pendingLength = 0;
          await new Promise(setImmediate);
          if (signal) throw new Interrupted();
        };
        for (const text of f.chunks) {
          pending.push(text);
          pendingLength += text.length;
          if (pendingLength >= WRITE_CHUNK) await flush();
        }
        await flush();
      } finally {
        closeSync(fd);
      }
      sizes.push(size);
    }
    files.forEach((f, i) => renameSync(temporaries[i], join(dir, f.name)));
    return sizes;
  } catch (e) {
    for (const t of temporaries) {
      try {
        unlinkSync(t);
      } catch {
        // already renamed or never created
      }
    }
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
    if (e instanceof Interrupted) {
      // the default action, now that nothing is left behind: exit as killed by the signal
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      process.kill(process.pid, signal);
      await new Promise(() => {}); // the signal ends the process
    }
    if (typeof (e as NodeJS.ErrnoException).code === 'string') throw new UsageError(`${option}: cannot write ${current}: ${ioProblem(e)}`);
    throw e;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

class Interrupted extends Error {}

/** Opens an output file for a stream, so that failing to open it is a usage error now rather than a crash later. */
export function openOutput(path: string, option: string): number {
  try {
    return openSync(path, 'w');
  } catch (e) {
    throw new UsageError(`${option}: cannot write ${path}: ${ioProblem(e)}`);
  }
}

function ioProblem(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'EEXIST': return 'a file of that name is in the way';
    case 'ENOTDIR': return 'part of the path is a file, not a folder';
    case 'EISDIR': return 'it is a folder';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on the device';
    case 'EFBIG': return 'the file is larger than the system allows';
    default: return (e as Error).message;
  }
}
