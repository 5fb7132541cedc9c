import { xorshift32 } from './random.js';

/** What a driver's phone app asks the city's parking service: a place near (x, y) for [from, to), epoch ms. */
export interface ParkingBooking {
  driver: string;
  x: number;
  y: number;
  from: number;
  to: number;
}

/**
 * A third-party parking app as the virtual city's drivers use it: it books
 * through the city's API (or the same path in-process) and answers the bay
 * reserved, or undefined when none was free. The street knows nothing else
 * of the brain.
 */
export interface ParkingApp {
  book(b: ParkingBooking): Promise<{ bay: string } | undefined>;
}

interface Driver {
  bay: number;
  arriveAt: number;
  leaveAt: number;
  noShow: boolean;
  parked: boolean;
}

export interface ParkingDriversOptions {
  /** bookings per hour per intersection with bays; default 2 */
  bookingsPerHour?: number;
  /** share of those who never come (their reservation expires); default 0.1 */
  noShowShare?: number;
  /** share of walk-in drivers who leave a bay marked reserved alone; default 0.9 */
  respectShare?: number;
}

/**
 * The virtual city's drivers who reserve ahead with an app: each books a
 * window a few minutes ahead near a kerbside, drives there, parks in the
 * bay the app gave (its sensor reports it, as any car's) and leaves near
 * the window's end; some never come. Walk-in drivers mostly keep out of a
 * bay marked reserved, some do not (the brain flags them). Its own random
 * stream: the rest of the street draws as without it. Not in snapshots: a
 * restarted street forgets its pending drivers.
 */
export class ParkingDrivers {
  private readonly drivers: Driver[] = [];
  private readonly byBay = new Map<string, number>();
  private rng: number;
  private seq = 0;
  private readonly rate: number;
  private readonly noShow: number;
  private readonly respect: number;
  /** bookings asked, booked, refused, failed; arrivals and departures of reserved drivers; no-shows */
  readonly stats = { asked: 0, booked: 0, refused: 0, failed: 0, arrived: 0, left: 0, noShows: 0, blocked: 0 };

  constructor(private readonly app: ParkingApp, private readonly areas: readonly { x: number; y: number }[], bays: readonly { id: string }[], seed: number, opts: ParkingDriversOptions = {}) {
    bays.forEach((b, k) => this.byBay.set(b.id, k));
    this.rng = (seed ^ 0x5bd1e995) >>> 0 || 1;
    this.rate = opts.bookingsPerHour ?? 2;
    this.noShow = opts.noShowShare ?? 0.1;
    this.respect = opts.respectShare ?? 0.9;
  }

  private random(): number {
    this.rng = xorshift32(this.rng);
    return this.rng / 4294967296;
  }

  /** New bookings this step (sent to the app; their answers come later). */
  book(ts: number, dt: number): void {
    for (const a of this.areas) {
      if (this.random() >= (this.rate / 3600) * dt) continue;
      const from = ts + Math.round((5 + this.random() * 15) * 60_000);
      const to = from + Math.round((30 + this.random() * 60) * 60_000);
      const noShow = this.random() < this.noShow;
      const jitter = (this.random() - 0.5) * 4 * 60_000;
      this.stats.asked++;
      this.app.book({ driver: `driver-${++this.seq}`, x: a.x, y: a.y, from, to }).then((r) => {
        const bay = r && this.byBay.get(r.bay);
        if (bay === undefined) return void this.stats.refused++;
        this.stats.booked++;
        this.drivers.push({ bay, arriveAt: from + jitter, leaveAt: to - Math.abs(jitter), noShow, parked: false });
      }, () => void this.stats.failed++);
    }
  }

  /** Whether bay `b` is taken by a reserved driver now (the street's walk-in model leaves it to them). */
  holds(b: number): boolean {
    return this.drivers.some((d) => d.bay === b && d.parked);
  }

  /** Whether a walk-in driver keeps out of free bay `b` at `ts` (marked reserved for a driver due within 30 min). */
  keepsOut(b: number, ts: number): boolean {
    return this.drivers.some((d) => d.bay === b && !d.parked && d.arriveAt - ts < 30 * 60_000) && this.random() < this.respect;
  }

  /**
   * Reserved drivers arriving and leaving at `ts`: `occupied(b)` says whether
   * bay b is taken, `set(b, occupied)` parks or frees it (its sensor reports).
   */
  move(ts: number, occupied: (b: number) => boolean, set: (b: number, occupied: boolean) => void): void {
    for (let k = this.drivers.length - 1; k >= 0; k--) {
      const d = this.drivers[k];
      if (!d.parked && ts >= d.arriveAt) {
        this.drivers.splice(k, 1);
        if (d.noShow) {
          this.stats.noShows++;
          continue;
        }
        // someone else is in the bay: the driver goes elsewhere (the brain has flagged the bay)
        if (occupied(d.bay)) {
          this.stats.blocked++;
          continue;
        }
        d.parked = true;
        this.stats.arrived++;
        set(d.bay, true);
        this.drivers.splice(k, 0, d);
      } else if (d.parked && ts >= d.leaveAt) {
        this.drivers.splice(k, 1);
        this.stats.left++;
        set(d.bay, false);
      }
    }
  }
}
