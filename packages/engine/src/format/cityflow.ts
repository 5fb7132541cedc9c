/**
 * The CityFlow scenario format (roadnet + flow JSON), the lingua franca of the
 * traffic-signal-control literature. Every loader (CityFlow JSON, SUMO XML,
 * the grid generator) produces these plain objects; the simulator compiles
 * them into its typed-array network.
 *
 * Field names follow CityFlow's "Roadnet File Format" and "Flow File Format".
 */

export interface Point {
  x: number;
  y: number;
}

export interface LaneJson {
  /** metres */
  width: number;
  /** metres per second */
  maxSpeed: number;
}

export interface RoadJson {
  id: string;
  /** the street's name where the source has one (SUMO's edge `name`, from OSM's); CityFlow ignores it */
  name?: string;
  /** polyline from start to end intersection, at least two points */
  points: Point[];
  /** index 0 is the innermost (leftmost, next to the centre line) lane */
  lanes: LaneJson[];
  startIntersection: string;
  endIntersection: string;
}

export type RoadLinkType = 'go_straight' | 'turn_left' | 'turn_right';

export interface LaneLinkJson {
  startLaneIndex: number;
  endLaneIndex: number;
  /** the path through the intersection; when empty, a Bezier curve is derived as CityFlow does */
  points: Point[];
}

export interface RoadLinkJson {
  type: RoadLinkType;
  startRoad: string;
  endRoad: string;
  /** CityFlow's direction code; informative only */
  direction?: number;
  laneLinks: LaneLinkJson[];
}

export interface LightPhaseJson {
  /** seconds the phase lasts when the built-in plan cycles */
  time: number;
  /** indexes into the intersection's roadLinks that have green in this phase */
  availableRoadLinks: number[];
}

export interface TrafficLightJson {
  roadLinkIndices?: number[];
  lightphases: LightPhaseJson[];
}

export interface IntersectionJson {
  id: string;
  point: Point;
  /** metres; the lanes of connected roads stop this far from `point` */
  width: number;
  roads: string[];
  roadLinks: RoadLinkJson[];
  trafficLight: TrafficLightJson;
  /** a virtual intersection is a network boundary: no signal, no links (the CityFlow loader ignores any it has, as CityFlow does) */
  virtual: boolean;
}

export interface RoadnetJson {
  intersections: IntersectionJson[];
  roads: RoadJson[];
}

export interface VehicleJson {
  length: number;
  width: number;
  maxPosAcc: number;
  maxNegAcc: number;
  usualPosAcc: number;
  usualNegAcc: number;
  minGap: number;
  maxSpeed: number;
  headwayTime: number;
}

export interface FlowJson {
  vehicle: VehicleJson;
  /**
   * road ids from origin to destination, consecutive roads connected by a roadLink
   * (the CityFlow loader fills in the roads between a file's anchor roads, as
   * CityFlow's router does). Empty: a flow CityFlow drops (its route cannot be
   * driven); it generates no vehicle, and is kept so later flows keep their index.
   */
  route: string[];
  /** seconds between two vehicles of this flow */
  interval: number;
  /** seconds; default 0 */
  startTime: number;
  /** seconds, inclusive; -1 means no end */
  endTime: number;
}

export type FlowFileJson = FlowJson[];

/** A whole scenario: what the simulator needs to start. */
export interface Scenario {
  roadnet: RoadnetJson;
  flows: FlowFileJson;
}
