import { useEffect, useMemo, useState } from 'react';
import { saveText } from '../download.js';
import { COMPARE_KPIS, type CompareKpi, type CompareKpiDefinition, type KpiVerdict } from '@citybrain/server/compare';
import { Chart, timeSeriesOption } from '../charts/Chart.js';
import { isMissing, useI18n, useSession } from '../context.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import { ErrorLine } from './ErrorLine.js';
import type { I18n } from '../context.js';
import type { MessageKey } from '../i18n.js';
import { useLoadUntilDone } from '../retry.js';
import type { CompareExportKind } from '../api.js';
import type { CompareListing, CompareRun } from '../types.js';
import type { CompareReplayRef } from './ReplayView.js';

/** one colour per controller, up to the four a comparison takes */
const COLOURS = ['#f59e0b', '#38bdf8', '#a78bfa', '#34d399'];
const MIN_CONTROLLERS = 2, MAX_CONTROLLERS = 4;

/** The comparison shown: the one this session started or opened last, kept by the app so leaving the tab does not lose it. */
export interface CompareRunRef {
  id: string;
  /** the length it was started with (the field may be edited while it runs) */
  duration: number;
}

// the comparison's ATT is CityFlow's over every vehicle, not the live view's last-10-minute figure: its own label
const KPI_LABEL: Record<CompareKpi, MessageKey> = { att: 'compareKpiAtt', delay: 'kpiDelay', stops: 'kpiStops', queue: 'kpiQueue', throughput: 'kpiThroughput' };
const KPI_HINT: Record<CompareKpi, MessageKey> = { att: 'kpiAttHint', delay: 'kpiDelayHint', stops: 'kpiStopsHint', queue: 'kpiQueueHint', throughput: 'kpiThroughputHint' };
const KPI_UNIT: Record<CompareKpi, MessageKey> = { att: 'unitSeconds', delay: 'unitSeconds', stops: 'unitStops', queue: 'unitVehicles', throughput: 'unitTripsPerHour' };
const STATUS: Record<CompareListing['status'], MessageKey> = { running: 'compareStatusRunning', done: 'compareStatusDone', failed: 'compareStatusFailed', interrupted: 'compareStatusInterrupted' };

/** A figure with its unit, in the language's number format. */
const figure = ({ t, num }: I18n, def: CompareKpiDefinition, v: number | null) => (v === null ? '–' : `${num(v, def.digits)} ${t(KPI_UNIT[def.key])}`);

/** The winner of one KPI and its margin over the runner-up, as a sentence; the rule (who wins, by how much) is the server's. */
function winnerSentence(i18n: I18n, v: KpiVerdict, names: readonly string[]): string {
  const def = COMPARE_KPIS.find((k) => k.key === v.kpi)!;
  const kpi = i18n.t(KPI_LABEL[v.kpi]);
  if (v.winner === null) return i18n.t('compareLevel', { kpi });
  const other = v.against[0];
  return i18n.t(def.better === 'lower' ? 'compareWinsLower' : 'compareWinsHigher', {
    winner: v.winner, kpi, value: figure(i18n, def, v.values[names.indexOf(v.winner)]),
    pct: other.marginPct === null ? '–' : i18n.num(other.marginPct, 1),
    other: other.controller, otherValue: figure(i18n, def, other.value),
  });
}

