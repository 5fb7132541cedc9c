import type { Principal } from '../auth.js';
import { HttpError } from '../errors.js';
import type { Event } from '../events.js';
import type { IngestPipeline, RejectReason } from '../ingest.js';
import type { FieldDevice } from './virtual-city.js';

/** The `source` label of the virtual city's events in the ingestion metrics. */
export const FIELD_SOURCE = 'virtual-city';

/**
 * The principal a virtual-city device's events are admitted under: what a
 * device token for it would carry (role device, its own device id, only the
 * intersections and bays it reports on). No role of the virtual city skips
 * the scope check.
 */
export function fieldPrincipal(d: FieldDevice): Principal {
  return {
    tokenId: `virtual-city:${d.device}`, name: `virtual city ${d.device}`, role: 'device', device: d.device,
    intersections: new Set(d.intersections), bays: new Set(d.bays),
  };
}

export interface FieldRefusal {
  event: Event;
  reason: RejectReason;
  /** the pipeline's one-line message, e.g. `events[0].occupancy: must be <= 1` */
  message: string;
}

/**
 * The virtual city's events, admitted like any device's: the pipeline's batch
 * schema, normalisation, network check and scope check (`IngestPipeline.admit`),
 * each under its device's principal. The one exception: their `ts` is the
 * simulated clock, so the clock-skew rule does not apply (EventClock).
 *
 * Each event is admitted on its own, so a bad one costs only itself. A refusal
 * is a bug of the virtual city: it is counted (citybrain_ingest_rejected_total,
 * source virtual-city) and handed to `onRefused` (the server logs it as an
 * error); the rest go on. Errors other than a refusal (the pipeline not open
 * yet) are thrown.
 */
export function fieldAdmission(pipeline: IngestPipeline, devices: readonly FieldDevice[], onRefused: (r: FieldRefusal) => void): (events: readonly Event[]) => Event[] {
  const principals = new Map(devices.map((d) => [d.device, fieldPrincipal(d)]));
  const batch = { events: [] as Event[] };
  return (events) => {
    const admitted: Event[] = [];
    for (const e of events) {
      const p = principals.get(e.device);
      try {
        if (!p) throw new HttpError('CB_OUT_OF_SCOPE', `events[0].device: "${String(e.device)}" is not a device of the virtual city`);
        batch.events[0] = e;
        admitted.push(pipeline.admit(p, batch, 'simulated')[0]);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        const reason: RejectReason = err.statusCode === 403 ? 'forbidden' : 'invalid';
        pipeline.reject(FIELD_SOURCE, reason);
        onRefused({ event: e, reason, message: err.message });
      }
    }
    return admitted;
  };
}
