import { useEffect, useState } from 'react';
import { errorInfo, type ErrorInfo } from '../server-errors.js';

/**
 * Acknowledging alerts from a panel (incidents, watchlist hits): the server's
 * answers kept until the live stream carries them, the ones in flight, and the
 * last refusal with the id it was for. The answers are forgotten when `reset`
 * changes (another server, a restarted city).
 */
export function useAcknowledge<T>(send: (id: string) => Promise<T>, reset: readonly unknown[]) {
  const [acks, setAcks] = useState<ReadonlyMap<string, T>>(new Map());
  const [pending, setPending] = useState<ReadonlySet<string>>(new Set());
  const [ackError, setAckError] = useState<{ id: string; error: ErrorInfo } | null>(null);
  // the caller names what forgets the answers
  useEffect(() => setAcks(new Map()), reset);
  const acknowledge = async (id: string) => {
    setPending((s) => new Set(s).add(id));
    setAckError(null);
    try {
      const answer = await send(id);
      setAcks((m) => new Map(m).set(id, answer));
    } catch (e) {
      setAckError({ id, error: errorInfo(e) });
    } finally {
      setPending((s) => {
        const next = new Set(s);
        next.delete(id);
        return next;
      });
    }
  };
  return { acks, pending, ackError, acknowledge };
}
