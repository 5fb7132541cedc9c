/**
 * Third-party controllers that misbehave in ways the supervisor must survive:
 * whatever they do, the run goes on, the signals stay safe, and the fault is
 * reported for the intersections concerned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { controllers, DEFAULT_CONTROLLER, SignalSupervisor, type ControlEnv, type Controller, type ControllerFault, type SignalStatus } from '@citybrain/control';

/** Runs `fn` and returns the promise rejections nobody handled meanwhile (each would end the process). */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (e: unknown) => void seen.push(e);
  process.on('unhandledRejection', listener);
  try {
    await fn();
    for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

test('an async decide is a fault with a clear message, and its rejection does not end the process', async () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const c = { name: 'async-decide', decide: async () => { throw new Error('model not loaded'); } } as unknown as Controller;
  let sup: SignalSupervisor | undefined;
  const unhandled = await unhandledDuring(async () => {
    sup = new SignalSupervisor(sim, c);
    for (let k = 0; k < 10; k++) {
      sup.tick();
      sim.step();
    }
  });
  assert.deepEqual(unhandled, []);
  assert.equal(sup!.fallen.size, 2);
  assert.match(sup!.faults[0].error, /decide returned a Promise/);
});

test('an async init that rejects hands every intersection to the fallback, and does not end the process', async () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const c = { name: 'async-init', init: async () => { throw new Error('licence server unreachable'); }, decide: (_ix: unknown, s: { green: number }) => s.green } as unknown as Controller;
  let sup: SignalSupervisor | undefined;
  const unhandled = await unhandledDuring(async () => {
    sup = new SignalSupervisor(sim, c);
  });
  assert.deepEqual(unhandled, []);
  assert.equal(sup!.fallen.size, 2);
  assert.deepEqual(sup!.faults.map((f) => f.error), ['licence server unreachable', 'licence server unreachable']);
});

/**
 * Runs `c` for `steps` steps on a 2x2 grid and returns the safety violations
 * seen on the street: a green giving way to anything but the yellow, a green
 * shorter than minGreen, a yellow not lasting yellowTime, a phase that is
 * neither yellow nor green.
 */
async function violations(c: Controller, steps = 120, yellowTime = 5, minGreen = 5) {
  const sim = new Simulation(generateGrid({ rows: 2, cols: 2, demand: 0.2 }));
  const sup = new SignalSupervisor(sim, c, { yellowTime, minGreen, budgetMs: 100 });
  const ixs = sup.env.intersections.map((ix) => ({ i: ix.intersection, yellow: ix.yellow, greens: [...ix.greens] }));
  const shown = ixs.map((ix) => sim.phase(ix.i));
  const since = ixs.map(() => 0);
  const out: string[] = [];
  for (let k = 0; k < steps; k++) {
    const p = sup.tick();
    if (p) await p;
    ixs.forEach((ix, x) => {
      const now = sim.phase(ix.i);
      if (now !== ix.yellow && !ix.greens.includes(now)) out.push(`${ix.i}@${sim.time}: phase ${now}`);
      if (now === shown[x]) return;
      const lasted = sim.time - since[x];
      if (shown[x] === ix.yellow) {
        if (lasted !== yellowTime) out.push(`${ix.i}@${sim.time}: yellow lasted ${lasted} s`);
      } else {
        if (now !== ix.yellow) out.push(`${ix.i}@${sim.time}: green ${shown[x]} -> ${now} without yellow`);
        if (lasted < minGreen) out.push(`${ix.i}@${sim.time}: green lasted ${lasted} s`);
      }
      shown[x] = now;
      since[x] = sim.time;
    });
    sim.step();
  }
  return { out, sup };
}

const nextGreen = (ix: { greens: readonly number[] }, s: { green: number }) => ix.greens[(ix.greens.indexOf(s.green) + 1) % ix.greens.length];

