import { useI18n } from '../context.js';
import { cssColour, type ClusterBoard } from '../cluster.js';
import { regionName } from '../names.js';
import type { ErrorInfo } from '../server-errors.js';
import type { ClusterView } from '../types.js';
import { ErrorLine } from './ErrorLine.js';

const Swatch = ({ colour }: { colour: string }) => <i className="cluster-swatch" style={{ background: colour }} />;

/**
 * A cluster's brain workers (alive or not reporting, their regions, decision
 * ms per region, events per second, lag, last report) and its regions with
 * their owner, or "taking over" while no live worker holds them. The map
 * rings each intersection in its owner's colour meanwhile. Ages are on the
 * server's clock (its `at`), not this browser's.
 */
export function ClusterPanel({ view, board, error }: { view: ClusterView; board: ClusterBoard; error: ErrorInfo | null }) {
  const { t, num } = useI18n();
  const region = (id: string) => regionName(id, t);
  return (
    <div className="cluster" data-testid="cluster">
      <h2>{t('clusterTitle')}</h2>
      <p className="muted small">{t('clusterHint')}{view.nats ? ` ${t('clusterNats', { url: view.nats })}` : ''}</p>
      {error && <ErrorLine error={error} />}
      <h3>{t('clusterWorkers')}</h3>
      {board.workers.length === 0 ? <p className="muted" data-testid="cluster-no-workers">{t('clusterNoWorkers')}</p> : (
        <table className="cluster-table" data-testid="cluster-workers">
          <thead>
            <tr><th>{t('clusterWorker')}</th><th>{t('clusterRegions')}</th><th>{t('clusterEventsPerSecond')}</th><th>{t('clusterLag')}</th><th>{t('clusterLastReport')}</th></tr>
          </thead>
          <tbody>
            {board.workers.map((w) => (
              <tr key={w.id} data-worker={w.id} data-alive={w.alive} className={w.alive ? '' : 'dead'}>
                <td>
                  <Swatch colour={cssColour(w.colour)} /> <b>{w.id}</b>{' '}
                  <span className={w.alive ? 'ok' : 'warn'} data-testid="worker-state">{t(w.alive ? 'clusterAlive' : 'clusterDead')}</span>
                </td>
                <td>
                  {w.regions.length === 0 ? <span className="muted">–</span> : w.alive ? w.regions.map((r) => (
                    <div key={r} data-region={r}>{region(r)}{w.decisionMs[r] !== undefined && <span className="muted"> · {t('clusterDecisionMs', { ms: num(w.decisionMs[r], 1) })}</span>}</div>
                  )) : (
                    // what it held when it last reported: no longer its own
                    <span className="muted" data-testid="worker-held">{t('clusterHeld', { regions: w.regions.map(region).join(t('listJoin')) })}</span>
                  )}
                </td>
                <td>{num(w.eventsPerSecond, 1)}</td>
                <td>{t('clusterSeconds', { s: num(w.lagSeconds, 1) })}</td>
                <td>{t('clusterAgo', { s: num(Math.max(0, (view.at - w.updatedAt) / 1000), 0) })}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{t('clusterRegions')}</h3>
      <table className="cluster-table" data-testid="cluster-regions">
        <thead>
          <tr><th>{t('clusterRegion')}</th><th>{t('clusterOwner')}</th><th>{t('clusterIntersections')}</th></tr>
        </thead>
        <tbody>
          {board.regions.map((r) => {
            const owner = r.owner === null ? undefined : board.workers.find((w) => w.id === r.owner);
            return (
              <tr key={r.id} data-region={r.id} data-owner={r.owner ?? ''} className={owner ? '' : 'taking-over'}>
                <td>{region(r.id)}</td>
                <td data-testid="region-owner">
                  {owner ? <><Swatch colour={cssColour(owner.colour)} /> {owner.id}</> : (
                    <span className="warn">{r.from ? t('clusterTakingOverFrom', { worker: r.from }) : t('clusterTakingOver')}</span>
                  )}
                </td>
                <td>{num(r.intersections.length, 0)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
