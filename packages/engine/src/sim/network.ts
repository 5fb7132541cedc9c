import type { RoadnetJson, RoadLinkType } from '../format/cityflow.js';
import { ScenarioError } from '../errors.js';
import { defaultLaneLinkCurve, directionAlong, firstCrossing, lanePolylines, pointAlong, polylineDistances, polylineLength, type XY } from './geometry.js';

/** Movement priority at conflict points, CityFlow's order: straight beats left beats right. */
export const LINK_PRIORITY: Record<RoadLinkType, number> = { turn_right: 1, turn_left: 2, go_straight: 3 };

/**
 * The immutable, compiled road network. Everything is an integer id into typed
 * arrays (struct of arrays); string ids exist only in the id tables.
 *
 * Drivables are lanes and laneLinks in one id space: lanes are 0..nLanes-1,
 * laneLinks nLanes..nDrivables-1 (grouped by intersection, then roadLink).
 * A vehicle always sits on exactly one drivable.
 */
export class Network {
  readonly roadIds: string[];
  /** each road's street name (RoadJson.name), null where the network gives none */
  readonly roadNames: (string | null)[];
  readonly roadIndex = new Map<string, number>();
  readonly roadStartInter: Int32Array;
  readonly roadEndInter: Int32Array;
  readonly roadFirstLane: Int32Array;
  readonly roadLaneCount: Int32Array;

  readonly interIds: string[];
  readonly interIndex = new Map<string, number>();
  readonly interVirtual: Uint8Array;
  readonly interX: Float64Array;
  readonly interY: Float64Array;
  readonly interWidth: Float64Array;
  /** CSR: roadLinks of intersection i are interRoadLinkStart[i]..interRoadLinkStart[i+1] */
  readonly interRoadLinkStart: Int32Array;
  /** CSR: laneLink drivable ids of intersection i are interLinkStart[i]..interLinkStart[i+1] */
  readonly interLinkStart: Int32Array;
  /** CSR into phaseTime / phaseAvailStart */
  readonly interPhaseStart: Int32Array;
  /** signalised: has at least two phases (CityFlow calls the rest implicit) */
  readonly signalised: Int32Array;

  readonly nLanes: number;
  readonly nLinks: number;
  readonly nDrivables: number;
  readonly length: Float64Array;
  readonly maxSpeed: Float64Array;
  readonly width: Float64Array;
  /** CSR of polyline points per drivable */
  readonly ptStart: Int32Array;
  readonly ptX: Float64Array;
  readonly ptY: Float64Array;

  readonly laneRoad: Int32Array;
  readonly laneIndexInRoad: Int32Array;
  /** CSR: laneLinks leaving lane l */
  readonly laneOutStart: Int32Array;
  readonly laneOutList: Int32Array;
  /** CSR: laneLinks entering lane l (what keeps a junction clear counts as committed to it) */
  readonly laneInStart: Int32Array;
  readonly laneInList: Int32Array;

  /** per laneLink, indexed by drivable id - nLanes */
  readonly linkStartLane: Int32Array;
  readonly linkEndLane: Int32Array;
  readonly linkRoadLink: Int32Array;
  readonly linkPriority: Uint8Array;
  /** CSR of crosses on each laneLink, sorted by distance along the link */
  readonly linkCrossStart: Int32Array;
  readonly linkCrossList: Int32Array;
  /** which side (0/1) of the cross this link is */
  readonly linkCrossSide: Uint8Array;

  readonly nCrosses: number;
  /** crossLink[2c + s]: drivable id of side s */
  readonly crossLink: Int32Array;
  /** crossDist[2c + s]: distance along side s's laneLink to the conflict point */
  readonly crossDist: Float64Array;

  readonly nRoadLinks: number;
  readonly roadLinkInter: Int32Array;
  readonly roadLinkStartRoad: Int32Array;
  readonly roadLinkEndRoad: Int32Array;
  readonly roadLinkType: Uint8Array;
  /** CSR: laneLink drivable ids of roadLink r */
  readonly roadLinkLinkStart: Int32Array;

