import type { Principal } from '../auth.js';
import { HttpError } from '../errors.js';
import type { Event } from '@citybrain/brain';
import type { IngestPipeline, RejectReason } from '../ingest.js';
import type { FieldDevice } from '@citybrain/field';

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
    intersections: new Set(d.intersections), bays: new Set(d.bays), vehicles: new Set(d.vehicles ?? []),
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
 * Each device's events of a call are admitted as one batch; when a batch is
 * refused, its events are admitted one by one, so a bad one costs only itself
 * (and its message names it as events[0]). The events keep their order. A
 * refusal is a bug of the virtual city: it is counted
 * (citybrain_ingest_rejected_total, source virtual-city) and handed to
 * `onRefused` (the server logs it as an error); the rest go on. Errors other
 * than a refusal (the pipeline not open yet) are thrown.
 *
 * `lookup` finds the devices that come and go (an emergency vehicle's AVL
 * unit, VirtualCity.device): one not in `devices` is admitted under the
 * scope it gives, and unknown otherwise.
 */
export function fieldAdmission(
  pipeline: IngestPipeline, devices: readonly FieldDevice[], onRefused: (r: FieldRefusal) => void, lookup?: (device: string) => FieldDevice | undefined,
): (events: readonly Event[]) => Event[] {
  const principals = new Map(devices.map((d) => [d.device, fieldPrincipal(d)]));
  const principalOf = (device: string): Principal | undefined => {
    const known = principals.get(device);
    if (known || !lookup) return known;
    const d = lookup(device);
    // a unit's scope does not change while it reports (one vehicle): kept once found
    if (d) principals.set(device, fieldPrincipal(d));
    return d && principals.get(device);
  };
  /** the admitted event, or why not (an HttpError); other errors are thrown */
  const admit = (p: Principal | undefined, device: string, batch: Event[]): Event[] => {
    if (!p) throw new HttpError('CB_OUT_OF_SCOPE', `events[0].device: "${device}" is not a device of the virtual city`);
    return pipeline.admit(p, { events: batch }, 'simulated');
  };
  return (events) => {
    const byDevice = new Map<string, number[]>();
    for (let i = 0; i < events.length; i++) {
      const list = byDevice.get(events[i].device);
      if (list) list.push(i);
      else byDevice.set(events[i].device, [i]);
    }
    const admitted: (Event | undefined)[] = new Array(events.length);
    for (const [device, idx] of byDevice) {
      const p = principalOf(device);
      try {
        const ok = admit(p, device, idx.map((i) => events[i]));
        idx.forEach((i, j) => (admitted[i] = ok[j]));
        continue;
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
      }
      for (const i of idx) {
        try {
          admitted[i] = admit(p, device, [events[i]])[0];
        } catch (err) {
          if (!(err instanceof HttpError)) throw err;
          const reason: RejectReason = err.statusCode === 403 ? 'forbidden' : 'invalid';
          pipeline.reject(FIELD_SOURCE, reason);
          onRefused({ event: events[i], reason, message: err.message });
        }
      }
    }
    return admitted.filter((e): e is Event => e !== undefined);
  };
}
