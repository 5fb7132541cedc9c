/**
 * Regression (issue #16): an overloaded 4 x 4 grid (CityFlow's generator,
 * its 8 turning routes, 0.1 vehicles per second per route) whose left-turn
 * lanes round the centre block are fed by right turns, green always. A
 * controller that serves those one-lane movements last (schedule's
 * least-wait order put them behind the busier straight phases) lets them fill;
 * the right turns bound for them then stop inside the junctions upstream,
 * the straights merging with them stop behind, and by 1,330 s the centre is
 * a deadlocked ring (road_2_3_3_0 -> road_2_2_0_0 -> road_3_2_1_0 ->
 * road_3_3_2_0). Queue-spillback protection (measures/spill-back.ts,
 * SpillBack.spilling) serves a lane about to spill back first.
 * Fixed time, actuated and SOTL (cyclic) carried it already.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { controllers, DEFAULT_CONTROLLER, isAdvisory, runControlled, type ControllerFault, type GreenWaveController } from '@citybrain/control';

/** the hour: past the deadlock at 1,330 s and the locks that came later (pressure-plus's at 2,810 s, webster's at 3,285 s before the gap-out) */
const SECONDS = 3600;

/**
 * Controllers that still lock this grid within the hour, run as todo so that
 * a fix shows. Max-pressure, advanced-mp and efficient-mp (the benchmark's
 * reference definitions, kept as published) locked it at 1,290-1,685 s: their
 * ring lanes stood loaded from about 500 s on and never drained. The
 * supervisor's ring guard (core/ring.ts) hands the network to the plan in step
 * once a ring of lanes has stood past 40% for 180 s (at 775-850 s): ATT
 * 1,067.5 / 1,079.1 / 949.4 s with 16 locked intersections each before, 456.0 /
 * 450.9 / 457.5 s with none after. Green-wave has the protection
 * (measures/spill-guard.ts) and locked later (2,280 s; 2,880 s with the
 * perimeter gate, ATT 594.2 s): its lanes fill with
 * room beyond in another exit lane than the one the head vehicle is bound
 * for, and the junctions upstream stop with them ("held at the junction
 * itself"). Taken apart (measured): green-wave run as a plan in step (cycle 140 s,
 * equal splits, offsets 0, phases never started before their window, no spill
 * guard) carries it (ATT 359.9 s); put back, the spill guard's out-of-turn
 * calls (lock at 2,420 s), the re-planned Webster splits (1,825 s; one split
 * common to all intersections as well) or phases starting early when the one
 * before has no call (1,685 s) each bring the lock back, as they take the
 * intersections out of step (see the 0.12 tests below). It carries the grid since its
 * congestion plan (controllers/green-wave.ts: once the internal lanes hold 10% of their
 * capacity, every intersection on the plan in step, here from 510 s): ATT 442.4 s, no lock.
 * Pressure-plus and sotl-fading locked so too (3,130 s, 2,440 s)
 * until their guards called a phase at half a lane's capacity
 * (PRESSURE_PLUS_SPILL_WARN, fadingSotl's spillWarn).
 */
const KNOWN = new Set<string>([]);

/**
 * 'predictive' runs on a worker pool in production (stress.test.ts); its
 * sequential search takes about 90 s here: both are left to the benchmarks
 */
const SKIP = new Set(['predictive', 'predictive-sequential']);

/** Fixed time is not adaptive: it carries this demand with a longer tail, held to no gridlock only. */
const NOT_ADAPTIVE = new Set(['fixed']);

const scenario = generateGrid({ rows: 4, cols: 4, demand: 0.1 });