  readonly nPhases: number;
  readonly phaseTime: Float64Array;
  /** phaseAvail[phaseAvailStart[p] + k]: roadLink k (local to the intersection) is green in phase p */
  readonly phaseAvailStart: Int32Array;
  readonly phaseAvail: Uint8Array;

  constructor(json: RoadnetJson, source = 'roadnet') {
    const roads = json.roads;
    const inters = json.intersections;
    const nRoads = roads.length;
    const nInter = inters.length;
    this.interIds = inters.map((i) => i.id);
    inters.forEach((it, i) => this.interIndex.set(it.id, i));
    this.interVirtual = Uint8Array.from(inters, (i) => (i.virtual ? 1 : 0));
    this.interX = Float64Array.from(inters, (i) => i.point.x);
    this.interY = Float64Array.from(inters, (i) => i.point.y);
    this.interWidth = Float64Array.from(inters, (i) => (i.virtual ? 0 : i.width ?? 0));

    this.roadIds = roads.map((r) => r.id);
    this.roadNames = roads.map((r) => r.name ?? null);
    roads.forEach((r, i) => this.roadIndex.set(r.id, i));
    const interOf = (id: string, i: number, key: string): number => {
      const k = this.interIndex.get(id);
      if (k === undefined) throw new ScenarioError(source, `roads[${i}].${key}`, `unknown intersection "${id}"`);
      return k;
    };
    this.roadStartInter = Int32Array.from(roads, (r, i) => interOf(r.startIntersection, i, 'startIntersection'));
    this.roadEndInter = Int32Array.from(roads, (r, i) => interOf(r.endIntersection, i, 'endIntersection'));
    this.roadFirstLane = new Int32Array(nRoads);
    this.roadLaneCount = new Int32Array(nRoads);

    // ---- lanes
    const { lanePts, laneRoad, laneIdx, laneSpeed, laneWidth } = layLanes(this, roads);
    const nLanes = lanePts.length;
    this.nLanes = nLanes;
    this.laneRoad = Int32Array.from(laneRoad);
    this.laneIndexInRoad = Int32Array.from(laneIdx);

    // ---- road links and lane links, grouped by intersection (each stage in a function of its own: one
    // constructor with every loop was OSR-compiled whole, once per hot loop, ~330 ms of TurboFan on a 36 x 36 grid)
    this.interRoadLinkStart = new Int32Array(nInter + 1);
    this.interLinkStart = new Int32Array(nInter + 1);
    this.interPhaseStart = new Int32Array(nInter + 1);
    const { linkPts, linkStart, linkEnd, linkRL, linkPrio, rlInter, rlStart, rlEnd, rlType, rlLinkStart, phaseTime, phaseAvailStart, phaseAvail, signalised } =
      linkIntersections(this, nLanes, inters, roads, source);
    this.signalised = Int32Array.from(signalised);

    const nLinks = linkPts.length;
    this.nLinks = nLinks;
    this.nDrivables = nLanes + nLinks;
    this.linkStartLane = Int32Array.from(linkStart);
    this.linkEndLane = Int32Array.from(linkEnd);
    this.linkRoadLink = Int32Array.from(linkRL);
    this.linkPriority = Uint8Array.from(linkPrio);
    this.nRoadLinks = rlInter.length;
    this.roadLinkInter = Int32Array.from(rlInter);
    this.roadLinkStartRoad = Int32Array.from(rlStart);
    this.roadLinkEndRoad = Int32Array.from(rlEnd);
    this.roadLinkType = Uint8Array.from(rlType);
    this.roadLinkLinkStart = Int32Array.from(rlLinkStart);
    this.nPhases = phaseTime.length;
    this.phaseTime = Float64Array.from(phaseTime);
    this.phaseAvailStart = Int32Array.from(phaseAvailStart);
    this.phaseAvail = Uint8Array.from(phaseAvail);

    // ---- drivable geometry
    const g = drivableGeometry(lanePts.concat(linkPts), nLanes, laneSpeed, laneWidth);
    this.ptStart = g.ptStart;
    this.ptX = g.ptX;
    this.ptY = g.ptY;
    this.length = g.length;
    this.maxSpeed = g.maxSpeed;
    this.width = g.width;

    // ---- lanes' outgoing laneLinks (CSR), in intersection/roadLink order as CityFlow registers them
    const outCount = new Int32Array(nLanes);
    for (let k = 0; k < nLinks; k++) outCount[linkStart[k]]++;
    this.laneOutStart = new Int32Array(nLanes + 1);
    for (let l = 0; l < nLanes; l++) this.laneOutStart[l + 1] = this.laneOutStart[l] + outCount[l];
    this.laneOutList = new Int32Array(nLinks);
    const fill = this.laneOutStart.slice(0, nLanes);
    for (let k = 0; k < nLinks; k++) this.laneOutList[fill[linkStart[k]]++] = nLanes + k;
    const inCount = new Int32Array(nLanes);
    for (let k = 0; k < nLinks; k++) inCount[this.linkEndLane[k]]++;
    this.laneInStart = new Int32Array(nLanes + 1);
    for (let l = 0; l < nLanes; l++) this.laneInStart[l + 1] = this.laneInStart[l] + inCount[l];
    this.laneInList = new Int32Array(nLinks);
    const fillIn = this.laneInStart.slice(0, nLanes);
    for (let k = 0; k < nLinks; k++) this.laneInList[fillIn[this.linkEndLane[k]]++] = nLanes + k;

    // ---- conflict points ("crosses") between laneLinks of the same intersection
    const cr = this.computeCrosses(inters.length);
    this.nCrosses = cr.n;
    this.crossLink = cr.link;
    this.crossDist = cr.dist;
    // per link, its crosses sorted by distance along it (CSR)
    const byLink = crossesByLink(cr.link, cr.dist, cr.n, nLinks, nLanes);
    this.linkCrossStart = byLink.start;
    this.linkCrossList = byLink.list;
    this.linkCrossSide = byLink.side;
  }

