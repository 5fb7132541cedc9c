import { useI18n, useSession } from '../context.js';
import type { MessageKey } from '../i18n.js';
import type { EmergencyDispatch, EmergencyVehicle, Point } from '../types.js';
import type { ErrorInfo } from '../server-errors.js';
import { ErrorLine } from './ErrorLine.js';

export type PickMode = 'origin' | 'destination' | null;

export interface EmergencyPanelProps {
  pick: PickMode;
  picks: Point[];
  vehicles: EmergencyVehicle[];
  lastDispatch: EmergencyDispatch | null;
  unavailable: boolean;
  busy: boolean;
  error: ErrorInfo | null;
  onStartPick(): void;
  onCancelPick(): void;
  onDispatch(): void;
  onRecall(id: string): void;
}

const STATE_KEYS: Record<string, MessageKey> = { waiting: 'state_waiting', running: 'state_running' };
const STOP_KEYS: Record<string, MessageKey> = { ahead: 'stop_ahead', requested: 'stop_requested', yielding: 'stop_yielding', free: 'stop_free' };

export function EmergencyPanel(p: EmergencyPanelProps) {
  const { canOperate } = useSession();
  const { t, num } = useI18n();
  const fmtPoint = (q: Point) => `${num(q.x, 0)}, ${num(q.y, 0)} m`;
  return (
    <div className="emergency">
      <h2>{t('emergencyTitle')}</h2>
      {p.unavailable && <p className="muted">{t('notAvailable')}</p>}
      {!p.unavailable && !canOperate && <p className="muted readonly-note">{t('viewerCannotDispatch')}</p>}
      {!p.unavailable && canOperate && (
        <section className="dispatch">
          {p.pick === null && p.picks.length < 2 && (
            <button type="button" className="primary" name="pick-points" onClick={p.onStartPick}>{t('pickPoints')}</button>
          )}
          {p.pick && <p className="pick-hint" role="status">{t(p.pick === 'origin' ? 'pickOrigin' : 'pickDestination')}</p>}
          {p.picks.length > 0 && (
            <dl className="facts">
              <dt>{t('origin')}</dt>
              <dd data-testid="origin">{fmtPoint(p.picks[0])}</dd>
              {p.picks[1] && (
                <>
                  <dt>{t('destination')}</dt>
                  <dd data-testid="destination">{fmtPoint(p.picks[1])}</dd>
                </>
              )}
            </dl>
          )}
          {(p.pick || p.picks.length > 0) && (
            <div className="row">
              {p.picks.length === 2 && (
                <button type="button" className="danger" name="dispatch" disabled={p.busy} onClick={p.onDispatch}>{t('dispatch')}</button>
              )}
              <button type="button" onClick={p.onCancelPick}>{t('cancel')}</button>
            </div>
          )}
          {p.error && <ErrorLine error={p.error} />}
        </section>
      )}
      {p.lastDispatch && (
        <section className="last-dispatch" data-testid="last-dispatch">
          <p className="ok">{t('dispatched', { id: p.lastDispatch.id, eta: p.lastDispatch.eta === null ? '–' : num(p.lastDispatch.eta, 0) })}</p>
          <p className="muted">{p.lastDispatch.route.length === 1 ? t('routeRoad') : t('routeRoads', { n: p.lastDispatch.route.length })}</p>
          <h3>{t('corridor')}</h3>
          <ol className="corridor" data-testid="corridor">
            {p.lastDispatch.corridor.map((c) => (
              <li key={c.intersection}>{t('corridorStep', { intersection: c.intersection, phase: c.phase })}</li>
            ))}
          </ol>
        </section>
      )}
      {!p.unavailable && (
        <section>
          <h3>{t('activeVehicles')}</h3>
          {p.vehicles.length === 0 && <p className="muted">{t('noneActive')}</p>}
          <table className="vehicles-table">
            <tbody>
              {p.vehicles.map((v) => {
                const next = v.corridor[0];
                return (
                  <tr key={v.id} data-vehicle={v.id}>
                    <td><b>{v.id}</b></td>
                    <td>
                      {STATE_KEYS[v.state] ? t(STATE_KEYS[v.state]) : v.state}
                      {next && (
                        <div className="muted small">
                          {t('nextStop', { intersection: next.intersection, state: next.state && STOP_KEYS[next.state] ? t(STOP_KEYS[next.state]) : t('phaseN', { n: next.phase }) })}
                        </div>
                      )}
                    </td>
                    <td>{t('eta')}: <span className="eta">{t('etaSeconds', { eta: num(v.eta, 0) })}</span></td>
                    <td>{canOperate && <button type="button" onClick={() => p.onRecall(v.id)}>{t('recall')}</button>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