for (const name of [DEFAULT_CONTROLLER, ...Object.keys(controllers).filter((n) => n !== DEFAULT_CONTROLLER && !SKIP.has(n))]) {
  const todo = KNOWN.has(name) ? 'locks this grid still (issue #16)' : undefined;
  test(`4 x 4 grid at 0.1 veh/s a route: ${name} does not gridlock`, { todo }, async () => {
    const sim = new Simulation(scenario, { seed: 0 });
    const faults: ControllerFault[] = [];
    const { metrics } = await runControlled(sim, controllers[name](), SECONDS, { onFault: (f) => faults.push(f) });
    assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s: ${f.error}`), [], 'no error, no gridlock');
    if (NOT_ADAPTIVE.has(name)) return;
    // the network still flows: under a deadlock about a quarter to half the vehicles that entered are still in it at the end
    assert.ok(metrics.vehiclesInNetwork < 0.2 * metrics.enteredVehicles, `${metrics.vehiclesInNetwork} of ${metrics.enteredVehicles} vehicles still in the network`);
  });
}

/**
 * A spill-back's held green is bounded (SPILL_MAX): on a 3 x 16 grid at 0.1 green-wave's busy through phase,
 * held while it kept trickling, stood a full left-turn lane for 85 s until the junction upstream locked (3,425 s).
 */
const long = generateGrid({ rows: 3, cols: 16, demand: 0.1 });
for (const name of ['green-wave', 'pressure-plus', 'sotl', 'sotl-fading', 'schedule', 'webster']) {
  test(`3 x 16 grid at 0.1 veh/s a route: ${name} does not gridlock`, async () => {
    const faults: ControllerFault[] = [];
    await runControlled(new Simulation(long, { seed: 0 }), controllers[name](), SECONDS, { onFault: (f) => faults.push(f) });
    assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s: ${f.error}`), []);
  });
}

/**
 * The reference max-pressures on a 6 x 6 grid at 0.1 veh/s a route: without the ring guard (core/ring.ts) 34-36 of its
 * 36 intersections locked from 1,580-1,845 s (ATT 796.8-917.3 s); with it, taken over at 890-1,145 s, none (ATT
 * 505.3-522.2 s). Within two hours on 4 x 4 at 0.08 they locked as well (from 3,425-4,265 s), and with it do not.
 * Since a filling region puts the whole network on the plan (core/gate.ts) the gate takes them first, at 820-1,030 s
 * (max-pressure 547.6 s, advanced-mp 572.4, efficient-mp 548.7).
 */
