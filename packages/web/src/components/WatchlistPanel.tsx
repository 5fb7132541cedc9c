import { useEffect, useMemo, useState } from 'react';
import { isMissing, useI18n, useSession } from '../context.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import { ErrorLine } from './ErrorLine.js';
import { useAcknowledge } from './useAcknowledge.js';
import { useLoadUntilDone } from '../retry.js';
import { intersectionName } from '../names.js';
import type { MessageKey } from '../i18n.js';
import type { NetworkView, Role, WatchlistAlertRecord, WatchlistRead } from '../types.js';

/** Who sees the watchlist (its alerts carry plates): the server's PLATE_ROLES. */
export const WATCHLIST_ROLES: readonly Role[] = ['police', 'operator'];

/** Alerts read from the server besides the live stream's newest. */
const LISTED = 50;

/** The alerts shown: the server's list and the live stream's newest, with the acknowledgements made here, newest first. */
export function watchlistBoard(listed: readonly WatchlistAlertRecord[], live: readonly WatchlistAlertRecord[], acks: ReadonlyMap<string, WatchlistAlertRecord>): WatchlistAlertRecord[] {
  const byId = new Map<string, WatchlistAlertRecord>();
  for (const a of [...listed, ...live]) {
    const had = byId.get(a.id);
    // an acknowledgement seen anywhere holds
    byId.set(a.id, had?.acknowledged && !a.acknowledged ? had : a);
  }
  for (const [id, a] of acks) if (byId.has(id)) byId.set(id, a);
  return [...byId.values()].sort((a, b) => b.ts - a.ts || (a.id < b.id ? -1 : 1));
}

function Evidence({ a, view }: { a: WatchlistAlertRecord; view: NetworkView }) {
  const { t, lang, num } = useI18n();
  const time = (ts: number) => new Date(ts).toLocaleTimeString(lang);
  const read = (r: WatchlistRead) => t('wlRead', { camera: r.camera, intersection: intersectionName(view, r.intersection), time: time(r.ts) });
  const al = a.alert;
  switch (al.kind) {
    case 'unregistered':
      return <><li>{read(al.evidence.read)}</li><li>{t('wlUnregistered', { n: num(al.evidence.registerSize, 0), c: al.evidence.maxConfusions })}</li></>;
    case 'wanted':
    case 'stolen':
      return (
        <>
          <li>{read(al.evidence.read)}</li>
          <li>{t('wlListed', { entry: al.evidence.entry })}{al.evidence.note ? ` (${al.evidence.note})` : ''}{al.evidence.confusions > 0 ? ` · ${t('wlConfusions', { c: al.evidence.confusions })}` : ''}</li>
        </>
      );
    case 'cloned':
      return (
        <>
          {al.evidence.reads.map((r, k) => <li key={k}>{r.plate} · {read(r)}</li>)}
          <li data-testid="wl-figures">{t('wlCloned', { metres: num(al.evidence.metres, 0), seconds: num(al.evidence.seconds, 1), kmh: num(al.evidence.impliedKmh, 0), max: num(al.evidence.maxKmh, 0) })}</li>
        </>
      );
    case 'illegal-taxi': {
      const e = al.evidence;
      return (
        <>
          <li data-testid="wl-figures">{t('wlTaxi', { n: e.qualifying, hours: num(e.windowSeconds / 3600, 1), min: e.minTrips, use: t(`wlUse_${e.use}` as MessageKey) })}</li>
          {e.trips.slice(-5).map((trip, k) => (
            <li key={k}>{t('wlTrip', { from: read(trip.from), to: intersectionName(view, trip.to.intersection), seconds: num(trip.seconds, 0), metres: num(trip.metres, 0) })}</li>
          ))}
        </>
      );
    }
  }
}

/**
 * The plate watchlist's alerts for the police and operators: newest first,
 * each with its kind, the plate as read, its evidence (the reads, the places
 * by name, the times, the figures compared) and its acknowledgement. New ones
 * arrive on the live stream (`watchlistAlerts`); older ones from the API.
 */
export function WatchlistPanel({ live, view }: { live: readonly WatchlistAlertRecord[]; view: NetworkView }) {
  const { api } = useSession();
  const { t } = useI18n();
  const [listed, setListed] = useState<WatchlistAlertRecord[] | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [missing, setMissing] = useState(false);
  const { acks, pending, ackError, acknowledge } = useAcknowledge((id: string) => api.acknowledgeWatchlistAlert(id), [api]);
  useLoadUntilDone(
    () => api.watchlistAlerts({ limit: LISTED }),
    (a) => (setListed(a), setError(null)),
    (e) => {
      if (isMissing(e)) {
        setMissing(true);
        return 'stop';
      }
      setError(errorInfo(e));
    },
    [api],
  );
  const board = useMemo(() => watchlistBoard(listed ?? [], live, acks), [listed, live, acks]);


  if (missing) {
    return (
      <div className="incidents watchlist">
        <h2>{t('watchlistTitle')}</h2>
        <p className="muted" data-testid="watchlist-unavailable">{t('watchlistUnavailable')}</p>
      </div>
    );
  }
  return (
    <div className="incidents watchlist" data-testid="watchlist">
      <h2>{t('watchlistTitle')}</h2>
      <p className="muted small">{t('watchlistHint')}</p>
      {error && <ErrorLine error={error} />}
      {listed === null && !error && <p className="muted">{t('loading')}</p>}
      {listed !== null && board.length === 0 && <p className="muted">{t('watchlistNone')}</p>}
      <ul className="incident-list">
        {board.map((a) => (
          <li key={a.id} className={`incident wl-alert ${a.acknowledged ? 'cleared' : 'active'}`} data-alert={a.id} data-kind={a.kind}>
            <div className="incident-main">
              <span className="incident-head">
                <i className="incident-dot" /> <b>{t(`wlKind_${a.kind}` as MessageKey)}</b> <span className="wl-plate" data-testid="wl-plate">{a.alert.plate}</span>
              </span>
              <ul className="muted small wl-evidence"><Evidence a={a} view={view} /></ul>
              {a.acknowledged
                ? <span className="incident-ack ok" data-testid="ack-state">{t('wlAcknowledged', { by: a.acknowledged.by })}</span>
                : <span className="incident-ack warn" data-testid="ack-state">{t('incidentUnacknowledged')}</span>}
            </div>
            {!a.acknowledged && (
              <button type="button" className="danger" name="acknowledge" disabled={pending.has(a.id)} onClick={() => void acknowledge(a.id)}>{t('acknowledge')}</button>
            )}
            {ackError?.id === a.id && <ErrorLine error={ackError.error} />}
          </li>
        ))}
      </ul>
    </div>
  );
}
