import { useEffect, useMemo, useState } from 'react';
import { Chart, timeSeriesOption } from '../charts/Chart.js';
import { errorText, isMissing, useI18n, useSession } from '../context.js';
import { useLoadUntilDone } from '../retry.js';
import type { CompareRun } from '../types.js';
import type { CompareReplayRef } from './ReplayView.js';

const COLOURS = ['#f59e0b', '#38bdf8'];

/** The comparison this session started last: kept by the app, so leaving the tab does not lose it. */
export interface CompareRunRef {
  id: string;
  /** the length it was started with (the field may be edited while it runs) */
  duration: number;
}

export function CompareView({ current, onStarted, onReplay }: { current: CompareRunRef | null; onStarted(ref: CompareRunRef): void; onReplay(ref: CompareReplayRef): void }) {
  const { api, canOperate } = useSession();
  const { t, num } = useI18n();
  const [controllers, setControllers] = useState<string[]>([]);
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [duration, setDuration] = useState(600);
  const runId = current?.id ?? null;
  const [run, setRun] = useState<CompareRun | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [unavailable, setUnavailable] = useState(false);

  useLoadUntilDone(() => api.controllers(), (c) => {
    setError(null);
    setControllers(c);
    // default: the fixed plan against the city's adaptive default
    setA(c.includes('fixed') ? 'fixed' : c[0] ?? '');
    setB(c.find((x) => x !== (c.includes('fixed') ? 'fixed' : c[0])) ?? '');
  }, (e) => setError(errorText(e)), [api]);

  useEffect(() => {
    if (!runId) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout>;
    const poll = () =>
      api.compare(runId).then((r) => {
        if (!alive) return;
        setRun(r);
        if (!r.done) timer = setTimeout(poll, 1000);
      }, (e) => alive && setError(errorText(e)));
    poll();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [api, runId]);

  const start = async () => {
    setError(null);
    setRun(null);
    try {
      const { id } = await api.startCompare([a, b], duration);
      onStarted({ id, duration });
    } catch (e) {
      if (isMissing(e)) setUnavailable(true);
      else setError(errorText(e));
    }
  };

  const names = run?.controllers ?? [];
  const option = useMemo(() => timeSeriesOption(
    names.map((n, k) => ({ name: n, data: (run?.series[n] ?? []).map((p) => [p.t, p.averageTravelTime] as [number, number]), colour: COLOURS[k % 2] })),
    { legend: true, yName: t('attSeries'), xName: t('timeAxis') },
  ), [run, names, t]);
  const last = names.map((n) => run?.series[n]?.at(-1));
  const progress = run?.time ?? last[0]?.t ?? 0;
  let verdict: string | null = null;
  if (last[0] && last[1] && last[0].averageTravelTime > 0) {
    const pct = ((last[0].averageTravelTime - last[1].averageTravelTime) / last[0].averageTravelTime) * 100;
    verdict = t(pct >= 0 ? 'saving' : 'worse', { a: names[0], b: names[1], pct: num(Math.abs(pct), 1) });
  }

  return (
    <div className="compare">
      <h2>{t('compareTitle')}</h2>
      <p className="muted">{t('compareHint')}</p>
      {unavailable && <p className="muted">{t('notAvailable')}</p>}
      {!canOperate && <p className="muted readonly-note">{t('operatorOnlyCompare')}</p>}
      <div className="row form">
        <label>{t('controllerA')}{' '}
          <select name="controller-a" value={a} disabled={!canOperate} onChange={(e) => setA(e.target.value)}>
            {controllers.map((c) => <option key={c} value={c}>{c}</option>)}
          </select>
        </label>
        <label>{t('controllerB')}{' '}
          <select name="controller-b" value={b} disabled={!canOperate} onChange={(e) => setB(e.target.value)}>
            {controllers.map((c) => <option key={c} value={c}>{c}</option>)}
          </select>
        </label>
        <label>{t('duration')}{' '}
          <input type="number" name="duration" min={60} max={7200} step={60} value={duration} disabled={!canOperate} onChange={(e) => setDuration(Number(e.target.value))} />
        </label>
        {canOperate && <button type="button" className="primary" name="start-compare" disabled={!a || !b || a === b} onClick={start}>{t('start')}</button>}
      </div>
      {error && <p className="error">{t('errorMessage', { message: error })}</p>}
      {run?.error && <p className="error">{t('errorMessage', { message: run.error })}</p>}
      {run && (
        <>
          <p data-testid="compare-status" className={run.done && !run.error ? 'ok' : 'muted'}>
            {run.done ? t('compareDone') : t('compareRunning', { t: num(progress, 0), d: num(run.duration ?? current?.duration ?? duration, 0) })}
          </p>
          <div className="compare-figures">
            {names.map((n, k) => (
              <div key={n} className="figure" style={{ borderColor: COLOURS[k % 2] }}>
                <div className="muted">{n}</div>
                <div className="kpi-value">{last[k] ? num(last[k]!.averageTravelTime, 1) : '–'} <small>{t('unitSeconds')}</small></div>
                {run.done && run.replay !== false && <button type="button" name={`replay-${n}`} onClick={() => runId && onReplay({ id: runId, controller: n })}>{t('replayOf', { controller: n })}</button>}
              </div>
            ))}
          </div>
          {verdict && <p className="verdict" data-testid="verdict">{verdict}</p>}
          <Chart option={option} height={360} label={t('attSeries')} />
        </>
      )}
    </div>
  );
}
