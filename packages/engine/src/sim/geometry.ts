/** Polyline helpers shared by the network compiler and position queries. */

const EPS = 1e-8;

/** -1, 0 or 1 with CityFlow's tolerance, so cross detection matches its results. */
export function sign(x: number): number {
  return (x + EPS > 0 ? 1 : 0) - (x < EPS ? 1 : 0);
}

/**
 * A vector's length as CityFlow's Point::len computes it: sqrt(x² + y²). Math.hypot rounds
 * differently in the last bit, and on a congested network one bit in a laneLink's length
 * grows into other vehicles going first, so every length here is taken this way.
 */
export function len2(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

export function polylineLength(points: readonly XY[]): number {
  let len = 0;
  for (let i = 0; i + 1 < points.length; i++) len += len2(points[i + 1].x - points[i].x, points[i + 1].y - points[i].y);
  return len;
}

export interface XY {
  x: number;
  y: number;
}

/** Point at `dis` metres along a polyline given as plain points. */
export function pointAlong(points: readonly XY[], dis: number): XY {
  if (dis <= 0) return points[0];
  for (let i = 1; i < points.length; i++) {
    const len = len2(points[i].x - points[i - 1].x, points[i].y - points[i - 1].y);
    if (dis > len) dis -= len;
    else {
      const a = len === 0 ? 0 : dis / len;
      return { x: points[i - 1].x + (points[i].x - points[i - 1].x) * a, y: points[i - 1].y + (points[i].y - points[i - 1].y) * a };
    }
  }
  return points[points.length - 1];
}

export function directionAlong(points: readonly XY[], dis: number): XY {
  let remain = dis;
  for (let i = 0; i + 1 < points.length; i++) {
    const dx = points[i + 1].x - points[i].x;
    const dy = points[i + 1].y - points[i].y;
    const len = len2(dx, dy);
    if (remain < len) return { x: dx / len, y: dy / len };
    remain -= len;
  }
  const n = points.length;
  const dx = points[n - 1].x - points[n - 2].x;
  const dy = points[n - 1].y - points[n - 2].y;
  const len = len2(dx, dy) || 1;
  return { x: dx / len, y: dy / len };
}

/**
 * Lane centre lines from a road polyline, as CityFlow builds them: the road's
 * ends are pulled back by the width of non-virtual end intersections, and lane
 * k is offset to the right by the widths of lanes 0..k-1 plus half its own.
 */
export function lanePolylines(
  roadPoints: readonly XY[],
  laneWidths: readonly number[],
  trimStart: number,
  trimEnd: number,
): XY[][] {
  const pts = roadPoints.map((p) => ({ x: p.x, y: p.y }));
  const n = pts.length;
  if (trimStart > 0) {
    const u = unit(pts[1].x - pts[0].x, pts[1].y - pts[0].y);
    pts[0] = { x: pts[0].x + u.x * trimStart, y: pts[0].y + u.y * trimStart };
  }
  if (trimEnd > 0) {
    const u = unit(pts[n - 1].x - pts[n - 2].x, pts[n - 1].y - pts[n - 2].y);
    pts[n - 1] = { x: pts[n - 1].x - u.x * trimEnd, y: pts[n - 1].y - u.y * trimEnd };
  }
  const out: XY[][] = [];
  let dsum = 0;
  for (const w of laneWidths) {
    const off = (dsum + (dsum + w)) / 2; // CityFlow's (dmin + dmax) / 2, which can round otherwise than dsum + w / 2
    const lane: XY[] = [];
    for (let j = 0; j < n; j++) {
      let u: XY;
      if (j === 0) u = unit(pts[1].x - pts[0].x, pts[1].y - pts[0].y);
      else if (j === n - 1) u = unit(pts[j].x - pts[j - 1].x, pts[j].y - pts[j - 1].y);
      else {
        const u1 = unit(pts[j + 1].x - pts[j].x, pts[j + 1].y - pts[j].y);
        const u2 = unit(pts[j].x - pts[j - 1].x, pts[j].y - pts[j - 1].y);
        u = unit(u1.x + u2.x, u1.y + u2.y);
      }
      // right-hand normal of the direction of travel
      lane.push({ x: pts[j].x + u.y * off, y: pts[j].y - u.x * off });
    }
    out.push(lane);
    dsum += w;
  }
  return out;
}

function unit(x: number, y: number): XY {
  const l = len2(x, y);
  return l === 0 ? { x: 0, y: 0 } : { x: x / l, y: y / l };
}

/** CityFlow's default path through an intersection when a laneLink gives no points: a cubic Bezier. */
export function defaultLaneLinkCurve(
  start: XY,
  startDir: XY,
  end: XY,
  endDir: XY,
  startInterWidth: number,
  endInterWidth: number,
): XY[] {
  const len = len2(end.x - start.x, end.y - start.y);
  let g1x = startDir.x * len * 0.5;
  let g1y = startDir.y * len * 0.5;
  let g2x = -endDir.x * len * 0.5;
  let g2y = -endDir.y * len * 0.5;
  const minGap = 5;
  if (g1x * g1x + g1y * g1y < 25 && startInterWidth >= 5) {
    g1x = minGap * startDir.x;
    g1y = minGap * startDir.y;
  }
  if (g2x * g2x + g2y * g2y < 25 && endInterWidth >= 5) {
    g2x = minGap * endDir.x;
    g2y = minGap * endDir.y;
  }
  const m1 = { x: start.x + g1x, y: start.y + g1y };
  const m2 = { x: end.x + g2x, y: end.y + g2y };
  const lerp = (a: XY, b: XY, t: number): XY => ({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t });
  const pts: XY[] = [];
  for (let i = 0; i <= 10; i++) {
    const t = i / 10;
    const p1 = lerp(start, m1, t);
    const p2 = lerp(m1, m2, t);
    const p3 = lerp(m2, end, t);
    pts.push(lerp(lerp(p1, p2, t), lerp(p2, p3, t), t));
  }
  return pts;
}

/**
 * The first point where two polylines cross, scanning a's segments in order
 * (CityFlow's rule), as distances along each; null when they do not meet.
 * The polylines are points a0..a1 and b0..b1 of (xs, ys), and dis[p] is the
 * distance along its polyline at point p, summed segment by segment from its
 * first point as CityFlow sums it (polylineDistances): given, not summed here
 * again for each of the many pairs a laneLink is tested in.
 * Segment pairs whose boxes lie more than CROSS_MARGIN apart are skipped
 * before the exact test (CityFlow's onSegment, which accepts a point only
 * nanometres off a segment), and so is every segment of b at once when the
 * whole of b lies outside a segment's box: the same segment pairs reach the
 * exact test, so the results are the same.
 */
export function firstCrossing(
  xs: Float64Array, ys: Float64Array, dis: Float64Array, a0: number, a1: number, b0: number, b1: number,
): [number, number] | null {
  let bX0 = Infinity, bX1 = -Infinity, bY0 = Infinity, bY1 = -Infinity;
  for (let ib = b0; ib < b1; ib++) {
    const x = xs[ib], y = ys[ib];
    if (x < bX0) bX0 = x;
    if (x > bX1) bX1 = x;
    if (y < bY0) bY0 = y;
    if (y > bY1) bY1 = y;
  }
  for (let ia = a0; ia + 1 < a1; ia++) {
    const A1x = xs[ia], A1y = ys[ia], A2x = xs[ia + 1], A2y = ys[ia + 1];
    const aX0 = (A1x < A2x ? A1x : A2x) - CROSS_MARGIN, aX1 = (A1x < A2x ? A2x : A1x) + CROSS_MARGIN;
    const aY0 = (A1y < A2y ? A1y : A2y) - CROSS_MARGIN, aY1 = (A1y < A2y ? A2y : A1y) + CROSS_MARGIN;
    if (bX1 < aX0 || bX0 > aX1 || bY1 < aY0 || bY0 > aY1) continue; // every segment of b apart
    const dax = A2x - A1x, day = A2y - A1y;
    for (let ib = b0; ib + 1 < b1; ib++) {
      const B1x = xs[ib], B1y = ys[ib], B2x = xs[ib + 1], B2y = ys[ib + 1];
      const dbx = B2x - B1x, dby = B2y - B1y;
      const apart = (B1x < aX0 && B2x < aX0) || (B1x > aX1 && B2x > aX1) || (B1y < aY0 && B2y < aY0) || (B1y > aY1 && B2y > aY1);
      const den = dax * dby - day * dbx;
      if (!apart && sign(den) !== 0) {
        const t = ((B1x - A1x) * dby - (B1y - A1y) * dbx) / den;
        const px = A1x + dax * t, py = A1y + day * t;
        if (onSegment(A1x, A1y, A2x, A2y, px, py) && onSegment(B1x, B1y, B2x, B2y, px, py)) {
          return [dis[ia] + len2(px - A1x, py - A1y), dis[ib] + len2(px - B1x, py - B1y)];
        }
      }
    }
  }
  return null;
}

/**
 * Into dis[p0..p1): the distance along the polyline (xs, ys)[p0..p1) at each of its points,
 * the segments' lengths summed in order from 0 (so dis[p1 - 1] is polylineLength's sum).
 */
export function polylineDistances(xs: Float64Array, ys: Float64Array, p0: number, p1: number, dis: Float64Array): void {
  let sum = 0;
  for (let p = p0; p < p1; p++) {
    dis[p] = sum;
    if (p + 1 < p1) sum += len2(xs[p + 1] - xs[p], ys[p + 1] - ys[p]);
  }
}

/** metres: firstCrossing's box test's slack, far above what its exact test accepts */
const CROSS_MARGIN = 1;

/** CityFlow's onSegment: P on line AB (cross product 0) and between A and B (dot product of PA, PB not positive), within its 1e-8. */
function onSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  const v1 = (bx - ax) * (py - ay) - (by - ay) * (px - ax);
  const v2 = (px - ax) * (px - bx) + (py - ay) * (py - by);
  return sign(v1) === 0 && sign(v2) <= 0;
}

/** The eight compass points, as people name the side traffic comes from. */
export type Compass = 'N' | 'NE' | 'E' | 'SE' | 'S' | 'SW' | 'W' | 'NW';
const COMPASS: readonly Compass[] = ['E', 'NE', 'N', 'NW', 'W', 'SW', 'S', 'SE'];

/**
 * The compass point of the direction (dx, dy), y growing to the north, to
 * the nearest 45°. Traffic driving from A to B comes from compassOf(A - B).
 */
export function compassOf(dx: number, dy: number): Compass {
  const deg = (Math.atan2(dy, dx) * 180) / Math.PI;
  return COMPASS[((Math.round(deg / 45) % 8) + 8) % 8];
}
