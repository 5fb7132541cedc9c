/**
 * Errors raised for bad scenario input. `where` names the file (or source label)
 * and the JSON path or XML element, so a user can find the problem:
 * `roadnet.json: roads[12].lanes[0].maxSpeed: expected a number, got "fast"`.
 */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    /** file or source label, e.g. "roadnet_4_4.json" */
    readonly source: string,
    /** JSON path (`roads[12].lanes[0]`) or XML element (`<edge id="e1">`); empty for the whole file */
    readonly path: string,
    /** what was expected or what is wrong */
    readonly problem: string,
  ) {
    // one line: a value quoted from the file may hold line breaks
    super(`${source}: ${path ? `${path}: ` : ''}${problem}`.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' '));
  }
}
