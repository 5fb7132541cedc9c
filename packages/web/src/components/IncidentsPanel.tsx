import { useEffect, useMemo, useState } from 'react';
import { formatClock, isMissing, useI18n, useSession } from '../context.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import { ErrorLine } from './ErrorLine.js';
import { useAcknowledge } from './useAcknowledge.js';
import { useLoadUntilDone } from '../retry.js';
import {
  CLEARED_SHOWN, acknowledgerName, activeSetKey, blockedSeconds, formatDuration, incidentBoard, responseSeconds,
} from '../incidents.js';
import { intersectionName, laneName } from '../names.js';
import type { Incident, NetworkView } from '../types.js';

export interface IncidentsPanelProps {
  /** the incidents not cleared yet (live) */
  active: Incident[];
  /** simulated time now */
  now: number;
  /** changes when the server's city started over: its history is another */
  epoch: number;
  unavailable: boolean;
  /** why the active incidents could not be read, if they could not */
  error: ErrorInfo | null;
  selected: string | null;
  onSelect(incident: Incident): void;
  /** the network, to name lanes by their approach */
  view: NetworkView;
}

/** The cleared incidents from the server, read again whenever an incident is detected or cleared. */
function useClearedHistory(activeKey: string, epoch: number) {
  const { api } = useSession();
  const [history, setHistory] = useState<Incident[] | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [missing, setMissing] = useState(false);
  useLoadUntilDone(
    () => api.incidents({ status: 'cleared', limit: CLEARED_SHOWN }),
    (h) => (setHistory(h), setError(null)),
    (e) => {
      if (isMissing(e)) {
        setMissing(true);
        return 'stop';
      }
      setError(errorInfo(e));
    },
    [api, activeKey, epoch],
  );
  return { history, error, missing };
}

function Acknowledgement({ incident }: { incident: Incident }) {
  const { t } = useI18n();
  const ack = incident.acknowledged;
  if (!ack) return <span className="incident-ack warn" data-testid="ack-state">{t('incidentUnacknowledged')}</span>;
  return (
    <span className="incident-ack ok" data-testid="ack-state">
      {t('incidentAcknowledged', { by: acknowledgerName(ack.by), s: responseSeconds(incident) ?? 0 })}
    </span>
  );
}

interface ItemProps {
  incident: Incident;
  view: NetworkView;
  now: number;
  selected: boolean;
  onSelect(): void;
  /** operators only: the acknowledge button and its state */
  acknowledge?: { busy: boolean; error: ErrorInfo | null; onClick(): void };
}

function IncidentItem({ incident: inc, view, now, selected, onSelect, acknowledge }: ItemProps) {
  const { t } = useI18n();
  const active = inc.status === 'active';
  const blocked = formatDuration(blockedSeconds(inc, now));
  return (
    <li className={`incident ${inc.status}${selected ? ' selected' : ''}`} data-incident={inc.id} data-lane={inc.lane}>
      <button type="button" className="incident-main" aria-pressed={selected} onClick={onSelect}>
        <span className="incident-head">
          <i className="incident-dot" /> <b>{t('incidentLane', { lane: laneName(view, inc.lane, t) })}</b> <small className="muted">{inc.lane}</small>
        </span>
        <span className="muted">{t('incidentAt', { intersection: intersectionName(view, inc.intersection) })}</span>
        <span data-testid="incident-time">
          {active
            ? <>{t('incidentBlockedFor', { duration: blocked })} · {t('incidentSince', { time: formatClock(inc.since) })}</>
            : t('incidentClearedAt', { time: formatClock(inc.clearedAt ?? now), duration: blocked })}
        </span>
        <span className="muted small">{t('incidentEvidence', { green: inc.evidence.greenSeconds, queue: inc.evidence.queue })}</span>
        <Acknowledgement incident={inc} />
      </button>
      {acknowledge && !inc.acknowledged && (
        <button type="button" className="danger" name="acknowledge" disabled={acknowledge.busy} onClick={acknowledge.onClick}>{t('acknowledge')}</button>
      )}
      {acknowledge?.error && <ErrorLine error={acknowledge.error} />}
    </li>
  );
}

export function IncidentsPanel(p: IncidentsPanelProps) {
  const { api, canOperate } = useSession();
  const { t } = useI18n();
  const history = useClearedHistory(activeSetKey(p.active), p.epoch);
  // the server's answers to acknowledgements sent from here, until the stream carries them
  const { acks, pending, ackError, acknowledge } = useAcknowledge((id: string) => api.acknowledgeIncident(id), [api, p.epoch]);
  const board = useMemo(() => incidentBoard(p.active, history.history ?? [], acks), [p.active, history.history, acks]);


  if (p.unavailable) {
    return (
      <div className="incidents">
        <h2>{t('incidentsTitle')}</h2>
        <p className="muted">{t('notAvailable')}</p>
      </div>
    );
  }
  return (
    <div className="incidents">
      <h2>{t('incidentsTitle')}</h2>
      <p className="muted small">{t('incidentsHint')}</p>
      {!canOperate && <p className="muted readonly-note">{t('viewerCannotAcknowledge')}</p>}
      <section data-testid="incidents-active">
        <h3>{t('incidentsActive')} ({board.active.length})</h3>
        {p.error && <ErrorLine error={p.error} />}
        {board.active.length === 0 && <p className="muted">{t('noActiveIncidents')}</p>}
        <ul className="incident-list">
          {board.active.map((inc) => (
            <IncidentItem
              key={inc.id} incident={inc} view={p.view} now={p.now} selected={inc.id === p.selected} onSelect={() => p.onSelect(inc)}
              acknowledge={canOperate ? { busy: pending.has(inc.id), error: ackError?.id === inc.id ? ackError.error : null, onClick: () => void acknowledge(inc.id) } : undefined}
            />
          ))}
        </ul>
      </section>
      {!history.missing && (
        <section data-testid="incidents-cleared">
          <h3>{t('incidentsCleared')}</h3>
          {history.error && <ErrorLine error={history.error} />}
          {history.history === null && !history.error && <p className="muted">{t('loading')}</p>}
          {history.history !== null && board.cleared.length === 0 && <p className="muted">{t('noClearedIncidents')}</p>}
          <ul className="incident-list">
            {board.cleared.map((inc) => (
              <IncidentItem key={inc.id} incident={inc} view={p.view} now={p.now} selected={inc.id === p.selected} onSelect={() => p.onSelect(inc)} />
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
