/**
 * The plans of a cluster at its edges (issue #20): the brain workers publish
 * each signed plan on `city.plans.<region>.<intersection>`; a gateway (for
 * the field controllers polling `GET /api/v1/intersections/:id/plan`) and the
 * API server (for the dashboard) keep the latest one per intersection on a
 * PlanBoard, whose HTTP route is the one-process server's.
 *
 * Only a plan that verifies against the cluster's brain key is taken (anyone
 * on NATS could publish on the subject; a field controller would refuse it
 * anyway, but the board would then hide the genuine one), and only one newer
 * than the board's latest (a worker handing a region over may publish a last
 * plan after its successor's first: the successor's seqs start at its clock's
 * ms, above).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Plan, PlanBoard } from '@citybrain/brain';
import { PLANS_SUBJECTS } from './subjects.js';

export interface PlanFollower {
  /** plans taken onto the board so far */
  readonly taken: number;
  /** plans dropped: not JSON, not a plan, of an intersection the board does not know, or not signed with the brain key */
  readonly refused: number;
  /** plans dropped because the board held a newer one */
  readonly stale: number;
  stop(): void;
}

function isPlan(p: unknown): p is Plan {
  const o = p as Record<string, unknown> | null;
  return o !== null && typeof o === 'object' && typeof o.intersection === 'string' && typeof o.seq === 'number' && typeof o.sig === 'string' &&
    typeof o.phase === 'number' && typeof o.ts === 'number' && typeof o.validFor === 'number' && typeof o.issuer === 'string';
}

/**
 * Subscribes to every plan of the cluster and puts each verified, newer one
 * on `board` (its listeners, e.g. the plan route's long polls, hear it).
 * `log` hears the first refusal of each kind, not each one.
 */
export function followPlans(nc: NatsConnection, board: PlanBoard, verify: (plan: Plan) => boolean, log: (line: string) => void = () => {}): PlanFollower {
  const sub: Subscription = nc.subscribe(PLANS_SUBJECTS);
  const told = new Set<string>();
  const refuse = (why: string, subject: string) => {
    f.refused++;
    if (!told.has(why)) {
      told.add(why);
      log(`plan on ${subject} dropped: ${why} (further ones of this kind are counted, not logged)`);
    }
  };
  const f = { taken: 0, refused: 0, stale: 0, stop: () => sub.unsubscribe() };
  void (async () => {
    for await (const m of sub) {
      let plan: unknown;
      try {
        plan = m.json();
      } catch {
        refuse('not JSON', m.subject);
        continue;
      }
      if (!isPlan(plan)) refuse('not a plan', m.subject);
      else if (!board.has(plan.intersection)) refuse(`no signalised intersection "${plan.intersection}" in this city`, m.subject);
      else if (!verify(plan)) refuse('not signed with the cluster\'s brain key', m.subject);
      else if ((board.latest(plan.intersection)?.seq ?? -1) >= plan.seq) f.stale++;
      else {
        board.publish(plan);
        f.taken++;
      }
    }
  })().catch((e: unknown) => log(`the plans' subscription stopped: ${(e as Error).message}`));
  return f;
}