const six = generateGrid({ rows: 6, cols: 6, demand: 0.1 });
for (const name of ['max-pressure', 'advanced-mp', 'efficient-mp']) {
  test(`6 x 6 grid at 0.1 veh/s a route: ${name} does not gridlock`, async () => {
    const faults: ControllerFault[] = [];
    const { supervisor } = await runControlled(new Simulation(six, { seed: 0 }), controllers[name](), SECONDS, { onFault: (f) => faults.push(f) });
    assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s: ${f.error}`), []);
    assert.ok(supervisor!.ring!.handOvers.length + supervisor!.gate!.handOvers.length > 0, 'carried by the ring guard or the gate');
  });
}

/**
 * Issue #16 at 0.12 veh/s a route on the same 4 x 4 grid: the fixed plan carries the hour (ATT 584.1 s, a long tail
 * on the entry roads but no lock), every adaptive controller gridlocks (schedule at 1,290 s: 1,655 before its strict
 * exits and weighed spill calls, ATT 905.0 -> 997.1 s, max-pressure 1,233.0; sotl 1,685, sotl-fading 1,765,
 * pressure-plus 1,585, webster 1,420, actuated 1,295, green-wave 1,340; the reference max-pressures about 1,150). What carries it is the plan being in step, not being fixed: the same plan with each intersection's cycle
 * shifted by whole greens locks too (ATT 722-762 s, locked at 1,890-1,925 s), and in step from as late as 900 s it
 * still carries schedule's state (ATT 576.5 s; from 1,200 s it locks). In step, each staircase route's left turns
 * (fed by right turns, green always) get the same green at every intersection, so the first one meters what reaches
 * the centre; the adaptive controllers serve the busy entries more, and the centre's left-turn lanes, though given
 * more green than in step (30-45 s of every 100 against 22%), fill until the right turns into them stop in the
 * junctions. The plan's green matters too: in step with 35 s greens it gridlocks (4 intersections), with 10 to 30 s
 * it does not. Not yet fixed: handing the network to the plan in step when a ring of lanes past half their capacity
 * formed saved schedule, sotl and pressure-plus here but fired on 4 x 4 at 0.1 too (schedule 288.5 -> 383.3 s), and
 * later (at 60%) it came too late there and locked sotl, webster and actuated at 0.1; schedule switched to a
 * common-cycle plan once lanes stand past the spill-back warn share carries it or not by the plan's green (10 and
 * 20 s do, 15, 25 and 30 s do not), and serving each phase in cyclic order until the queue its green found has
 * crossed locks as well.
 * The ring guard (core/ring.ts: a ring of lanes that stood past 40% for 180 s hands the intersections round it to the
 * plan in step, 20 s greens) does not carry this grid: its rings stand that long only at 1,205-1,835 s, when the plan
 * no longer carries the adaptive controllers' state (it carried schedule and webster from 800 s with 10 s greens, none
 * from 1,100 s). Measured on the way (2026-12-07) and not merged: a ring past 50% without the persistence forms by
 * 305-785 s here but at 400 s under schedule at 0.1 as well (its ring lanes swing between 0 and 26 of 40 and never
 * lock), and rings past 30-50% keep forming under the plan, so the hold hardly ends: the whole network on the 20 s plan
 * then carries 5 of the 7 here (not actuated, green-wave) and the max-pressures and green-wave at 0.1, but schedule at
 * 0.1 goes from 288.5 to 435.9 s. Holding only the ring's four intersections locked schedule at 0.1 (513.3 s); the
 * ring and its neighbours, or the perimeter (intersections with entry lanes), carried some and locked others; 10 s
 * greens lock under the plan (a third of the cycle yellow). Serving the ring's lanes first (into exits with room) put
 * the max-pressures' locks at 0.1 off to 2,360-2,590 s but kept them and cost schedule at 0.1 (332.6-341.8 s); serving
 * every lane a free right turn feeds past 40-60% full, or refusing greens into the lanes that feed a loaded lane by a
 * free turn, locked schedule at 0.1.
 */
const overloaded = generateGrid({ rows: 4, cols: 4, demand: 0.12 });
/**
 * Carried since the perimeter gate (core/gate.ts: once the vehicles on the internal lanes stand past 15% of their
 * capacity, the perimeter intersections run the plan in step, metering what enters; the inside keeps its
 * controller). Measured 2026-12-07 (ATT, one hour, seed 0): schedule 1,069.5 s locked (16 intersections from
 * 1,310 s) -> 598.2 s, sotl 881.4 -> 601.3, sotl-fading 822.5 -> 582.0, pressure-plus 983.9 -> 608.1, webster
 * 1,150.2 -> 675.7, each without a lock; the gate metered from about 800 s (schedule's accumulation past 15% of
 * capacity; at 0.1 it stays below 12.8% and the gate never fires). Actuated and green-wave still locked (1,073.2 ->
 * 763.7 s, locked at 2,760 s rather than 1,295; 1,130.6 -> 1,010.7, at 1,640 s rather than 1,340). Actuated carries
 * it since its max-out is bounded by its lanes' discharge time (controllers/actuated.ts: a queue about to spill back
 * at saturation flow, 40-44 s on these lanes, not 60 s): 763.7 s locked -> 606.8 s, the gate on from 660 s; at 0.1
 * 315.7 -> 297.1 s (the gate never fires). Green-wave still locks (1,010.7 s; at 0.1 594.2 s, locked at 2,880 s,
 * the gate on). Measured 2026-12-07 and not merged, over 4 x 4 at 0.08-0.12, 6 x 6 at 0.1, 3 x 16 at 0.1, 1 x 8 at
 * 0.15, 4 x 5, 5 x 5 and 4 x 6 at 0.1 and 0.12 (locked intersections in all, runs locked; 109 and 7 as it is): each
 * green's planned split capped at its lanes' discharge time as actuated's max-out (78, 8: carries 4 x 4 at 0.1,
 * 445.5 s, not 0.12, and locks 1 x 8 at 0.15), the coordinated phase left uncapped (100, 7: carries both 4 x 4
 * tests, 441.5 and 658.5 s, but locks 3 x 16 at 0.1 and 35 of 6 x 6's), with the cycle's storage bound at the
 * spill-back warn share (89, 9), the cap as a max-out within the cycle (82, 7; 1 x 8 locks), both (78, 7); a common
 * cycle of 100, 120 or 140 s or maxCycle 100-140 carried neither 4 x 4 test. Its arterials change at every re-plan
 * (rows and columns in two-intersection pieces, the direction flipping: each intersection's coordinated phase and
 * offset jump); keeping the first measured choice (74, 10) or the initial one (88, 9) did not carry 4 x 4 at 0.12
 * either; kept, with the max-out in the cycle, it carried both 4 x 4 tests (450.3 and 649.3 s) but locked 1 x 8 at
 * 0.15 (3), 4 x 5 at 0.1 (3) and 4 x 6 at 0.1 (1), which it carried (61, 7); the max-out on the non-coordinated
 * phases only: 27 in 8 runs, 4 x 4 at 0.1 and 0.12 locked late (3,385 s, 2,835 s) at a perimeter corner under the
 * gate's plan, a left-turn lane into the interior full. The PI gating law
 * itself (metering the admitted inflow, greens refused once a perimeter intersection's share is spent) did not carry
 * schedule here and locked pressure-plus at 0.1 (figures in core/gate.ts).
 * Green-wave carries it since its congestion plan (controllers/green-wave.ts): once the internal lanes hold
 * GREEN_WAVE_CONGESTION_SHARE (10%) of their capacity (the gate's accumulation, checked and held as the gate's), every
 * intersection, not the perimeter only, runs the gate's plan in step: 1,010.7 s locked -> 652.2 s, on from 350 s.
 * Measured 2026-12-07 (seed 0): the whole network on that plan at the gate's own 15% carried 4 x 4 at 0.1 (448.1 s)
 * but not 0.12 (677.3 s, one lock at 2,890 s) and locked 4 x 4 at 0.11 (11, from 1,995 s), which green-wave carries
 * alone (555.3 s); 11-13% carried both tests but locked 5 x 5 with two through lanes at 0.12 (11%: 5 -> 20, 12%: 5 ->
 * 13) or 4 x 5 at 0.1 (13%: 0 -> 20), 14% left 5 x 5 at 0.12 locked (25); at 15% with 15 or 25 s greens (not 20) the
 * plan carried 4 x 4 at 0.12 but locked 4 x 5 at 0.12 (20 intersections), with 30 s 4 x 4 at 0.1 (16); 8% and 9%
 * do as 10% (both tests carried; runs locked over the 64 grids below 14 and 16, 10%: 14, green-wave alone 37; the
 * ATT summed over them 3.0% and 3.2% above 10%'s); the hand-over only once the accumulation has stood past 10% for
 * 60, 120 or 240 s locks more (17, 17, 24 runs); bounding green-wave's own deviations under the gate instead (no
 * spill calls, no early starts, equal splits, zero offsets, the gate plan's cycle and phase order, alone or together)
 * carried neither test reliably. The plan with a split common to all intersections, by each green's mean measured
 * flow ratio (10 s greens at least, the same 100 s cycle, in step), was faster on most of the 64 grids (5 x 5 at 0.12
 * 685.9 -> 587.7 s, 6 x 6 at 0.12 732.6 -> 603.0) but locked this grid at 0.105-0.12 (16 intersections) and 6 x 6
 * with two through lanes at 0.15 (6 -> 36): not taken.
 * Over the 46 grids the share was chosen on (scripts/stress-scan.mjs's 3 x 3, 4 x 4, 6 x 6 with one and two through
 * lanes at 0.08-0.12, 16 x 3, 1 x 8, and 4 x 5, 4 x 6, 4 x 7, 4 x 8, 5 x 4, 5 x 5, 5 x 6, 6 x 5, 3 x 4 at 0.08-0.15)
 * locked runs 25 -> 7, locked intersections 357 -> 55; on 18 held out (3 x 5 to 8 x 8 at 0.08-0.15) 12 -> 7 and 130 ->
 * 67, none locking more. The cost where green-wave carried alone (the plan, once on, holds the accumulation at 14-19%
 * and stays on): 4 x 5 with two through lanes at 0.12 386.0 -> 479.6 s, 5 x 5 at 0.09 365.2 -> 409.7, 4 x 4 with three
 * through lanes at 0.12 313.7 -> 351.3, 4 x 4 at 0.09 332.1 -> 360.3 (the five real scenarios, the arterials, 3 x 3 and
 * 3 x 4, where there is no interior, unchanged to the last digit).
 */
const GATE_CARRIES = new Set(['fixed', DEFAULT_CONTROLLER, 'sotl', 'sotl-fading', 'pressure-plus', 'webster', 'actuated', 'green-wave']);
for (const name of ['fixed', DEFAULT_CONTROLLER, 'sotl', 'sotl-fading', 'pressure-plus', 'webster', 'actuated', 'green-wave']) {
  const todo = GATE_CARRIES.has(name) ? undefined : 'locks this grid still (issue #16)';
  test(`4 x 4 grid at 0.12 veh/s a route: ${name} does not gridlock`, { todo }, async () => {
    const faults: ControllerFault[] = [];
    const controller = controllers[name]();
    const { supervisor } = await runControlled(new Simulation(overloaded, { seed: 0 }), controller, SECONDS, { onFault: (f) => faults.push(f) });
    assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s: ${f.error}`), []);
    if (name === 'green-wave') assert.ok((controller as GreenWaveController).congested().length > 0, 'carried by its congestion plan');
    else if (name !== 'fixed') assert.ok(supervisor!.gate!.handOvers.length > 0, 'carried by the perimeter gate');
  });
}

