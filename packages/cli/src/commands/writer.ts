import { parseArgs } from 'node:util';
import { redactSecrets, StoreError } from '@citybrain/server';
import { ClusterStartError, startWriter, type RunningWriter } from '@citybrain/server/cluster';
import { streamArgs, streamOptions, streamOptionsHelp } from '../cluster-options.js';
import { intOption, UsageError } from '../usage.js';
import { stopOnSignal } from '../stop-on-signal.js';

export const writerHelp = `citybrain writer --nats URL --store URL [options]

A cluster's writer (README "Beyond one machine"): takes the device events the
gateways published to NATS JetStream and stores them, idempotently on (device, id).
Writers share one durable consumer ("writers"): run several and each message goes to
one of them; a message is acknowledged only after the store committed it, so a writer
that dies loses nothing (its messages go to another after the ack wait) and a
restarted one resumes where the group stood.

  --nats URL           NATS with JetStream, e.g. nats://127.0.0.1:4222 (several comma-separated)
  --store URL          postgres://USER@HOST:5432/DATABASE[?schema=NAME] (shared by the API servers),
                       or sqlite:PATH on one machine
  --batch N            messages fetched and committed together; default 256
  --max-ack-pending N  messages delivered to the writers and not yet acknowledged before the stream
                       holds back; default 4096
  --ack-wait MS        how long a writer may hold a message before it goes to another; default 30000
  --metrics-port P     serve Prometheus metrics (/metrics: stored, duplicates, id conflicts, poison
                       messages, lag) and /healthz on this port; default none
  --host H             the metrics' listen address; default 127.0.0.1
${streamOptionsHelp}`;

export async function writerCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nats: { type: 'string' }, store: { type: 'string' }, batch: { type: 'string' }, 'max-ack-pending': { type: 'string' },
      'ack-wait': { type: 'string' }, 'metrics-port': { type: 'string' }, host: { type: 'string' }, ...streamArgs, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(writerHelp);
  if (!values.nats) throw new UsageError('writer needs --nats URL (e.g. nats://127.0.0.1:4222)');
  if (!values.store) throw new UsageError('writer needs --store URL (postgres://USER@HOST:5432/DATABASE, or sqlite:PATH)');
  const batch = intOption(values.batch, 'batch', 256, 1, 10_000);
  let w: RunningWriter;
  try {
    w = await startWriter({
      natsUrl: values.nats, storeUrl: values.store, batch, maxAckPending: intOption(values['max-ack-pending'], 'max-ack-pending', Math.max(4096, batch), batch, 1_000_000),
      ackWaitMs: intOption(values['ack-wait'], 'ack-wait', 30_000, 1000, 3_600_000), stream: streamOptions(values),
      metricsPort: values['metrics-port'] === undefined ? undefined : intOption(values['metrics-port'], 'metrics-port', 0, 0, 65535), metricsHost: values.host,
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const usage = e instanceof ClusterStartError ? `--nats: ${err.message}`
      : e instanceof StoreError ? `--store: ${err.message}`
      : err.syscall === 'listen' ? `--metrics-port: cannot listen: ${err.message}`
      : e instanceof RangeError ? err.message : undefined;
    if (!usage) throw e;
    console.error(`citybrain: ${redactSecrets(usage)}`);
    process.exit(2);
  }
  console.error(`CityBrain writer: ${redactSecrets(values.nats)} -> ${w.store.backend}${w.metricsUrl ? ` (metrics ${w.metricsUrl}/metrics)` : ''}`);
  stopOnSignal(() => w.close());
}
