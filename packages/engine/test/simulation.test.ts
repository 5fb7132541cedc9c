/**
 * Unit tests of the simulator on tiny hand-built scenarios: car following,
 * signals and insertion at the boundary. Expected values are computed here from
 * CityFlow's rules, not read back from the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, validateFlows, validateRoadnet, type FlowJson, type VehicleJson } from '@citybrain/engine';
import { CITYFLOW_VEHICLE, SIGNAL, drivableIndex, flow, interIndex, oneSignal, straightRoad, vehiclesByDrivable } from './twin-helpers.js';

const EPS = 1e-9;

test('the tiny scenarios are valid CityFlow and compile to the lane lengths they describe', () => {
  const s = straightRoad({ length: 400, lanes: 2, flows: [flow(['r'])] });
  validateFlows(s.flows, 'flow', validateRoadnet(s.roadnet, 'roadnet'));
  const sim = new Simulation(s);
  assert.equal(sim.net.nLanes, 2);
  assert.ok(Math.abs(sim.net.length[0] - 400) < 1e-9 && Math.abs(sim.net.length[1] - 400) < 1e-9);

  const g = oneSignal({ block: 300, width: 10, lanes: 2, flows: [flow(['in', 'out'])] });
  validateFlows(g.flows, 'flow', validateRoadnet(g.roadnet, 'roadnet'));
  const gs = new Simulation(g);
  // both roads lose the intersection's width at C, nothing at the virtual ends
  assert.ok(Math.abs(gs.net.length[drivableIndex(gs, 'in_0')] - 290) < 1e-9);
  assert.ok(Math.abs(gs.net.length[drivableIndex(gs, 'out_1')] - 290) < 1e-9);
  assert.equal(gs.phaseCount(interIndex(gs, SIGNAL)), 2);
  assert.equal(gs.phaseCount(interIndex(gs, 'W')), 0);
});

// ------------------------------------------------------------------ car following

/** Runs a lone added vehicle to the end of a 2-lane road; returns its (speed, distance) per step and finish time. */
function loneRun(vehicle: Partial<VehicleJson>, laneMax: number, length: number, interval: number) {
  const sim = new Simulation(straightRoad({ length, lanes: 2, maxSpeed: laneMax }), { interval });
  sim.addVehicle({ id: 'solo', route: ['r'], vehicle });
  const trace: { speed: number; distance: number }[] = [];
  for (let k = 0; k < 10_000; k++) {
    sim.step();
    const s = sim.vehicleStatus('solo');
    if (s.state === 'finished') return { trace, finishTime: s.finishTime, enterTime: s.enterTime, metrics: sim.metrics() };
    assert.equal(s.state, 'running');
    if (s.state === 'running') trace.push({ speed: s.speed, distance: s.distance });
  }
  throw new Error('the lone vehicle never finished');
}

for (const c of [
  { name: 'vehicle slower than the lane', vehicle: { maxSpeed: 8, maxPosAcc: 1.5 }, laneMax: 16.67, interval: 1 },
  { name: 'lane slower than the vehicle', vehicle: { maxSpeed: 20, maxPosAcc: 3 }, laneMax: 10, interval: 1 },
  { name: 'half-second steps', vehicle: { maxSpeed: 11.111, maxPosAcc: 2 }, laneMax: 16.67, interval: 0.5 },
]) {
  test(`a lone vehicle accelerates at maxPosAcc up to min(maxSpeed, lane maxSpeed) and holds it (${c.name})`, () => {
    const length = 400;
    const { trace, finishTime, enterTime, metrics } = loneRun(c.vehicle, c.laneMax, length, c.interval);
    const cap = Math.min(c.vehicle.maxSpeed, c.laneMax);
    // CityFlow: v' = min(v + maxPosAcc·dt, cap); distance grows by the trapezoid (v + v')·dt/2
    let v = 0, x = 0, k = 0;
    for (; x <= length; k++) {
      const nv = Math.min(v + c.vehicle.maxPosAcc * c.interval, cap);
      x += ((v + nv) * c.interval) / 2;
      v = nv;
      if (x > length) break;
      const got = trace[k];
      assert.ok(got, `still running at step ${k + 1}`);
      assert.ok(Math.abs(got.speed - v) < EPS, `step ${k + 1}: speed ${got.speed}, expected ${v}`);
      assert.ok(Math.abs(got.distance - x) < 1e-6, `step ${k + 1}: distance ${got.distance}, expected ${x}`);
      assert.ok(got.speed <= cap + EPS);
    }
    assert.equal(trace.length, k, 'leaves in the step its front passes the end of the road');
    assert.ok(trace.some((t) => t.speed === cap), 'reaches the cap');
    // the travel time counts up to the start of the step in which it left
    assert.equal(enterTime, 0);
    assert.ok(Math.abs(finishTime - k * c.interval) < EPS, `finish ${finishTime}, expected ${k * c.interval}`);
    assert.ok(Math.abs(metrics.averageTravelTime - k * c.interval) < EPS);
    assert.deepEqual([metrics.enteredVehicles, metrics.finishedVehicles, metrics.vehiclesInNetwork], [1, 1, 0]);
  });
}

