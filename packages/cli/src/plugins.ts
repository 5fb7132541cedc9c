import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { controllers, type Controller } from '@citybrain/control';
import { UsageError } from './usage.js';

/**
 * The controllers --controller chooses from: the built-in ones and those of
 * the --plugin modules at `paths` (`plugins`: those alone). `chosen` must name
 * one of them or of `also`, names the command itself understands (simulate's
 * plan); otherwise a usage error lists the choices.
 */
export async function chooseController(
  paths: string[], chosen: string, also: readonly string[] = [],
): Promise<{ plugins: Record<string, () => Controller>; available: Record<string, () => Controller> }> {
  const plugins = await loadControllerPlugins(paths);
  const available = { ...controllers, ...plugins };
  if (!also.includes(chosen) && !Object.hasOwn(available, chosen)) {
    throw new UsageError(`unknown controller "${chosen}"; choose one of: ${[...also, ...Object.keys(available)].join(', ')}`);
  }
  return { plugins, available };
}

/**
 * Loads third-party controllers: each module's default export is a factory
 * `() => Controller`; the controller's `name` is how it is chosen.
 */
export async function loadControllerPlugins(paths: string[]): Promise<Record<string, () => Controller>> {
  const out: Record<string, () => Controller> = {};
  const from = new Map<string, string>();
  for (const p of paths) {
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(resolve(p)).href)) as { default?: unknown };
    } catch (e) {
      throw new UsageError(`--plugin ${p}: cannot load it: ${(e as Error).message}`);
    }
    const factory = mod.default;
    if (typeof factory !== 'function') throw new UsageError(`--plugin ${p}: its default export must be a function returning a Controller`);
    let probe: Controller;
    try {
      probe = (factory as () => Controller)();
    } catch (e) {
      throw new UsageError(`--plugin ${p}: its factory failed: ${(e as Error)?.message ?? String(e)}`);
    }
    if (!probe || typeof probe.name !== 'string' || typeof probe.decide !== 'function') {
      throw new UsageError(`--plugin ${p}: the factory must return an object with a string "name" and a "decide" function`);
    }
    // a name is how the controller is chosen: one that is empty or already taken would silently hide a controller
    const name = probe.name;
    if (name === '') throw new UsageError(`--plugin ${p}: its controller's name is empty`);
    if (Object.hasOwn(controllers, name)) throw new UsageError(`--plugin ${p}: its controller is named "${name}", like a built-in controller; give it a name of its own`);
    if (name === 'plan') throw new UsageError(`--plugin ${p}: its controller is named "plan", which chooses the network's own signal programs; give it a name of its own`);
    if (from.has(name)) throw new UsageError(`--plugin ${p}: its controller is named "${name}", like the one of --plugin ${from.get(name)}`);
    from.set(name, p);
    out[name] = factory as () => Controller;
  }
  return out;
}
