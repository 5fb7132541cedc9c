// being written by the helper working on the control issue
export function benchControl(_data: string, _json: boolean): void | Promise<void> {
  throw new Error('bench-control is not written yet');
}