test('a queue behind a red light stops before the stop line, each follower at least minGap behind its leader', () => {
  const minGap = CITYFLOW_VEHICLE.minGap, len = CITYFLOW_VEHICLE.length;
  const sim = new Simulation(oneSignal({ lanes: 1 }));
  const c = interIndex(sim, SIGNAL);
  sim.setPhase(c, 0);
  const laneLen = sim.net.length[drivableIndex(sim, 'in_0')];
  const ids = ['v0', 'v1', 'v2', 'v3', 'v4'];
  for (const id of ids) {
    sim.addVehicle({ id, route: ['in', 'out'] });
    sim.step(3);
  }
  sim.step(80);
  const pos = ids.map((id) => {
    const s = sim.vehicleStatus(id);
    assert.ok(s.state === 'running' && s.drivable === 'in_0', `${id} waits on in_0`);
    assert.equal(s.speed, 0, `${id} has stopped`);
    return s.distance;
  });
  assert.ok(pos[0] <= laneLen && pos[0] > laneLen - 5, `the leader stops just before the line (${pos[0]} of ${laneLen})`);
  for (let k = 1; k < ids.length; k++) {
    const gap = pos[k - 1] - len - pos[k];
    // never closer than minGap, and closed up: no room for another car in between
    assert.ok(gap >= minGap - 1e-6, `${ids[k]} keeps ${gap} m >= minGap`);
    assert.ok(gap < minGap + 0.5, `${ids[k]} closes up (${gap} m)`);
  }
});

test('laneMovingCount counts the vehicles faster than 0.1 m/s within range of the stop line, wherever the queue\'s tail is', () => {
  const sim = new Simulation(oneSignal({ lanes: 1, block: 400 }));
  sim.setPhase(interIndex(sim, SIGNAL), 0);
  const lane = drivableIndex(sim, 'in_0');
  const end = sim.net.length[lane];
  const route = [sim.net.roadIndex.get('in')!, sim.net.roadIndex.get('out')!];
  // front first: stopped at the line, two moving within 100 m, one stopped 150 m back, one moving beyond
  for (const [back, speed] of [[0, 0], [40, 8], [80, 8], [150, 0], [250, 8]]) sim.placeVehicle({ lane, distance: end - back, speed, route });
  assert.equal(sim.laneMovingCount(lane, 100), 2);
  // the stopped vehicle beyond 100 m is no reason to count one moving vehicle less
  assert.equal(sim.laneApproachingCount(lane, 100) - sim.laneWaitingCount(lane), 1);
  assert.equal(sim.laneMovingCount(lane, 300), 3);
  assert.equal(sim.laneMovingCount(lane, 30), 0);
  assert.equal(sim.laneMovingCount(lane, 0), 0);
});

test('addVehicle refuses an id taken by another added vehicle or reserved for the flows', () => {
  const sim = new Simulation(straightRoad({ flows: [flow(['r'])] }));
  sim.addVehicle({ id: 'ambulance', route: ['r'] });
  assert.throws(() => sim.addVehicle({ id: 'ambulance', route: ['r'] }), /vehicle "ambulance" already exists/);
  // flow_0_5 is not generated yet, but will be
  assert.throws(() => sim.addVehicle({ id: 'flow_0_5', route: ['r'] }), /vehicle id "flow_0_5" is reserved/);
  sim.addVehicle({ id: 'flow_ambulance', route: ['r'] });
});

