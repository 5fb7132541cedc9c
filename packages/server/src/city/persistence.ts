/** Operator state rows in the store: what audited actions set, restored on start (see restoreOperatorState). */
export const STATE_KEYS = {
  /** the controller an operator put in charge of an intersection (by intersection id) */
  controller: (intersection: string) => `controller:${intersection}`,
  /** { speed, running } as an operator set them */
  simulation: 'simulation',
  /** an incident's acknowledgement { by, ts }; keyed by id and detection time, as ids start over with a new city */
  acknowledgement: (inc: { id: string; detectedTs: number }) => `incident-ack:${inc.id}@${inc.detectedTs}`,
} as const;