  /**
   * Every pair of laneLinks of an intersection that cross, with the distance
   * along each to the conflict point. Intersections with the same geometry
   * relative to their centre (every node of a grid) are computed once.
   */
  private computeCrosses(nInter: number): { n: number; link: Int32Array; dist: Float64Array } {
    const nLanes = this.nLanes;
    let link = new Int32Array(1024);
    let dist = new Float64Array(1024);
    let n = 0;
    type Crosses = { shape: Float64Array; a: Int32Array; b: Int32Array; da: Float64Array; db: Float64Array };
    // by shape hash; shapes compared value by value (no string key per intersection: a grid's would be megabytes)
    const cache = new Map<number, Crosses[]>();
    const shape = { v: new Float64Array(256), length: 0, hash: 0 };
    /** distance along its laneLink at each point (firstCrossing's), for the intersections computed */
    let dis: Float64Array | null = null;
    for (let i = 0; i < nInter; i++) {
      const d0 = this.interLinkStart[i];
      const d1 = this.interLinkStart[i + 1];
      if (d1 - d0 < 2) continue;
      this.shapeOf(i, d0, d1, shape);
      let bucket = cache.get(shape.hash);
      let hit = bucket?.find((c) => sameShape(c.shape, shape.v, shape.length));
      if (!hit) {
        const a: number[] = [], b: number[] = [], da: number[] = [], db: number[] = [];
        const bb = new Float64Array(4 * (d1 - d0));
        if (!dis) dis = new Float64Array(this.ptX.length);
        for (let d = d0; d < d1; d++) {
          polylineDistances(this.ptX, this.ptY, this.ptStart[d], this.ptStart[d + 1], dis);
          let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
          for (let p = this.ptStart[d]; p < this.ptStart[d + 1]; p++) {
            x0 = Math.min(x0, this.ptX[p]); x1 = Math.max(x1, this.ptX[p]);
            y0 = Math.min(y0, this.ptY[p]); y1 = Math.max(y1, this.ptY[p]);
          }
          const o = 4 * (d - d0);
          bb[o] = x0 - 1e-6;
          bb[o + 1] = x1 + 1e-6;
          bb[o + 2] = y0 - 1e-6;
          bb[o + 3] = y1 + 1e-6;
        }
        for (let p = d0; p < d1; p++) {
          for (let q = p + 1; q < d1; q++) {
            const P = 4 * (p - d0), Q = 4 * (q - d0);
            if (bb[P] > bb[Q + 1] || bb[Q] > bb[P + 1] || bb[P + 2] > bb[Q + 3] || bb[Q + 2] > bb[P + 3]) continue;
            const c = firstCrossing(this.ptX, this.ptY, dis, this.ptStart[p], this.ptStart[p + 1], this.ptStart[q], this.ptStart[q + 1]);
            if (!c) continue;
            a.push(p - d0); b.push(q - d0); da.push(c[0]); db.push(c[1]);
          }
        }
        hit = { shape: shape.v.slice(0, shape.length), a: Int32Array.from(a), b: Int32Array.from(b), da: Float64Array.from(da), db: Float64Array.from(db) };
        if (!bucket) cache.set(shape.hash, (bucket = []));
        bucket.push(hit);
      }
      while (2 * (n + hit.a.length) > link.length) {
        const l2 = new Int32Array(link.length * 2); l2.set(link); link = l2;
        const t2 = new Float64Array(dist.length * 2); t2.set(dist); dist = t2;
      }
      for (let k = 0; k < hit.a.length; k++) {
        link[2 * n] = d0 + hit.a[k];
        link[2 * n + 1] = d0 + hit.b[k];
        dist[2 * n] = hit.da[k];
        dist[2 * n + 1] = hit.db[k];
        n++;
      }
    }
    return { n, link: link.slice(0, 2 * n), dist: dist.slice(0, 2 * n) };
  }