test('a fast follower catching a slow leader never overlaps it and settles at the leader speed', () => {
  const sim = new Simulation(straightRoad({ length: 3000, lanes: 1, maxSpeed: 30 }));
  sim.addVehicle({ id: 'slow', route: ['r'], vehicle: { maxSpeed: 4 } });
  sim.step(15);
  sim.addVehicle({ id: 'fast', route: ['r'], vehicle: { maxSpeed: 25 } });
  let minGap = Infinity;
  for (let k = 0; k < 300; k++) {
    sim.step();
    const a = sim.vehicleStatus('slow'), b = sim.vehicleStatus('fast');
    if (a.state !== 'running' || b.state !== 'running') break;
    minGap = Math.min(minGap, a.distance - CITYFLOW_VEHICLE.length - b.distance);
  }
  const b = sim.vehicleStatus('fast');
  assert.ok(b.state === 'running');
  assert.ok(Math.abs(b.speed - 4) < 1e-6, `the follower ends at the leader's 4 m/s (got ${b.speed})`);
  assert.ok(minGap >= CITYFLOW_VEHICLE.minGap - 1e-6, `min gap ${minGap}`);
});

test('braking never exceeds maxNegAcc per step; a vehicle that cannot stop for a new red goes on (CityFlow amber running)', () => {
  // The light turns red when the vehicle is toEnd metres from the line at speed v. CityFlow's rule
  // (Vehicle::getIntersectionRelatedSpeed): it stops iff its minimum braking distance
  // v²/(2·maxNegAcc) fits in toEnd; otherwise it carries on rather than braking harder.
  const vehicles: Partial<VehicleJson>[] = [{ maxSpeed: 16.67 }, { maxSpeed: 16.67, maxNegAcc: 7, usualNegAcc: 3 }];
  let stopped = 0, ran = 0;
  for (const veh of vehicles) {
    const maxNeg = veh.maxNegAcc ?? CITYFLOW_VEHICLE.maxNegAcc;
    for (let b = 0; b < 40; b++) {
      const block = 300 + b * 0.91; // shifts where the vehicle is when the light changes
      const sim = new Simulation(oneSignal({ lanes: 1, block }));
      const c = interIndex(sim, SIGNAL);
      const laneLen = block - 10;
      sim.setPhase(c, 1);
      sim.addVehicle({ id: 'x', route: ['in', 'out'], vehicle: veh });
      let prev = 0, switched: { toEnd: number; minBrake: number } | undefined, crossed = false;
      for (let k = 0; k < 200; k++) {
        sim.step();
        const s = sim.vehicleStatus('x');
        if (s.state !== 'running') break;
        assert.ok(prev - s.speed <= maxNeg * sim.interval + EPS, `decelerated ${prev - s.speed} > maxNegAcc ${maxNeg}`);
        prev = s.speed;
        if (s.drivable !== 'in_0') crossed = true;
        if (!switched && s.drivable === 'in_0' && laneLen - s.distance < 45) {
          switched = { toEnd: laneLen - s.distance, minBrake: (s.speed * s.speed) / 2 / maxNeg };
          sim.setPhase(c, 0);
        }
      }
      assert.ok(switched);
      const canStop = switched.minBrake <= switched.toEnd;
      assert.equal(crossed, !canStop, `red at ${switched.toEnd.toFixed(2)} m with braking distance ${switched.minBrake.toFixed(2)} m`);
      if (canStop) {
        const s = sim.vehicleStatus('x');
        assert.ok(s.state === 'running' && s.drivable === 'in_0' && s.speed === 0 && s.distance <= laneLen);
        stopped++;
      } else ran++;
    }
  }
  assert.ok(stopped > 0 && ran > 0, `both outcomes exercised (${stopped} stopped, ${ran} ran)`);
});

// ------------------------------------------------------------------ signals

