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

/**
 * Rules of the road beyond CityFlow's, as SUMO applies them. Not part of
 * CityFlow's files: a CityFlow scenario has none (CityFlow's own behaviour,
 * reproduced exactly), a SUMO one gets SUMO's defaults from its loader.
 */
export interface SimulationRules {
  /**
   * Junction blocking avoidance (SUMO's keep-clear, MSVehicle::checkRewindLinkLanes):
   * a vehicle enters a laneLink only when its exit lane has room for it (its
   * length and minimum gap) behind the last vehicle standing there, after the
   * vehicles moving behind that one, those already on laneLinks into the lane
   * and those ahead of it bound there, so none is left standing inside an
   * intersection across others' paths. Default false (CityFlow: the exit lane's
   * last vehicle is far enough on, or moving).
   */
  keepJunctionsClear?: boolean;
  /**
   * SUMO's --time-to-teleport, seconds: a vehicle standing (< 0.1 m/s) that
   * long, at the front of its lane or laneLink, is moved along its route to the
   * next lane with room at its start, or leaves the network at its route's end
   * if there is none; counted (Metrics.teleported). Undefined or 0: never.
   */
  timeToTeleport?: number;
}

/** A whole scenario: what the simulator needs to start. */
export interface Scenario {
  roadnet: RoadnetJson;
  flows: FlowFileJson;
  /** rules beyond CityFlow's (SUMO's); none: CityFlow's behaviour */
  rules?: SimulationRules;
}