export function CompareView({ current, onOpen, onReplay }: { current: CompareRunRef | null; onOpen(ref: CompareRunRef): void; onReplay(ref: CompareReplayRef): void }) {
  const { api, canOperate } = useSession();
  const i18n = useI18n();
  const { t, num, lang } = i18n;
  const [controllers, setControllers] = useState<string[]>([]);
  const [chosen, setChosen] = useState<string[]>([]);
  const [duration, setDuration] = useState(600);
  const [kpi, setKpi] = useState<CompareKpi>('att');
  const runId = current?.id ?? null;
  const [run, setRun] = useState<CompareRun | null>(null);
  const [list, setList] = useState<CompareListing[] | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [unavailable, setUnavailable] = useState(false);

  useLoadUntilDone(() => api.controllers(), (c) => {
    setError(null);
    setControllers(c);
    // default: the fixed plan against the city's adaptive default
    const first = c.includes('fixed') ? 'fixed' : c[0];
    setChosen((was) => (was.length ? was : [first, c.find((x) => x !== first)].filter((x): x is string => x !== undefined)));
  }, (e) => setError(errorInfo(e)), [api]);

  // the list, kept fresh while runs go on (a viewer sees what operators started)
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout>;
    const poll = () =>
      api.compares().then((l) => {
        if (!alive) return;
        setList(l);
        timer = setTimeout(poll, l.some((r) => !r.done) ? 2000 : 5000);
      }, (e) => {
        if (!alive) return;
        if (isMissing(e)) setUnavailable(true);
        timer = setTimeout(poll, 5000);
      });
    poll();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [api, runId]);

  useEffect(() => {
    if (!runId) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout>;
    setRun(null);
    const poll = () =>
      api.compare(runId).then((r) => {
        if (!alive) return;
        setRun(r);
        if (!r.done) timer = setTimeout(poll, 1000);
      }, (e) => alive && setError(errorInfo(e)));
    poll();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [api, runId]);

  const refusal = chosen.length < MIN_CONTROLLERS ? t('compareTooFew') : chosen.length > MAX_CONTROLLERS ? t('compareTooMany', { n: chosen.length }) : null;

  const start = async () => {
    if (refusal) return;
    setError(null);
    try {
      const { id } = await api.startCompare(chosen, duration);
      onOpen({ id, duration });
    } catch (e) {
      if (isMissing(e)) setUnavailable(true);
      else setError(errorInfo(e));
    }
  };

  const download = async (kind: CompareExportKind | 'json') => {
    if (!runId) return;
    setError(null);
    try {
      if (kind === 'json') saveText(`${runId}.json`, 'application/json', JSON.stringify(await api.compare(runId), null, 2));
      else if (kind === 'csv') saveText(`${runId}.csv`, 'text/csv', await api.compareExport(runId, 'csv'));
      else saveText(`${runId}-report.html`, 'text/html', await api.compareExport(runId, 'report'));
    } catch (e) {
      setError(errorInfo(e));
    }
  };

  const names = run?.controllers ?? [];
  const def = COMPARE_KPIS.find((k) => k.key === kpi)!;
  const longest = Math.max(0, ...names.map((n) => run?.series[n]?.at(-1)?.t ?? 0));
  const option = useMemo(() => timeSeriesOption(
    names.map((n, k) => ({
      name: n, colour: COLOURS[k % COLOURS.length],
      data: (run?.series[n] ?? []).flatMap((p) => (p[def.field] === null ? [] : [[p.t, p[def.field] as number] as [number, number]])),
    })),
    { legend: true, yName: `${t(KPI_LABEL[kpi])} (${t(KPI_UNIT[kpi])})`, xName: t(longest >= 3600 ? 'timeAxisHours' : 'timeAxisMinutes'), integer: def.integer },
  ), [run, names, def, kpi, t, longest]);
  const progress = run?.time ?? 0;
  const overall = run?.kpis?.[0];
  const shown = run?.kpis?.find((v) => v.kpi === kpi);

  return (
    <div className="compare">
      <h2>{t('compareTitle')}</h2>
      <p className="muted">{t('compareHint')}</p>
      {unavailable && <p className="muted">{t('notAvailable')}</p>}
      {!canOperate && <p className="muted readonly-note">{t('operatorOnlyCompare')}</p>}
      {canOperate && (
        <>
          <fieldset className="row form compare-pick">
            <legend>{t('compareControllers')}</legend>
            {controllers.map((c) => (
              <label key={c} className="check">
                <input type="checkbox" name="compare-controller" value={c} checked={chosen.includes(c)}
                  onChange={(e) => setChosen((was) => (e.target.checked ? [...was, c] : was.filter((x) => x !== c)))} />{' '}{c}
              </label>
            ))}
          </fieldset>
          <div className="row form">
            <label>{t('duration')}{' '}
              <input type="number" name="duration" min={60} max={7200} step={60} value={duration} onChange={(e) => setDuration(Number(e.target.value))} />
            </label>
            <button type="button" className="primary" name="start-compare" disabled={refusal !== null} onClick={start}>{t('start')}</button>
          </div>
          {refusal && controllers.length > 0 && <p className="error" data-testid="compare-refusal">{refusal}</p>}
        </>
      )}
      {error && <ErrorLine error={error} />}

      <h3>{t('compareRuns')}</h3>
      {list && list.length === 0 && <p className="muted" data-testid="compare-none">{t('compareNone')}</p>}
      {list && list.length > 0 && (
        <table className="compare-list" data-testid="compare-list">
          <thead><tr>
            <th>{t('compareColId')}</th><th>{t('compareColControllers')}</th><th>{t('compareColStatus')}</th>
            <th>{t('compareColDuration')}</th><th>{t('compareColStarted')}</th><th>{t('compareColWinner')}</th><th />
          </tr></thead>
          <tbody>
            {[...list].reverse().map((r) => (
              <tr key={r.id} data-id={r.id} className={r.id === runId ? 'selected' : undefined}>
                <td>{r.id}</td>
                <td>{r.controllers.join(', ')}</td>
                <td>{t(STATUS[r.status])}</td>
                <td className="num">{num(r.duration, 0)} {t('unitSeconds')}</td>
                <td>{new Date(r.createdAt).toLocaleString(lang)}</td>
                <td>{r.winner ? t('compareWinnerShort', { winner: r.winner.controller, other: r.winner.runnerUp, pct: r.winner.marginPct === null ? '–' : num(r.winner.marginPct, 1) }) : '–'}</td>
                <td><button type="button" name={`open-${r.id}`} disabled={r.id === runId} onClick={() => onOpen({ id: r.id, duration: r.duration })}>{t('compareOpen')}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {/* the run's own error is the server's English: the state in the reader's language, the detail beside */}
      {run?.error && (
        <p className="error" title={run.error}>
          {t(run.status === 'interrupted' ? 'compareInterruptedNote' : 'compareFailedNote')} <small className="error-detail" lang="en">{run.error}</small>
        </p>
      )}
      {run && (
        <>
          <h3>{run.id}: {names.join(', ')}</h3>
          <p data-testid="compare-status" className={run.done && !run.error ? 'ok' : 'muted'}>
            {run.done ? t('compareDone') : t('compareRunning', { t: num(progress, 0), d: num(run.duration ?? current?.duration ?? duration, 0) })}
          </p>
          {overall && <p className="verdict" data-testid="verdict">{winnerSentence(i18n, overall, names)}</p>}
          {shown && shown !== overall && <p className="verdict secondary" data-testid="kpi-verdict">{winnerSentence(i18n, shown, names)}</p>}
          <table className="compare-kpis" data-testid="compare-kpis">
            <thead><tr><th>{t('compareKpi')}</th>{names.map((n, k) => <th key={n} className="num" style={{ color: COLOURS[k % COLOURS.length] }}>{n}</th>)}</tr></thead>
            <tbody>
              {COMPARE_KPIS.map((d) => {
                const v = run.kpis?.find((x) => x.kpi === d.key);
                return (
                  <tr key={d.key} data-kpi={d.key} className={d.key === kpi ? 'selected' : undefined}>
                    <th title={t(KPI_HINT[d.key])}>{t(KPI_LABEL[d.key])}</th>
                    {names.map((n, k) => {
                      const text = figure(i18n, d, v?.values[k] ?? null);
                      return <td key={n} className="num">{v?.winner === n ? <strong>{text}</strong> : text}</td>;
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div className="row form">
            <label>{t('compareKpi')}{' '}
              <select name="compare-kpi" value={kpi} onChange={(e) => setKpi(e.target.value as CompareKpi)}>
                {COMPARE_KPIS.map((d) => <option key={d.key} value={d.key}>{t(KPI_LABEL[d.key])}</option>)}
              </select>
            </label>
            <span className="muted">{t(KPI_HINT[kpi])}</span>
          </div>
          <Chart option={option} height={360} label={`${t(KPI_LABEL[kpi])} (${t(KPI_UNIT[kpi])})`} />
          <div className="row form compare-actions">
            <button type="button" name="export-csv" onClick={() => void download('csv')}>{t('compareExportCsv')}</button>
            <button type="button" name="export-json" onClick={() => void download('json')}>{t('compareExportJson')}</button>
            <button type="button" name="export-report" onClick={() => void download('report')}>{t('compareExportReport')}</button>
            {run.replay !== false && names.map((n) => (
              <button key={n} type="button" name={`replay-${n}`} disabled={!run.done} onClick={() => runId && onReplay({ id: runId, controller: n })}>{t('replayOf', { controller: n })}</button>
            ))}
          </div>
        </>
      )}
    </div>
  );
}