test('a vehicle waits at a red laneLink and goes through on green', () => {
  const sim = new Simulation(oneSignal({ lanes: 1 }));
  const c = interIndex(sim, SIGNAL);
  const link = drivableIndex(sim, 'in_0->out_0');
  sim.setPhase(c, 0); // phase 0 has no roadLink: red
  assert.equal(sim.linkGreen(link), false);
  sim.addVehicle({ id: 'x', route: ['in', 'out'] });
  sim.step(120);
  const waiting = sim.vehicleStatus('x');
  assert.ok(waiting.state === 'running' && waiting.drivable === 'in_0' && waiting.speed === 0, JSON.stringify(waiting));
  assert.equal(sim.laneWaitingCount(drivableIndex(sim, 'in_0')), 1);

  sim.setPhase(c, 1);
  assert.equal(sim.linkGreen(link), true);
  const seen = new Set<string>([waiting.drivable]);
  for (let k = 0; k < 120 && sim.vehicleStatus('x').state === 'running'; k++) {
    sim.step();
    const s = sim.vehicleStatus('x');
    if (s.state === 'running') seen.add(s.drivable);
  }
  assert.deepEqual([...seen].sort(), ['in_0', 'in_0->out_0', 'out_0'].sort());
  assert.equal(sim.vehicleStatus('x').state, 'finished');
});

test('setPhase rejects phases out of range with a RangeError naming the intersection', () => {
  const sim = new Simulation(oneSignal());
  const c = interIndex(sim, SIGNAL);
  for (const p of [-1, 2, 1.5, Number.NaN, 99]) {
    assert.throws(() => sim.setPhase(c, p), (e: unknown) => e instanceof RangeError && /C: phase .* out of range 0\.\.1/.test(e.message), `phase ${p}`);
  }
  // a virtual intersection has no phase at all
  assert.throws(() => sim.setPhase(interIndex(sim, 'W'), 0), RangeError);
  assert.equal(sim.isExternallyControlled(c), false, 'a rejected call leaves the plan in charge');
  sim.setPhase(c, 1);
  assert.equal(sim.phase(c), 1);
});

/** Phase shown at time t by a plan that starts phase `from` at time t0 and cycles `times`. */
function planPhase(times: number[], from: number, t0: number, t: number): number {
  const cycle = times.reduce((a, b) => a + b, 0);
  let u = (t - t0) % cycle;
  let p = from;
  while (u >= times[p]) {
    u -= times[p];
    p = (p + 1) % times.length;
  }
  return p;
}

test('the built-in plan cycles the lightphases with their times; setPhase holds; resumePlan restarts the cycle', () => {
  const times = [5, 20, 7];
  const phases = times.map((time, i) => ({ time, availableRoadLinks: i === 1 ? [0] : [] }));
  const sim = new Simulation(oneSignal({ phases }));
  const c = interIndex(sim, SIGNAL);
  const link = drivableIndex(sim, 'in_0->out_0');
  for (let t = 0; t < 100; t++) {
    assert.equal(sim.phase(c), planPhase(times, 0, 0, t), `plan at t=${t}`);
    assert.equal(sim.linkGreen(link), sim.phase(c) === 1, `link green iff phase 1 at t=${t}`);
    sim.step();
  }
  sim.setPhase(c, 2);
  assert.equal(sim.isExternallyControlled(c), true);
  for (let k = 0; k < 40; k++) {
    sim.step();
    assert.equal(sim.phase(c), 2, 'an externally set phase does not cycle');
  }
  const t0 = sim.time;
  sim.resumePlan(c, 1);
  assert.equal(sim.isExternallyControlled(c), false);
  for (let t = t0; t < t0 + 100; t++) {
    assert.equal(sim.phase(c), planPhase(times, 1, t0, t), `resumed plan at t=${t}`);
    sim.step();
  }
  const t1 = sim.time;
  sim.setPhase(c, 1);
  sim.resumePlan(c); // from phase 0 by default
  for (let t = t1; t < t1 + 40; t++) {
    assert.equal(sim.phase(c), planPhase(times, 0, t1, t));
    sim.step();
  }
});

// ------------------------------------------------------------------ insertion

/** Departures CityFlow's Flow::nextStep makes by time t: start, start+interval, ... up to min(t, end) inclusive. */
function departuresBy(f: FlowJson, t: number): number {
  const last = f.endTime === -1 ? t : Math.min(t, f.endTime);
  return last < f.startTime ? 0 : Math.floor((last - f.startTime) / f.interval + 1e-9) + 1;
}

