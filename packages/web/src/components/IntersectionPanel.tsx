import { useEffect, useState } from 'react';
import { formatClock, useI18n, useSession } from '../context.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import { ErrorLine } from './ErrorLine.js';
import { css, phaseColour } from '../map/geometry.js';
import type { IntersectionDetail, NetworkView } from '../types.js';
import { approachName, intersectionName, phaseName, regionName } from '../names.js';

const TIMELINE_SECONDS = 300;

function PhaseTimeline({ detail, yellow, view }: { detail: IntersectionDetail; yellow: number | null; view: NetworkView }) {
  const { t } = useI18n();
  const now = detail.time;
  const start = Math.max(0, now - TIMELINE_SECONDS);
  const span = Math.max(1, now - start);
  const log = detail.phaseLog;
  const segments: { phase: number; from: number; to: number }[] = [];
  log.forEach((e, i) => {
    const to = i + 1 < log.length ? log[i + 1].t : now;
    const from = Math.max(e.t, start);
    if (to > from) segments.push({ phase: e.phase, from, to });
  });
  // a phase by the movements it serves ("N–S through"), not its number
  const label = (p: number) => (p === yellow ? t('yellow') : phaseName(view, detail.id, p, t));
  return (
    <section>
      <h3>{t('phaseTimeline', { s: TIMELINE_SECONDS })}</h3>
      <div className="timeline" data-testid="phase-timeline">
        {segments.map((s, i) => (
          <div
            key={i}
            className="segment"
            title={`${label(s.phase)} ${formatClock(s.from)}–${formatClock(s.to)}`}
            style={{ left: `${((s.from - start) / span) * 100}%`, width: `${((s.to - s.from) / span) * 100}%`, background: css(phaseColour(s.phase, yellow)) }}
          />
        ))}
      </div>
      <div className="timeline-axis">
        <span>{formatClock(start)}</span>
        <span>{formatClock(now)}</span>
      </div>
      <div className="phase-legend">
        {[...new Set(segments.map((s) => s.phase))].sort((a, b) => a - b).map((p) => (
          <span key={p}>
            <i style={{ background: css(phaseColour(p, yellow)) }} /> {label(p)}
          </span>
        ))}
      </div>
    </section>
  );
}

