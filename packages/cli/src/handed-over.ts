import type { ControllerFault } from '@citybrain/control';

/**
 * A controller that lost intersections did not decide them: said beside its name, with where they went
 * (a controller error: the fixed-time plan; a gridlock: the supervisor's relief, max-pressure; a ring of loaded lanes:
 * the plan in step, until the ring clears; the perimeter gate: the plan in step at the perimeter, until the load falls; a red spilling back into a loop no signal
 * controls: max-pressure round the loop, until an operator gives them back).
 */
export function handedOver(faults: readonly ControllerFault[], signalised: number, upTo = ''): string {
  const at = (kind: (k: ControllerFault['kind']) => boolean) => new Set(faults.filter((f) => kind(f.kind)).map((f) => f.intersection)).size;
  // a green the starvation guard ended hands nothing over: the controller keeps the intersection
  const all = at((k) => k !== 'starvation');
  if (all === 0) return '';
  const errors = at((k) => k === 'error'), jammed = at((k) => k === 'gridlock' || k === 'deadlock'), ringed = at((k) => k === 'ring'), gated = at((k) => k === 'gate'), looped = at((k) => k === 'loop');
  const where = [
    errors ? `${errors} to the fixed-time plan` : '',
    jammed ? `${jammed} to max-pressure after a gridlock` : '',
    ringed ? `${ringed} to the plan in step while a ring of loaded lanes stood` : '',
    gated ? `${gated} on the perimeter to the plan in step while the network stood past its critical load` : '',
    looped ? `${looped} round a loop no signal controls to max-pressure after a red spilled back into it` : '',
  ].filter(Boolean).join(', ');
  return ` (handed over at ${upTo}${all} of ${signalised} intersections: ${where})`;
}