test('flows generate exactly CityFlow\'s departures: startTime and endTime inclusive', () => {
  const cases: FlowJson[] = [
    flow(['r'], { interval: 2, startTime: 0, endTime: 10 }), // the example: t = 0, 2, ..., 10
    flow(['r'], { interval: 2, startTime: 3, endTime: 10 }),
    flow(['r'], { interval: 3, startTime: 0, endTime: 10 }),
    flow(['r'], { interval: 0.5, startTime: 0, endTime: 10 }), // two per step
    flow(['r'], { interval: 1, startTime: 5, endTime: 5 }),
    flow(['r'], { interval: 4, startTime: 0, endTime: -1 }),
  ];
  const expectedTotals = [6, 4, 4, 21, 1, 8];
  cases.forEach((f, i) => {
    const sim = new Simulation(straightRoad({ length: 2000, lanes: 3, flows: [f] }));
    for (let t = 0; t < 30; t++) {
      sim.step();
      assert.equal(sim.metrics().enteredVehicles, departuresBy(f, t), `flow ${i} by t=${t}`);
    }
    assert.equal(sim.metrics().enteredVehicles, expectedTotals[i], `flow ${i} total`);
  });
  // vehicles are named as CityFlow names them
  const sim = new Simulation(straightRoad({ flows: [flow(['r'], { interval: 2, endTime: 10 }), flow(['r'], { interval: 5, endTime: 10 })] }));
  const seen = new Set<string>();
  for (let k = 0; k < 30; k++) {
    sim.step();
    for (const h of sim.runningVehicles()) seen.add(sim.vehicleId(h));
  }
  const expected = [...[0, 1, 2, 3, 4, 5].map((n) => `flow_0_${n}`), ...[0, 1, 2].map((n) => `flow_1_${n}`)];
  assert.deepEqual([...seen].sort(), expected.sort());
});

test('vehicles queue at the boundary while the entry lane is full and enter one per step when there is room', () => {
  // four vehicles a second into one lane: at most one can enter per step, so the rest wait
  const f = flow(['r'], { interval: 0.25, endTime: 40 });
  const sim = new Simulation(straightRoad({ length: 300, lanes: 1, flows: [f] }));
  const need = CITYFLOW_VEHICLE.minGap;
  let prevWaiting = 0, prevEntered = 0, maxWaiting = 0;
  // room at the start of a step: the last vehicle on the lane is further than its length + the newcomer's minGap
  let room = true;
  for (let k = 0; k < 200; k++) {
    sim.step();
    const m = sim.metrics();
    const generated = m.enteredVehicles - prevEntered;
    const admitted: number = prevWaiting + generated > 0 && room ? 1 : 0;
    assert.equal(m.waitingToEnter, prevWaiting + generated - admitted, `waiting at t=${m.time}`);
    assert.equal(sim.laneEntryQueue(0), m.waitingToEnter);
    assert.equal(m.enteredVehicles, m.finishedVehicles + m.vehiclesInNetwork + m.waitingToEnter);
    const onLane = vehiclesByDrivable(sim).get(0) ?? [];
    const tail = onLane.at(-1);
    room = !tail || tail.distance > CITYFLOW_VEHICLE.length + need;
    prevWaiting = m.waitingToEnter;
    prevEntered = m.enteredVehicles;
    maxWaiting = Math.max(maxWaiting, m.waitingToEnter);
  }
  assert.ok(maxWaiting > 50, `a boundary queue formed (${maxWaiting})`);
  assert.equal(prevEntered, departuresBy(f, 199), 'generation does not depend on room: entered = generated');
});

test('a red light spills the queue back to the boundary; on green every waiting vehicle enters and leaves', () => {
  const f = flow(['in', 'out'], { interval: 2, endTime: 200 });
  const sim = new Simulation(oneSignal({ block: 100, lanes: 1, flows: [f] }));
  const c = interIndex(sim, SIGNAL);
  const lane = drivableIndex(sim, 'in_0');
  sim.setPhase(c, 0);
  sim.step(150);
  const m = sim.metrics();
  // 90 m of lane hold at most floor((90 + minGap) / (length + minGap)) vehicles
  const capacity = Math.floor((sim.net.length[lane] + CITYFLOW_VEHICLE.minGap) / (CITYFLOW_VEHICLE.length + CITYFLOW_VEHICLE.minGap));
  assert.ok(sim.laneVehicleCount(lane) <= capacity && sim.laneVehicleCount(lane) >= capacity - 1, `lane holds ${sim.laneVehicleCount(lane)} of ${capacity}`);
  assert.equal(m.enteredVehicles, departuresBy(f, 149));
  assert.equal(m.waitingToEnter, m.enteredVehicles - sim.laneVehicleCount(lane));
  assert.equal(sim.laneEntryQueue(lane), m.waitingToEnter);
  assert.ok(m.waitingToEnter > 0);
  assert.equal(m.finishedVehicles, 0);

  sim.setPhase(c, 1);
  sim.step(600);
  const end = sim.metrics();
  assert.equal(end.enteredVehicles, departuresBy(f, 749));
  assert.deepEqual([end.waitingToEnter, end.vehiclesInNetwork, end.finishedVehicles], [0, 0, end.enteredVehicles]);
});

