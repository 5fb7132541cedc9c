import type { ActionChange, AuditInput, EventStore } from '../store/store.js';

/**
 * An audited control action, as a route plans it: the audit entry, the
 * operator state it persists with the entry (so a restart restores it), and
 * the change itself, applied only once both are durable. Without an entry the
 * action changes nothing worth recording (e.g. acknowledging twice).
 */
export type AuditPlan<R> = { entry: AuditInput; change?: ActionChange; apply: () => R } | { entry?: undefined; apply: () => R };

/**
 * Runs audited actions one at a time. `plan` is called with the lock held, so
 * the `before` it reads is what the action changes; the change is applied
 * only after the store made the record durable. When the store fails, the
 * promise rejects with its StoreError (the app answers 503 with Retry-After)
 * and nothing changed: an action is audited and done, or neither.
 */
export type Audited = <R>(plan: () => AuditPlan<R>) => Promise<R>;

export function auditedActions(store: Pick<EventStore, 'recordAction'>): Audited {
  let last: Promise<unknown> = Promise.resolve();
  return <R>(plan: () => AuditPlan<R>): Promise<R> => {
    const run = last.then(async () => {
      const p = plan();
      if (p.entry) await store.recordAction(p.entry, p.change);
      return p.apply();
    });
    // the next action waits for this one, whatever its outcome
    last = run.catch(() => {});
    return run;
  };
}
