/**
 * The field process over MQTT, as INGESTION.md says a device reports: each
 * batch published QoS 1 to `{prefix}/devices/{device}/events` as
 * `{"token", "events"}` (taken once the broker acknowledges it), the plans
 * from `{prefix}/intersections/+/plan` (QoS 1), and the server's refusals
 * from each device's `{prefix}/devices/+/errors`, logged.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Event } from '@citybrain/brain';
import { connected, redactSecrets } from '@citybrain/server';
import { BatchRefused, RetryLater, type FieldTransport } from './loop.js';

export interface MqttTransportOptions {
  /** the broker, e.g. mqtt://127.0.0.1:1883 */
  url: string;
  /** device id -> its device token */
  tokens: Readonly<Record<string, string>>;
  /** topic prefix; default 'citybrain' (the server's) */
  topicPrefix?: string;
  /** default a random `citybrain-field-…` */
  clientId?: string;
  /** default 5000 */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
}

export class MqttTransport implements FieldTransport {
  readonly name: string;
  /** refusals the server published to the devices' errors topics */
  serverRefusals = 0;

  private constructor(private readonly client: MqttClient, private readonly prefix: string, private readonly opts: MqttTransportOptions) {
    this.name = `MQTT ${redactSecrets(opts.url)}`;
  }

  /** Connects (an Error naming the broker when it does not answer within the timeout). */
  static async connect(opts: MqttTransportOptions): Promise<MqttTransport> {
    const timeout = opts.connectTimeoutMs ?? 5000;
    const client = mqtt.connect(opts.url, {
      clientId: opts.clientId ?? `citybrain-field-${randomBytes(4).toString('hex')}`,
      protocolVersion: 5, clean: true, reconnectPeriod: 1000, connectTimeout: timeout,
    });
    try {
      await connected(client, timeout);
    } catch (e) {
      await client.endAsync(true);
      throw new Error(redactSecrets(`cannot connect to the MQTT broker ${opts.url}: ${(e as Error).message}`));
    }
    const self = new MqttTransport(client, opts.topicPrefix ?? 'citybrain', opts);
    client.on('error', (e) => opts.log?.(`field: MQTT: ${redactSecrets(e.message)}`));
    return self;
  }

  async send(device: string, events: readonly Event[]): Promise<void> {
    const token = this.opts.tokens[device];
    if (token === undefined) throw new BatchRefused(`no token for device "${device}"`);
    try {
      // resolves on the broker's PUBACK; while it is away mqtt.js holds the message and sends it on reconnection
      await this.client.publishAsync(`${this.prefix}/devices/${device}/events`, JSON.stringify({ token, events }), { qos: 1 });
    } catch (e) {
      throw new RetryLater(`MQTT publish failed: ${(e as Error).message}`);
    }
  }

  async startPlans(onPlan: (plan: unknown) => void): Promise<void> {
    const planTopic = new RegExp(`^${escape(this.prefix)}/intersections/[^/]+/plan$`);
    const errorTopic = new RegExp(`^${escape(this.prefix)}/devices/([^/]+)/errors$`);
    this.client.on('message', (topic, payload) => {
      if (planTopic.test(topic)) {
        let plan: unknown = payload.toString('utf8');
        try {
          plan = JSON.parse(plan as string);
        } catch {
          // not JSON: the controller refuses it as invalid, and it is logged
        }
        return onPlan(plan);
      }
      const device = errorTopic.exec(topic)?.[1];
      if (device !== undefined) {
        this.serverRefusals++;
        const r = (() => {
          try {
            return JSON.parse(payload.toString('utf8')) as { reason?: string; message?: string };
          } catch {
            return {};
          }
        })();
        this.opts.log?.(`field: ${device}: the server refused a batch (${r.reason ?? '?'}): ${r.message ?? payload.toString('utf8').slice(0, 200)}`);
      }
    });
    await this.client.subscribeAsync({ [`${this.prefix}/intersections/+/plan`]: { qos: 1 }, [`${this.prefix}/devices/+/errors`]: { qos: 1 } });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