// ------------------------------------------------------------------ breakdowns (incidents)

test('a broken-down vehicle brakes at maxNegAcc, stands its time while the one behind queues, then drives on; a fork carries it', () => {
  const sim = new Simulation(straightRoad({ length: 800, lanes: 1 }));
  sim.addVehicle({ id: 'a', route: ['r'] });
  sim.step(3);
  sim.addVehicle({ id: 'b', route: ['r'] });
  sim.step(20);
  const a = sim.vehicleHandle('a');
  const b = sim.vehicleHandle('b');
  const v0 = sim.vehicleSpeed(a);
  assert.ok(v0 > 5, `the first vehicle is at speed (${v0} m/s)`);
  sim.breakDown(a, 60);
  sim.step();
  // CityFlow's hardest braking: maxNegAcc (4.5 m/s² by default) per step, never below 0
  assert.ok(Math.abs(sim.vehicleSpeed(a) - Math.max(0, v0 - CITYFLOW_VEHICLE.maxNegAcc)) < EPS, 'brakes as hard as it can');
  sim.step(10);
  assert.equal(sim.vehicleSpeed(a), 0);
  assert.ok(sim.isBrokenDown(a));
  const at = sim.vehicleDistance(a);
  const fork = sim.fork();
  sim.step(40);
  assert.equal(sim.vehicleDistance(a), at, 'stands still');
  assert.equal(sim.vehicleSpeed(b), 0, 'the one behind has queued');
  assert.ok(sim.vehicleDistance(b) < at);
  sim.step(12);
  // 60 s after the breakdown: moving again
  assert.ok(!sim.isBrokenDown(a));
  sim.step(5);
  assert.ok(sim.vehicleDistance(a) > at && sim.vehicleSpeed(b) > 0, 'both drive on');
  fork.step(57);
  assert.equal(fork.vehicleDistance(a), sim.vehicleDistance(a), 'the fork broke down and recovered the same way');
  assert.equal(fork.vehicleDistance(b), sim.vehicleDistance(b));
});

test('breakDown refuses what is not a running vehicle on a lane, and a bad duration, by name', () => {
  const sim = new Simulation(straightRoad({ length: 800, lanes: 1 }));
  sim.addVehicle({ id: 'a', route: ['r'] });
  assert.throws(() => sim.breakDown(sim.vehicleHandle('a'), 30), /vehicle handle \d+ is not a running vehicle/, 'still waiting to enter');
  sim.step(5);
  const a = sim.vehicleHandle('a');
  assert.throws(() => sim.breakDown(99, 30), /vehicle handle 99 is not a running vehicle/);
  assert.throws(() => sim.breakDown(-1, 30), /not a running vehicle/);
  for (const s of [0, -5, NaN, Infinity]) assert.throws(() => sim.breakDown(a, s), /seconds must be a positive number/);
  assert.equal(sim.isBrokenDown(a), false, 'a refused breakdown changes nothing');
});

test('demandRemaining: true until every flow has passed its end and no lane draws at an entry rate', () => {
  const sim = new Simulation(straightRoad({ flows: [flow(['r'], { startTime: 5, endTime: 20, interval: 5 })] }));
  assert.equal(sim.demandRemaining, true, 'a flow not started yet');
  sim.step(21);
  assert.equal(sim.demandRemaining, true, 'its end is passed only after 20 s');
  sim.step(1);
  assert.equal(sim.demandRemaining, false);
  assert.ok(sim.runningCount > 0, 'its last vehicles still drive');
  sim.setEntryRate(0, 0.1);
  assert.equal(sim.demandRemaining, true, 'an entry rate is demand');
  sim.setEntryRate(0, 0);
  assert.equal(sim.demandRemaining, false);
  assert.equal(new Simulation(straightRoad({ flows: [flow(['r'], { startTime: 0, endTime: -1 })] })).demandRemaining, true, 'a flow without an end');
});
