/**
 * Plans out over MQTT: each signed plan to `{prefix}/intersections/{id}/plan`
 * (the id percent-encoded, as SPaT's: an imported junction's id may hold
 * MQTT's / + #), QoS 1 so the broker acknowledges every plan, not retained: a
 * controller that connects late must not obey a stale plan (it runs its local
 * plan until a fresh one comes). While the broker is away mqtt.js queues the
 * plans and sends them on reconnection; the controller refuses any its seq
 * has passed.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Plan, PlanBoard } from '@citybrain/brain';
import { redactSecrets } from '../redact.js';
import { connected } from '../mqtt.js';

export interface PlanPublisherOptions {
  /** topic prefix; default 'citybrain' */
  topicPrefix?: string;
}

/** The topic a plan of `intersection` goes to. */
export function planTopic(intersection: string, topicPrefix = 'citybrain'): string {
  return `${topicPrefix}/intersections/${encodeURIComponent(intersection)}/plan`;
}

export class PlanPublisher {
  private readonly prefix: string;

  /** Over a connected client (e.g. MqttIngest's); `owns`: close ends it. */
  constructor(readonly client: MqttClient, opts: PlanPublisherOptions = {}, private readonly owns = false) {
    this.prefix = opts.topicPrefix ?? 'citybrain';
  }

  /** Connects a client of its own to the broker at `url` (e.g. mqtt://127.0.0.1:1883). */
  static async connect(url: string, opts: PlanPublisherOptions & { clientId?: string; username?: string; password?: string; connectTimeoutMs?: number } = {}): Promise<PlanPublisher> {
    const timeout = opts.connectTimeoutMs ?? 5000;
    const client = mqtt.connect(url, { clientId: opts.clientId, username: opts.username, password: opts.password, protocolVersion: 5, reconnectPeriod: 1000, connectTimeout: timeout });
    try {
      await connected(client, timeout);
    } catch (e) {
      await client.endAsync(true);
      throw new Error(redactSecrets(`cannot publish plans to ${url}: ${(e as Error).message}`));
    }
    return new PlanPublisher(client, opts, true);
  }

  /** Publishes one signed plan, QoS 1, not retained; resolves when the broker acknowledged it. */
  async publish(plan: Plan): Promise<void> {
    await this.client.publishAsync(planTopic(plan.intersection, this.prefix), JSON.stringify(plan), { qos: 1, retain: false });
  }

  async close(): Promise<void> {
    if (this.owns) await this.client.endAsync();
  }
}

/**
 * Every plan `board` publishes from now on, out over MQTT through `out` (serve
 * and a cluster's brain worker wire their board so); a plan the broker did
 * not take is told to `failed` (the next plan, at most a second later, goes
 * anyway). Returns the unsubscribe function.
 */
export function publishBoardPlans(board: PlanBoard, out: PlanPublisher, failed: (e: unknown, plan: Plan) => void): () => void {
  return board.onPlan((plan) => {
    out.publish(plan).catch((e: unknown) => failed(e, plan));
  });
}
