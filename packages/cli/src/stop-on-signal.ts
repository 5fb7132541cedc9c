/**
 * SIGINT/SIGTERM close a server or role (what is in flight finishes); a second signal, or a close that hangs over
 * 5 s (a store or broker not answering), exits at once: every acknowledged event is durable already.
 */
export function stopOnSignal(close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.error(`citybrain: ${signal}, shutting down`);
    setTimeout(() => {
      console.error('citybrain: shutdown took over 5 s; exiting without waiting for it');
      process.exit(1);
    }, 5000).unref();
    await close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