/**
 * The perimeter gate stays shut where the adaptive controllers carry the grid: on 4 x 4 at 0.1 the internal lanes
 * hold at most 12.8% of their capacity under schedule (ATT 285.8 s with the gate on or off), below its 15%.
 */
test(`4 x 4 grid at 0.1 veh/s a route: the perimeter gate does not fire under ${DEFAULT_CONTROLLER}`, async () => {
  const faults: ControllerFault[] = [];
  const { supervisor } = await runControlled(new Simulation(scenario, { seed: 0 }), controllers[DEFAULT_CONTROLLER](), SECONDS, { onFault: (f) => faults.push(f) });
  assert.deepEqual(supervisor!.gate!.handOvers.map((h) => h.message), []);
  assert.ok(supervisor!.gate!.vehicles > 0 && supervisor!.gate!.vehicles < supervisor!.gate!.critical, `${supervisor!.gate!.vehicles} vehicles inside, critical ${supervisor!.gate!.critical}`);
  assert.equal(faults.filter((f) => f.kind === 'gate').length, 0);
});

/**
 * Issue #16: the default controller may never be worse than max-pressure. A 3 x 3 grid with two through lanes per
 * approach at 0.15 veh/s a route (10,800 vehicles in the hour, far past capacity: every controller locks it in the
 * end, and which seed locks first varies, so the mean over five seeds is held too). Schedule's spill calls of lanes
 * a junction feeds go before those of entry lanes (SpillGuard's fedFirst). Then (scripts/grid-locks.mjs shows each
 * run's locks) the first lock, intersection_2_1 at 1,075 s, was a spill-back call for the busy south entry: its
 * through green was given while one of its four exit lanes stood at 31 of 32 (a movement counted as having room
 * when any exit lane had some), and the through vehicles bound for that lane stopped in the junction, the next
 * greens behind them. So a movement with an exit lane standing full is held, in the plan and in the spill guard's
 * calls and holds (SpillBack.exitsHeld, strictExits), unless that lane waits on it through a ring of full lanes (6 x
 * 6 at 0.1 locked at 3,260 s otherwise: four full left-turn lanes round a block, each held back by the next); and of
 * several spilling greens the heaviest is called (weighed: twice its spilling queue plus its max-pressure weight),
 * where the cyclic order served a light spill before a heavy one. Measured 2026-12-07 (ATT, seeds 0-4): schedule
 * 1,143.4 / 1,013.1 / 1,195.2 / 1,073.3 / 1,138.5 s (mean 1,112.7) before, 739.2 / 929.8 / 870.5 / 799.2 / 886.6
 * (845.1) after, max-pressure 896.5 / 939.9 / 892.2 / 943.1 / 924.8 (919.3); strictExits alone 921.4 (seed 0 944.1),
 * weighed alone 1,071.2 and a lock on 6 x 6 at 0.1. Seeds 5-9: 820.1 against max-pressure's 941.0 (seed 5: 969.1
 * against 893.8). Not yet carried: 6 x 6 with two through lanes at 0.12 locks late on seeds 1 and 2 where it did not
 * (3,515 s and 3,115 s: right-turn lanes standing full behind the full left-turn lanes round the centre block; ATT
 * 309.7 -> 312.8 s, 315.4 -> 322.9; seed 0, locked either way, 356.3 -> 401.2; max-pressure 736.0-788.9, 36 locks).
 * Lenient exits for a fed lane about to spill back carried those two seeds but lost the gain here (seeds 0-4 mean
 * 1,006.5) and locked 6 x 6 at 0.1 (3,450 s).
 */