test('a controller cannot loosen the rules by writing to env or to the intersections it is shown', async () => {
  const rules: Controller = {
    name: 'rules',
    init(env) {
      (env as { yellowTime: number; minGreen: number }).yellowTime = 0;
      (env as { yellowTime: number; minGreen: number }).minGreen = 0;
    },
    decide: nextGreen,
  };
  const yellowAsGreen: Controller = {
    name: 'yellow-as-green',
    decide(ix, s) {
      if (!ix.greens.includes(ix.yellow)) (ix.greens as number[]).push(ix.yellow);
      return s.green === ix.yellow ? ix.greens[0] : ix.yellow;
    },
  };
  const swapYellow: Controller = {
    name: 'swap-yellow',
    decide(ix, s) {
      (ix as { yellow: number }).yellow = nextGreen(ix, s);
      return nextGreen(ix, s);
    },
  };
  for (const c of [rules, yellowAsGreen, swapYellow]) {
    const { out, sup } = await violations(c);
    assert.deepEqual(out.slice(0, 3), [], c.name);
    assert.equal(sup.fallen.size, 4, `${c.name}: the writes are faults`);
  }
  // a phase the roadnet does not have, smuggled into greens, does not crash the run
  const phantom: Controller = {
    name: 'phantom',
    decide(ix) {
      if (!ix.greens.includes(99)) (ix.greens as number[]).push(99);
      return 99;
    },
  };
  const { out, sup } = await violations(phantom);
  assert.deepEqual(out, []);
  assert.equal(sup.fallen.size, 4);
});

test('a controller cannot shorten a yellow or a minimum green by writing to the signal status it is shown', async () => {
  const kept: SignalStatus[] = [];
  const c: Controller = {
    name: 'status-writer',
    beginStep() {
      for (const s of kept) {
        if (s.yellowLeft > 1) s.yellowLeft = 1;
        s.greenSince = -1e9;
      }
    },
    decide(ix, s) {
      kept.push(s);
      return nextGreen(ix, s);
    },
  };
  const { out } = await violations(c);
  assert.deepEqual(out.slice(0, 3), []);
});

test('a controller cannot set phases or step its twin (a type error, and no such method at run time): trying is a fault, and nothing reaches the street', async () => {
  // what a plug-in written in JavaScript, or one that casts, would try
  const writable = (env: ControlEnv) => env.twin as unknown as { setPhase(i: number, p: number): void; step(): void };
  // @ts-expect-error the twin a controller sees has no setPhase: the compiler refuses it
  void ((e: ControlEnv) => e.twin.setPhase);
  const inDecide: Controller = {
    name: 'sets-phases',
    decide(ix, s, env) {
      assert.equal(typeof writable(env).setPhase, 'undefined');
      assert.equal(typeof writable(env).step, 'undefined');
      writable(env).setPhase(ix.intersection, nextGreen(ix, s));
      return s.green;
    },
  };
  const inBeginStep: Controller = {
    name: 'sets-phases-early',
    beginStep(env) {
      for (const ix of env.intersections) writable(env).setPhase(ix.intersection, ix.greens[env.twin.stepCount % ix.greens.length]);
    },
    decide: (_ix, s) => s.green,
  };
  for (const c of [inDecide, inBeginStep]) {
    const { out, sup } = await violations(c);
    assert.deepEqual(out.slice(0, 3), [], c.name);
    assert.equal(sup.fallen.size, 4, c.name);
    assert.match(sup.faults[0].error, /setPhase is not a function/, c.name);
  }
});

test('a beginStep that never settles costs one time budget, not one per step for the rest of the run', async () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const c: Controller = { name: 'stuck', beginStep: () => new Promise<void>(() => {}), decide: (_ix, s) => s.green };
  const sup = new SignalSupervisor(sim, c, { budgetMs: 100 });
  const t0 = performance.now();
  for (let k = 0; k < 30; k++) {
    const p = sup.tick();
    if (p) await p;
    sim.step();
  }
  const ms = performance.now() - t0;
  assert.equal(sup.fallen.size, 2);
  assert.match(sup.faults[0].error, /no decision within 100 ms/);
  assert.ok(ms < 1000, `30 steps took ${Math.round(ms)} ms`);
});