  /**
   * The intersection's laneLink polylines relative to its centre, rounded to
   * 0.1 mm (each link's point count, then its points), into `out` (grown as
   * needed; the shape is out[0..length)), and a hash of them.
   */
  private shapeOf(i: number, d0: number, d1: number, out: { v: Float64Array; length: number; hash: number }): void {
    const cx = this.interX[i], cy = this.interY[i];
    const need = 2 * (this.ptStart[d1] - this.ptStart[d0]) + (d1 - d0);
    if (out.v.length < need) out.v = new Float64Array(2 * need);
    const v = out.v;
    let n = 0;
    let h = 0x811c9dc5;
    for (let d = d0; d < d1; d++) {
      v[n++] = this.ptStart[d + 1] - this.ptStart[d];
      for (let p = this.ptStart[d]; p < this.ptStart[d + 1]; p++) {
        v[n++] = Math.round((this.ptX[p] - cx) * 1e4);
        v[n++] = Math.round((this.ptY[p] - cy) * 1e4);
      }
    }
    // FNV-1a over the low 32 bits of each whole number (a hash: equal shapes are compared value by value)
    for (let k = 0; k < n; k++) h = Math.imul(h ^ (v[k] % 4294967296), 16777619);
    out.length = n;
    out.hash = h;
  }

  isLink(d: number): boolean {
    return d >= this.nLanes;
  }

  laneId(lane: number): string {
    return `${this.roadIds[this.laneRoad[lane]]}_${this.laneIndexInRoad[lane]}`;
  }

  private laneNumbers: Map<string, number> | null = null;

  /** Lane number by lane id (laneId's inverse), like roadIndex for roads; built on first use. */
  get laneIndex(): ReadonlyMap<string, number> {
    if (!this.laneNumbers) {
      this.laneNumbers = new Map();
      for (let l = 0; l < this.nLanes; l++) this.laneNumbers.set(this.laneId(l), l);
    }
    return this.laneNumbers;
  }