const twoThrough = generateGrid({ rows: 3, cols: 3, lanesPerMovement: { left: 1, straight: 2, right: 1 }, demand: 0.15 });
test(`3 x 3 grid, two through lanes, at 0.15 veh/s a route: ${DEFAULT_CONTROLLER} no worse than max-pressure`, async () => {
  const att = async (name: string, seed: number) =>
    (await runControlled(new Simulation(twoThrough, { seed }), controllers[name](), SECONDS, {})).metrics.averageTravelTime;
  const seeds = [0, 1, 2, 3, 4];
  const ours: number[] = [], mp: number[] = [];
  for (const seed of seeds) {
    ours.push(await att(DEFAULT_CONTROLLER, seed));
    mp.push(await att('max-pressure', seed));
  }
  assert.ok(ours[0] <= mp[0], `seed 0: ${DEFAULT_CONTROLLER} ${ours[0].toFixed(1)} s against max-pressure ${mp[0].toFixed(1)} s`);
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  assert.ok(mean(ours) <= mean(mp), `seeds 0-4: ${DEFAULT_CONTROLLER} ${mean(ours).toFixed(1)} s against max-pressure ${mean(mp).toFixed(1)} s`);
});

/**
 * Held by its strict exits and weighed calls: 6 x 6 at 0.1 veh/s a route carries the hour without a lock (a ring of
 * four full left-turn lanes round a block locked it at 3,260 s with strict exits and no way out of the ring, at
 * 3,220 s with weighed calls and lenient exits).
 */