test('a beginStep that answers a thenable is held to the same budget as a promise, and a throwing then is a fault', async () => {
  const never: Controller = { name: 'never', beginStep: () => ({ then() {} }) as unknown as Promise<void>, decide: (_ix, s) => s.green };
  const throwing: Controller = {
    name: 'throwing-then',
    beginStep: () => ({ then() { throw new Error('then failed'); } }) as unknown as Promise<void>,
    decide: (_ix, s) => s.green,
  };
  for (const [c, error] of [[never, /no decision within 50 ms/], [throwing, /then failed/]] as const) {
    const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
    const sup = new SignalSupervisor(sim, c, { budgetMs: 50 });
    for (let k = 0; k < 3; k++) {
      const p = sup.tick();
      if (p) await p;
      sim.step();
    }
    assert.equal(sup.fallen.size, 2, c.name);
    assert.match(sup.faults[0].error, error, c.name);
  }
});

test('a controller that throws or answers something that cannot be printed is still a fault, not an exception out of tick()', () => {
  const unprintable = Object.create(null) as object;
  const badMessage = new Error('hidden');
  Object.defineProperty(badMessage, 'message', { get() { throw new Error('no message'); } });
  const cases: Controller[] = [
    { name: 'throws-bare-object', decide() { throw unprintable; } },
    { name: 'throws-bad-message', decide() { throw badMessage; } },
    { name: 'answers-bare-object', decide: () => unprintable as unknown as number },
  ];
  for (const c of cases) {
    const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
    const sup = new SignalSupervisor(sim, c);
    for (let k = 0; k < 10; k++) {
      assert.doesNotThrow(() => sup.tick(), c.name);
      sim.step();
    }
    assert.equal(sup.fallen.size, 2, c.name);
    assert.equal(typeof sup.faults[0].error, 'string', c.name);
  }
});

/**
 * The fallback fixed plan runs on the common clock: intersections that fell back at different moments still show
 * the same slot's green (offsets 0). Out of step (each green timed from when it began), the plan taken over from
 * 100 s on gridlocked a 4 x 4 grid at 0.12 veh/s a route at 1,975 s; in step it carries the hour (ATT 574.3 s).
 */
test('a controller failing everywhere leaves the grid to a fixed plan in step, which does not gridlock an overloaded 4 x 4 grid', async () => {
  const sim = new Simulation(generateGrid({ rows: 4, cols: 4, demand: 0.12 }), { seed: 0 });
  const inner = controllers[DEFAULT_CONTROLLER]();
  // fails one intersection after another, from 100 s on: the fallback takes each over where it stands
  const failing: Controller = {
    name: 'failing',
    init: (env) => inner.init?.(env),
    beginStep: (env) => inner.beginStep?.(env),
    decide(ix, s, env) {
      if (env.twin.time >= 100 + 7 * ix.intersection) throw new Error('model crashed');
      return inner.decide(ix, s, env);
    },
  };
  const faults: ControllerFault[] = [];
  const sup = new SignalSupervisor(sim, failing, { onFault: (f) => faults.push(f) });
  const ixs = sup.env.intersections;
  const outOfStep: string[] = [];
  for (let k = 0; k < 3600; k++) {
    sup.tick();
    sim.step();
    // in step: every intersection showing a green shows the same slot's (slot = index in its greens; -1 in yellow)
    if (k >= 600 && k % 60 === 30) {
      const slots = ixs.map((ix) => ix.greens.indexOf(sim.phase(ix.intersection)));
      if (new Set(slots.filter((g) => g >= 0)).size > 1) outOfStep.push(`${sim.time} s: ${slots.join(',')}`);
    }
  }
  assert.equal(sup.fallen.size, ixs.length, 'every intersection fell back');
  assert.deepEqual(outOfStep, [], 'greens in step');
  assert.deepEqual(faults.filter((f) => f.kind === 'gridlock' || f.kind === 'deadlock').map((f) => `${f.intersection} at ${f.time} s: ${f.error}`), [], 'no gridlock');
});