  /** Throws a RangeError naming `what` unless `lane` is a lane index. */
  checkLane(what: string, lane: number): void {
    const n = this.nLanes;
    if (!(Number.isInteger(lane) && lane >= 0 && lane < n)) throw new RangeError(`${what}: lane ${lane} is not a lane index (0..${n - 1})`);
  }

  /** Id of any drivable: a lane id, or `start->end` lane ids for a laneLink. */
  drivableId(d: number): string {
    if (d < this.nLanes) return this.laneId(d);
    const k = d - this.nLanes;
    return `${this.laneId(this.linkStartLane[k])}->${this.laneId(this.linkEndLane[k])}`;
  }

  /** Position (x, y) and heading (radians) at `dis` metres along drivable d, written into out[o..o+2]. */
  positionAt(d: number, dis: number, out: Float32Array | Float64Array, o: number): void {
    const s = this.ptStart[d], e = this.ptStart[d + 1];
    const xs = this.ptX, ys = this.ptY;
    let remain = dis < 0 ? 0 : dis;
    for (let p = s; p + 1 < e; p++) {
      const dx = xs[p + 1] - xs[p], dy = ys[p + 1] - ys[p];
      const len = Math.sqrt(dx * dx + dy * dy);
      if (remain <= len || p + 2 === e) {
        const a = len === 0 ? 0 : Math.min(remain / len, 1);
        out[o] = xs[p] + dx * a;
        out[o + 1] = ys[p] + dy * a;
        out[o + 2] = Math.atan2(dy, dx);
        return;
      }
      remain -= len;
    }
    out[o] = xs[s];
    out[o + 1] = ys[s];
    out[o + 2] = 0;
  }

  /** Lanes entering intersection i (distinct start lanes of its laneLinks). */
  incomingLanes(i: number): number[] {
    const set = new Set<number>();
    for (let d = this.interLinkStart[i]; d < this.interLinkStart[i + 1]; d++) set.add(this.linkStartLane[d - this.nLanes]);
    return [...set];
  }
}