function Approaches({ detail, view }: { detail: IntersectionDetail; view: NetworkView }) {
  const { t, num } = useI18n();
  const max = Math.max(5, ...detail.approaches.map((a) => a.vehicles));
  return (
    <section>
      <h3>{t('queuePerApproach')}</h3>
      <table className="approaches">
        <tbody>
          {detail.approaches.map((a) => (
            <tr key={a.road} data-road={a.road}>
              <td className="road" title={a.road}>{approachName(view, a.road, t)} <small className="muted">{a.road}</small></td>
              <td className="bar-cell">
                <div className="bar vehicles" style={{ width: `${(a.vehicles / max) * 100}%` }} title={`${t('vehicles')}: ${a.vehicles}`} />
                <div className="bar queue" style={{ width: `${(a.queue / max) * 100}%` }} title={`${t('queue')}: ${a.queue}`} />
              </td>
              <td className="num">{a.queue}</td>
              <td className="num muted">{a.meanSpeed === null ? '–' : `${num(a.meanSpeed, 1)} ${t('unitMetresPerSecond')}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="legend-row muted">
        <span><i className="swatch queue" /> {t('queue')}</span>
        <span><i className="swatch vehicles" /> {t('vehicles')}</span>
        <span>{t('meanSpeed')}</span>
      </p>
    </section>
  );
}

type Target = 'intersection' | 'region' | 'city';

function ControllerSwitch({ detail, view, controllers, onChanged }: { detail: IntersectionDetail; view: NetworkView; controllers: string[]; onChanged(): void }) {
  const { api } = useSession();
  const { t } = useI18n();
  const [choice, setChoice] = useState(detail.controller);
  const [target, setTarget] = useState<Target>('intersection');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: true; text: string } | { ok: false; error: ErrorInfo } | null>(null);
  useEffect(() => setChoice(detail.controller), [detail.id, detail.controller]);
  const targetLabel = (tg: Target) =>
    tg === 'intersection' ? t('thisIntersection') : tg === 'region' ? regionName(detail.region, t) : t('wholeCity');
  const apply = async () => {
    setBusy(true);
    try {
      if (target === 'intersection') await api.setIntersectionController(detail.id, choice);
      else await api.setRegionController(target === 'city' ? 'city' : detail.region, choice);
      setMessage({ ok: true, text: t('applied', { controller: choice, target: target === 'intersection' ? intersectionName(view, detail.id) : targetLabel(target) }) });
      onChanged();
    } catch (e) {
      setMessage({ ok: false, error: errorInfo(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="switch">
      <h3>{t('switchController')}</h3>
      <div className="row">
        <select aria-label={t('controller')} name="controller" value={choice} onChange={(e) => setChoice(e.target.value)}>
          {controllers.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
        <select aria-label={t('applyTo')} name="target" value={target} onChange={(e) => setTarget(e.target.value as Target)}>
          {(['intersection', ...(detail.region ? ['region'] : []), 'city'] as Target[]).map((tg) => <option key={tg} value={tg}>{targetLabel(tg)}</option>)}
        </select>
        <button type="button" className="primary" name="apply-controller" disabled={busy} onClick={apply}>{t('apply')}</button>
      </div>
      {message && (message.ok ? <p className="ok" role="status">{message.text}</p> : <ErrorLine error={message.error} role="status" />)}
    </section>
  );
}

export function IntersectionPanel({ id, view, controllers, tick, onClose }: { id: string | null; view: NetworkView; controllers: string[]; tick: number; onClose(): void }) {
  const { api, canOperate } = useSession();
  const { t } = useI18n();
  const [detail, setDetail] = useState<IntersectionDetail | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [reload, setReload] = useState(0);
  // refresh with the live feed, at most once a second
  const [second, setSecond] = useState(0);
  useEffect(() => setSecond(Math.floor(Date.now() / 1000)), [tick]);
  useEffect(() => {
    if (!id) return;
    let live = true;
    api.intersection(id).then((d) => live && (setDetail(d), setError(null)), (e) => live && setError(errorInfo(e)));
    return () => void (live = false);
  }, [api, id, second, reload]);
  useEffect(() => setDetail(null), [id]);

  if (!id) return <p className="muted hint">{t('pickIntersectionHint')}</p>;
  const ix = view.intersections.find((i) => i.id === id);
  const yellow = ix?.yellow ?? null;
  return (
    <div className="intersection" data-intersection={id}>
      <header className="panel-head">
        {/* its streets where the network names them, the id beside */}
        <h2>{intersectionName(view, id)}{intersectionName(view, id) !== id && <small className="muted"> {id}</small>}</h2>
        <button type="button" onClick={onClose} aria-label={t('close')}>×</button>
      </header>
      {error && <ErrorLine error={error} />}
      {!detail && !error && <p className="muted">{t('loading')}</p>}
      {detail && detail.id === id && (
        <>
          <dl className="facts">
            <dt>{t('controller')}</dt>
            <dd data-testid="controller">{detail.controller}{detail.fallback && <span className="warn"> · {t('fallback')}</span>}{detail.relieved && <span className="warn" data-testid="relieved"> · {t('relievedGridlock')}</span>}{detail.mode === 'local' && <span className="warn" data-testid="local-mode"> · {t('localMode')}</span>}</dd>
            <dt>{t('region')}</dt>
            <dd>{detail.region ? regionName(detail.region, t) : '–'}</dd>
            <dt>{t('phaseNow')}</dt>
            <dd>
              <i className="swatch" style={{ background: css(phaseColour(detail.phase, yellow)) }} />{' '}
              <span data-testid="phase-now">{detail.yellow ? t('yellow') : phaseName(view, detail.id, detail.phase, t)}</span>
              {!detail.yellow && <span className="muted"> · {t('greenFor', { s: Math.max(0, Math.round(detail.time - detail.greenSince)) })}</span>}
            </dd>
          </dl>
          {canOperate
            ? <ControllerSwitch detail={detail} view={view} controllers={controllers} onChanged={() => setReload((r) => r + 1)} />
            : <p className="muted readonly-note">{t('viewerCannotSwitch')}</p>}
          <PhaseTimeline detail={detail} yellow={yellow} view={view} />
          <Approaches detail={detail} view={view} />
        </>
      )}
    </div>
  );
}