const sixBySix = generateGrid({ rows: 6, cols: 6, demand: 0.1 });
test(`6 x 6 grid at 0.1 veh/s a route: ${DEFAULT_CONTROLLER} does not gridlock`, async () => {
  const faults: ControllerFault[] = [];
  await runControlled(new Simulation(sixBySix, { seed: 0 }), controllers[DEFAULT_CONTROLLER](), SECONDS, { onFault: (f) => faults.push(f) });
  assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s: ${f.error}`), []);
});

/**
 * Issue #16: on 6 x 6 at 0.12 veh/s a route schedule locked every intersection (908.5 s, the perimeter gate at
 * 1,600 s) where max-pressure carried the hour (717.1 s, the ring guard's plan from 860 s). The gate now meters the
 * perimeter as soon as a region (an interior intersection and its neighbours) fills, past 16% of its capacity and
 * still rising (core/gate.ts): at 750 s, and schedule carries it (640.4 s).
 */
const sixBySixOverloaded = generateGrid({ rows: 6, cols: 6, demand: 0.12 });
test(`6 x 6 grid at 0.12 veh/s a route: ${DEFAULT_CONTROLLER} does not gridlock and is no worse than max-pressure`, async () => {
  const run = async (name: string) => {
    const faults: ControllerFault[] = [];
    const { metrics } = await runControlled(new Simulation(sixBySixOverloaded, { seed: 0 }), controllers[name](), SECONDS, { onFault: (f) => faults.push(f) });
    return { att: metrics.averageTravelTime, locks: faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s`) };
  };
  const ours = await run(DEFAULT_CONTROLLER), mp = await run('max-pressure');
  assert.deepEqual(ours.locks, []);
  assert.ok(ours.att <= mp.att, `${DEFAULT_CONTROLLER} ${ours.att.toFixed(1)} s against max-pressure ${mp.att.toFixed(1)} s`);
});

/**
 * Issue #16, grids of short blocks: a filling region's hold with the perimeter alone on the plan locked grids the
 * controller carried without it (max-pressure on 4 x 4 at 0.08 with 180 m blocks 237.3 -> 907.0 s, 16 locked; schedule
 * on 5 x 5 at 0.08 with 150 m blocks 193.0 -> 265.6 s, 3 locked, 1,198.6 s and 25 within two hours): the plan's greens
 * fed an interior that its controller did not serve in step. The whole network on the plan (core/gate.ts) carries
 * them (239.6 and 272.2 s).
 */
for (const [name, size, blockLength] of [['max-pressure', 4, 180], [DEFAULT_CONTROLLER, 5, 150]] as const) {
  test(`${size} x ${size} grid of ${blockLength} m blocks at 0.08 veh/s a route: ${name} does not gridlock once a region fires the gate`, async () => {
    const grid = generateGrid({ rows: size, cols: size, demand: 0.08, blockLength });
    const faults: ControllerFault[] = [];
    const { supervisor } = await runControlled(new Simulation(grid, { seed: 0 }), controllers[name](), SECONDS, { onFault: (f) => faults.push(f) });
    assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s`), []);
    assert.match(supervisor!.gate!.handOvers[0]?.message ?? '', /region/, 'a region fired the gate');
  });
}