/** Whether shape `a` is the first `n` values of `b`. */
function sameShape(a: Float64Array, b: Float64Array, n: number): boolean {
  if (a.length !== n) return false;
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** Network's lanes, road by road: their polylines, roads, indexes, speeds and widths; fills net's roadFirstLane and roadLaneCount. */
function layLanes(net: Network, roads: RoadnetJson['roads']) {
  const nRoads = roads.length;
  const lanePts: XY[][] = [];
  const laneRoad: number[] = [];
  const laneIdx: number[] = [];
  const laneSpeed: number[] = [];
  const laneWidth: number[] = [];
  for (let r = 0; r < nRoads; r++) {
    const road = roads[r];
    net.roadFirstLane[r] = lanePts.length;
    net.roadLaneCount[r] = road.lanes.length;
    const s = net.roadStartInter[r];
    const e = net.roadEndInter[r];
    const polys = lanePolylines(road.points, road.lanes.map((l) => l.width), net.interWidth[s], net.interWidth[e]);
    road.lanes.forEach((lane, k) => {
      lanePts.push(polys[k]);
      laneRoad.push(r);
      laneIdx.push(k);
      laneSpeed.push(lane.maxSpeed);
      laneWidth.push(lane.width);
    });
  }
  return { lanePts, laneRoad, laneIdx, laneSpeed, laneWidth };
}

/** Network's roadLinks, laneLinks (their polylines) and phases, grouped by intersection; fills net's inter*Start. */
function linkIntersections(net: Network, nLanes: number, inters: RoadnetJson['intersections'], roads: RoadnetJson['roads'], source: string) {
  const nInter = inters.length;
  const untrimmedLanes = new Map<number, XY[][]>();
  const untrimmed = (r: number): XY[][] => {
    let u = untrimmedLanes.get(r);
    if (!u) untrimmedLanes.set(r, (u = lanePolylines(roads[r].points, roads[r].lanes.map((l) => l.width), 0, 0)));
    return u;
  };
  const linkPts: XY[][] = [];
  const linkStart: number[] = [];
  const linkEnd: number[] = [];
  const linkRL: number[] = [];
  const linkPrio: number[] = [];
  const rlInter: number[] = [];
  const rlStart: number[] = [];
  const rlEnd: number[] = [];
  const rlType: number[] = [];
  const rlLinkStart: number[] = [];
  const phaseTime: number[] = [];
  const phaseAvailStart: number[] = [];
  const phaseAvail: number[] = [];
  const signalised: number[] = [];
  for (let i = 0; i < nInter; i++) {
    const it = inters[i];
    net.interRoadLinkStart[i] = rlInter.length;
    net.interLinkStart[i] = nLanes + linkPts.length;
    net.interPhaseStart[i] = phaseTime.length;
    if (it.virtual) continue;
    const rls = it.roadLinks ?? [];
    for (let k = 0; k < rls.length; k++) {
      const rl = rls[k];
      // the path only for an error: a string per roadLink was most of what this loop allocated
      const path = (): string => `intersections[${i}].roadLinks[${k}]`;
      const sr = net.roadIndex.get(rl.startRoad);
      const er = net.roadIndex.get(rl.endRoad);
      if (sr === undefined) throw new ScenarioError(source, `${path()}.startRoad`, `unknown road "${rl.startRoad}"`);
      if (er === undefined) throw new ScenarioError(source, `${path()}.endRoad`, `unknown road "${rl.endRoad}"`);
      const rlId = rlInter.length;
      rlInter.push(i);
      rlStart.push(sr);
      rlEnd.push(er);
      rlType.push(LINK_PRIORITY[rl.type]);
      rlLinkStart.push(nLanes + linkPts.length);
      const lls = rl.laneLinks;
      for (let m = 0; m < lls.length; m++) {
        const ll = lls[m];
        if (ll.startLaneIndex < 0 || ll.startLaneIndex >= net.roadLaneCount[sr])
          throw new ScenarioError(source, `${path()}.laneLinks[${m}].startLaneIndex`, `lane ${ll.startLaneIndex} out of range`);
        if (ll.endLaneIndex < 0 || ll.endLaneIndex >= net.roadLaneCount[er])
          throw new ScenarioError(source, `${path()}.laneLinks[${m}].endLaneIndex`, `lane ${ll.endLaneIndex} out of range`);
        const sl = net.roadFirstLane[sr] + ll.startLaneIndex;
        const el = net.roadFirstLane[er] + ll.endLaneIndex;
        let pts: XY[];
        if (ll.points && ll.points.length >= 2) pts = ll.points;
        else {
          // CityFlow builds the curve before it trims the lanes (the intersections' widths are not read
          // yet): from the untrimmed lane, back by the width. Our trimmed lane ends at the same point
          // but rounds otherwise, and one bit here changes who goes first once the network jams.
          const sp = untrimmed(sr)[ll.startLaneIndex];
          const ep = untrimmed(er)[ll.endLaneIndex];
          const ws = net.interWidth[net.roadEndInter[sr]];
          const we = net.interWidth[net.roadStartInter[er]];
          const sAt = polylineLength(sp) - ws;
          pts = defaultLaneLinkCurve(pointAlong(sp, sAt), directionAlong(sp, sAt), pointAlong(ep, we), directionAlong(ep, we), ws, we);
        }
        linkPts.push(pts);
        linkStart.push(sl);
        linkEnd.push(el);
        linkRL.push(rlId);
        linkPrio.push(LINK_PRIORITY[rl.type]);
      }
    }
    const phases = it.trafficLight?.lightphases ?? [];
    for (const ph of phases) {
      phaseTime.push(ph.time);
      phaseAvailStart.push(phaseAvail.length);
      const at = phaseAvail.length;
      for (let k = 0; k < rls.length; k++) phaseAvail.push(0);
      for (const a of ph.availableRoadLinks) phaseAvail[at + a] = 1;
    }
    if (phases.length === 0) {
      // no light: everything may go (an unsignalised junction)
      phaseTime.push(1e9);
      phaseAvailStart.push(phaseAvail.length);
      for (let k = 0; k < rls.length; k++) phaseAvail.push(1);
    }
    if (phases.length >= 2) signalised.push(i);
  }
  net.interRoadLinkStart[nInter] = rlInter.length;
  net.interLinkStart[nInter] = nLanes + linkPts.length;
  net.interPhaseStart[nInter] = phaseTime.length;
  rlLinkStart.push(nLanes + linkPts.length);
  return { linkPts, linkStart, linkEnd, linkRL, linkPrio, rlInter, rlStart, rlEnd, rlType, rlLinkStart, phaseTime, phaseAvailStart, phaseAvail, signalised };
}

/** Network's drivables' polylines as CSR columns, with their lengths, speeds and widths. */
function drivableGeometry(all: XY[][], nLanes: number, laneSpeed: number[], laneWidth: number[]) {
  const nD = all.length;
  const ptStart = new Int32Array(nD + 1);
  let nPts = 0;
  for (let d = 0; d < nD; d++) {
    ptStart[d] = nPts;
    nPts += all[d].length;
  }
  ptStart[nD] = nPts;
  const ptX = new Float64Array(nPts);
  const ptY = new Float64Array(nPts);
  const length = new Float64Array(nD);
  const maxSpeed = new Float64Array(nD);
  const width = new Float64Array(nD);
  for (let d = 0; d < nD; d++) {
    const o = ptStart[d];
    const pts = all[d];
    for (let k = 0; k < pts.length; k++) {
      ptX[o + k] = pts[k].x;
      ptY[o + k] = pts[k].y;
    }
    length[d] = polylineLength(all[d]);
    // laneLinks do not limit speed themselves (CityFlow: 10000); turns are limited by turnSpeed
    maxSpeed[d] = d < nLanes ? laneSpeed[d] : 10000;
    width[d] = d < nLanes ? laneWidth[d] : 4;
  }
  return { ptStart, ptX, ptY, length, maxSpeed, width };
}

/**
 * Network's crosses of each laneLink, sorted by distance along it (CSR: link k's are start[k]..start[k + 1]),
 * each as its cross and side. A function of its own, its loops on locals: a cross has two sides, millions on a big grid.
 */
function crossesByLink(link: Int32Array, dist: Float64Array, n: number, nLinks: number, nLanes: number) {
  const perLink = new Int32Array(nLinks + 1);
  for (let s2 = 0; s2 < 2 * n; s2++) perLink[link[s2] - nLanes + 1]++;
  for (let k = 0; k < nLinks; k++) perLink[k + 1] += perLink[k];
  const slots = new Int32Array(2 * n);
  const fillAt = perLink.slice(0, nLinks);
  for (let s2 = 0; s2 < 2 * n; s2++) slots[fillAt[link[s2] - nLanes]++] = s2;
  for (let k = 0; k < nLinks; k++) {
    const a = perLink[k], b = perLink[k + 1];
    // insertion sort: a link has few crosses
    for (let x = a + 1; x < b; x++) {
      const sv = slots[x];
      const dv = dist[sv];
      let y = x - 1;
      while (y >= a && dist[slots[y]] > dv) {
        slots[y + 1] = slots[y];
        y--;
      }
      slots[y + 1] = sv;
    }
  }
  const list = new Int32Array(2 * n);
  const side = new Uint8Array(2 * n);
  for (let x = 0; x < 2 * n; x++) {
    list[x] = slots[x] >> 1;
    side[x] = slots[x] & 1;
  }
  return { start: perLink, list, side };
}
