import { useCallback, useMemo, useState, type FormEvent } from 'react';
import { Chart, type ChartOption } from '../charts/Chart.js';
import { useI18n, useSession, type I18n } from '../context.js';
import { saveText } from '../download.js';
import { auditRows, auditWhat, chartPlan, type ChartPlan, type HubAuditEntry, type HubDataset, type HubQueryResult } from '../hub.js';
import type { MessageKey } from '../i18n.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import { ErrorLine } from './ErrorLine.js';
import { usePoll } from './usePoll.js';

/** rows the result table shows (the chart and the CSV have them all) */
const TABLE_ROWS = 200;
const CATALOGUE_MS = 30_000;
const DATASET_MS = 10_000;
const COLOURS = ['#38bdf8', '#f59e0b', '#34d399', '#f472b6', '#a78bfa', '#f87171', '#facc15', '#2dd4bf'];

/** The hub's audit actions the dashboard has a word for (hub.revoke-grant → hubAction_revoke_grant). */
const ACTIONS = ['read', 'load', 'append', 'refused', 'grant', 'revoke_grant', 'register_dataset', 'feed', 'retention'] as const;

function actionName(action: string, t: I18n['t']): string {
  const k = action.replace(/^hub\./, '').replace(/-/g, '_');
  return (ACTIONS as readonly string[]).includes(k) ? t(`hubAction_${k}` as MessageKey) : action;
}

function dateTime(lang: string, ms: number): string {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'medium' }).format(ms);
}

/** The chart of a query's result: bars over text, a line over time (hub.ts, chartPlan). */
function resultOption(plan: ChartPlan): ChartOption {
  const time = plan.x?.kind === 'time';
  const legend = plan.series.length > 1;
  const axisLabel = { color: '#94a3b8', hideOverlap: true };
  return {
    backgroundColor: 'transparent',
    animation: false,
    grid: { left: 56, right: 16, top: legend ? 30 : 12, bottom: 28 },
    tooltip: { trigger: 'axis' },
    legend: legend ? { top: 0, textStyle: { color: '#cbd5e1' } } : undefined,
    xAxis: time
      ? { type: 'time', axisLabel }
      : { type: 'category', data: plan.series[0].data.map(([x]) => String(x)), axisLabel },
    yAxis: { type: 'value', axisLabel: { color: '#94a3b8' }, splitLine: { lineStyle: { color: '#1e293b' } } },
    series: plan.series.map((s, i) => ({
      name: s.name, type: plan.type, data: time ? s.data : s.data.map(([, y]) => y), showSymbol: s.data.length < 50,
      itemStyle: { color: COLOURS[i % COLOURS.length] }, lineStyle: { width: 2, color: COLOURS[i % COLOURS.length] },
    })),
  };
}

function Catalogue({ datasets, departments, selected, onOpen }: { datasets: HubDataset[]; departments: Map<string, string>; selected: string | null; onOpen(id: string): void }) {
  const { t, num } = useI18n();
  if (datasets.length === 0) return <p className="muted" data-testid="data-none">{t('dataNone')}</p>;
  return (
    <table className="data-table" data-testid="data-catalogue">
      <thead>
        <tr><th>{t('dataDataset')}</th><th>{t('dataOwner')}</th><th>{t('dataClassification')}</th><th className="num">{t('dataRows')}</th><th>{t('dataUpdated')}</th><th>{t('dataLicence')}</th></tr>
      </thead>
      <tbody>
        {datasets.map((d) => (
          <tr key={d.id} data-dataset={d.id} className={d.id === selected ? 'on' : ''}>
            <td>
              <button type="button" className="link" name="open-dataset" onClick={() => onOpen(d.id)} title={d.description}>{d.title}</button>
              <div className="muted small"><code>{d.id}</code></div>
            </td>
            <td title={d.owner}>{departments.get(d.owner) ?? d.owner}</td>
            <td><span className={`class class-${d.classification}`}>{t(`class_${d.classification}`)}</span></td>
            <td className="num">{num(d.rows)}</td>
            <td>{t(`freq_${d.updateFrequency}`)}</td>
            <td>{d.licence}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AccessLog({ id, nonce }: { id: string; nonce: number }) {
  const { api } = useSession();
  const { t, lang, num } = useI18n();
  // a new load each time the dataset or a query of this page changes: the log shows the read at once
  const load = useMemo(() => (api.hubAccessLog ? () => api.hubAccessLog!(id, 50) : undefined), [api, id, nonce]);
  const log = usePoll(load, DATASET_MS);
  const refused = log.error?.kind === 'server' && log.error.code === 'CB_FORBIDDEN';
  return (
    <section data-testid="data-access-log">
      <h3>{t('dataAccessLog')}</h3>
      {refused ? <p className="muted small" data-testid="data-access-log-admins">{t('dataAccessLogAdmins')}</p> : (
        <>
          {log.error && <ErrorLine error={log.error} />}
          {log.value && (log.value.length === 0 ? <p className="muted">{t('dataLogEmpty')}</p> : (
            <table className="data-table">
              <thead><tr><th>{t('dataWhen')}</th><th>{t('dataWho')}</th><th>{t('dataWhat')}</th><th className="num">{t('dataRows')}</th></tr></thead>
              <tbody>
                {log.value.map((e: HubAuditEntry) => {
                  const rows = auditRows(e);
                  return (
                    <tr key={e.seq} data-action={e.action} className={e.action === 'hub.refused' ? 'refused' : ''}>
                      <td className="nowrap">{dateTime(lang, e.at)}</td>
                      <td>{e.actor} <span className="muted small">{e.role}</span></td>
                      <td><b>{actionName(e.action, t)}</b> <code className="sql-inline">{auditWhat(e)}</code></td>
                      <td className="num">{rows === null ? '–' : num(rows)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ))}
        </>
      )}
    </section>
  );
}

function DatasetPage({ id, readable, departments, nonce, onOpen, onQuery }: {
  id: string; readable: Set<string>; departments: Map<string, string>; nonce: number; onOpen(id: string): void; onQuery(sql: string): void;
}) {
  const { api } = useSession();
  const { t, lang, num } = useI18n();
  const load = useMemo(() => (api.hubDataset ? () => api.hubDataset!(id) : undefined), [api, id, nonce]);
  const polled = usePoll(load, DATASET_MS);
  // the last answer may be another dataset's while this one loads
  const d = polled.value?.id === id ? polled.value : null;
  return (
    <article className="data-dataset" data-testid="data-dataset" data-dataset={id}>
      {polled.error && <ErrorLine error={polled.error} />}
      {d && (
        <>
          <h2>{d.title} <code className="muted small">{d.id}</code></h2>
          <p>{d.description}</p>
          <p className="muted small">
            {t('dataOwner')}: {departments.get(d.owner) ?? d.owner} · <span className={`class class-${d.classification}`} data-testid="data-classification">{t(`class_${d.classification}`)}</span>
            {' · '}{t(`freq_${d.updateFrequency}`)} · {d.licence}
            {' · '}{t('dataSize', { rows: num(d.rows), batches: num(d.batches.length), size: d.bytes < 1e6 ? `${num(d.bytes / 1e3, 1)} kB` : `${num(d.bytes / 1e6, 1)} MB` })}
            {' · '}{d.retentionDays === null ? t('dataRetentionForever') : t('dataRetention', { days: num(d.retentionDays) })}
            {d.access && <> · {t('dataYourAccess')}: <b data-testid="data-your-access">{t(`access_${d.access}`)}</b></>}
          </p>
          <button type="button" name="query-dataset" onClick={() => onQuery(`SELECT * FROM ${d.id} LIMIT 100`)}>{t('dataQueryThis')}</button>
          <h3>{t('dataSchema')}</h3>
          <table className="data-table" data-testid="data-schema">
            <thead><tr><th>{t('dataColumn')}</th><th>{t('dataType')}</th><th>{t('dataReadsAs')}</th></tr></thead>
            <tbody>
              {d.columns.map((c) => (
                <tr key={c.name} data-column={c.name} data-personal={c.personal === true}>
                  <td>
                    <code>{c.name}</code>
                    {c.personal && <> <span className="badge personal" data-testid="personal">{t('dataPersonal')}</span></>}
                    {c.nullable === false && <span className="muted small"> · {t('dataRequired')}</span>}
                    {c.description && <div className="muted small">{c.description}</div>}
                  </td>
                  <td><code>{c.type}</code></td>
                  <td className={c.reads === 'clear' ? '' : 'warn'}>{t(`reads_${c.reads}`)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>{t('dataLineage')}</h3>
          {d.lineage ? (
            <div data-testid="data-lineage">
              <p>
                {t('dataDerivedFrom')}:{' '}
                {d.lineage.inputs.map((input, i) => (
                  <span key={input}>
                    {i > 0 && t('listJoin')}
                    {readable.has(input)
                      ? <button type="button" className="link" data-input={input} onClick={() => onOpen(input)}>{input}</button>
                      : <span data-input={input}>{input} <span className="muted small">{t('dataNotReadable')}</span></span>}
                  </span>
                ))}
                <span className="muted small"> · {t('dataDerivedBy', { by: d.lineage.by, at: dateTime(lang, d.lineage.at) })}</span>
              </p>
              <pre className="sql">{d.lineage.sql}</pre>
            </div>
          ) : <p className="muted small" data-testid="data-not-derived">{t('dataNotDerived')}</p>}
          <AccessLog id={d.id} nonce={nonce} />
        </>
      )}
    </article>
  );
}

function ResultTable({ result }: { result: HubQueryResult }) {
  const { t, num } = useI18n();
  const shown = result.rows.slice(0, TABLE_ROWS);
  return (
    <>
      {result.rows.length > shown.length && <p className="muted small">{t('dataShowing', { shown: num(shown.length), rows: num(result.rows.length) })}</p>}
      <div className="data-result-scroll">
        <table className="data-table" data-testid="data-result">
          <thead><tr>{result.columns.map((c) => <th key={c.name} title={c.type}>{c.name} <span className="muted small">{c.type}</span></th>)}</tr></thead>
          <tbody>
            {shown.map((r, i) => (
              <tr key={i}>{r.map((v, j) => <td key={j} className={typeof v === 'number' ? 'num' : ''}>{v === null ? <span className="muted">∅</span> : typeof v === 'object' ? JSON.stringify(v) : String(v)}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function QueryBox({ sql, setSql, onRan }: { sql: string; setSql(sql: string): void; onRan(): void }) {
  const { api } = useSession();
  const { t, num } = useI18n();
  const [running, setRunning] = useState(false);
  const [ran, setRan] = useState<{ sql: string; result: HubQueryResult } | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [csvError, setCsvError] = useState<ErrorInfo | null>(null);
  const plan = useMemo(() => (ran ? chartPlan(ran.result) : null), [ran]);
  const option = useMemo(() => (plan ? resultOption(plan) : null), [plan]);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    if (!api.hubQuery || !sql.trim()) return;
    setRunning(true);
    setError(null);
    setCsvError(null);
    const asked = sql;
    try {
      setRan({ sql: asked, result: await api.hubQuery(asked) });
    } catch (err) {
      setRan(null);
      setError(errorInfo(err));
    } finally {
      setRunning(false);
      onRan();
    }
  };
  // the server's CSV of the query shown (run again: a download is a read, audited as one)
  const csv = async () => {
    if (!ran || !api.hubQueryCsv) return;
    setCsvError(null);
    try {
      saveText(`${ran.result.datasets.join('-') || 'query'}.csv`, 'text/csv', await api.hubQueryCsv(ran.sql));
    } catch (err) {
      setCsvError(errorInfo(err));
    } finally {
      onRan();
    }
  };
  return (
    <section className="data-query" data-testid="data-query">
      <h2>{t('dataQuery')}</h2>
      <p className="muted small">{t('dataQueryHint')}</p>
      <form onSubmit={run}>
        <textarea name="sql" rows={6} spellCheck={false} value={sql} onChange={(e) => setSql(e.target.value)}
          onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void run(e); }} />
        <div className="data-actions">
          <button type="submit" className="primary" name="run-query" disabled={running || !sql.trim()}>{running ? t('dataRunning') : t('dataRun')}</button>
          {ran && <button type="button" name="download-csv" onClick={() => void csv()}>{t('dataCsv')}</button>}
        </div>
      </form>
      {/* a 403 here is the query's reach, not the token's role */}
      {error && <ErrorLine error={error} role="alert" className="data-query-error" sentence={error.kind === 'server' && error.code === 'CB_FORBIDDEN' ? t('dataQueryRefused') : undefined} />}
      {csvError && <ErrorLine error={csvError} role="alert" />}
      {ran && (
        <div data-testid="data-query-result" data-rows={ran.result.rowCount} data-truncated={ran.result.truncated}>
          <p className="muted small" data-testid="data-result-summary">
            {t('dataResult', { rows: num(ran.result.rowCount), datasets: ran.result.datasets.join(t('listJoin')) || '–', ms: num(ran.result.ms) })}
          </p>
          {ran.result.truncated && <p className="warn" data-testid="data-truncated">{t('dataTruncated', { rows: num(ran.result.rowCount) })}</p>}
          {plan && option ? (
            <div data-testid="data-chart" data-chart-type={plan.type} data-x={plan.x?.name ?? ''} data-series={plan.series.map((s) => s.name).join(',')}>
              <Chart option={option} height={260} label={t('dataChartLabel', { series: plan.series.map((s) => s.name).join(t('listJoin')), x: plan.x?.name ?? t('dataRowNumber') })} />
            </div>
          ) : <p className="muted small" data-testid="data-no-chart">{t('dataNoChart')}</p>}
          <ResultTable result={ran.result} />
        </div>
      )}
    </section>
  );
}

/**
 * The Data tab (operators and analysts): the hub's catalogue as the caller
 * reads it, a dataset's page (schema with personal columns marked and how
 * each reads for the caller, lineage with links to its inputs, the access
 * log for its admins), and a query box with the result's table, chart and
 * CSV. Every read here is the server's audited read.
 */
export function DataView() {
  const { api } = useSession();
  const { t } = useI18n();
  const [nonce, setNonce] = useState(0);
  const bump = useCallback(() => setNonce((n) => n + 1), []);
  const catalogueLoad = useMemo(() => (api.hubDatasets ? () => api.hubDatasets!() : undefined), [api, nonce]);
  const catalogue = usePoll(catalogueLoad, CATALOGUE_MS);
  const departmentsLoad = useMemo(() => (api.hubDepartments ? () => api.hubDepartments!() : undefined), [api]);
  const deps = usePoll(departmentsLoad, CATALOGUE_MS);
  const departments = useMemo(() => new Map((deps.value ?? []).map((d) => [d.id, d.name])), [deps.value]);
  const readable = useMemo(() => new Set((catalogue.value ?? []).map((d) => d.id)), [catalogue.value]);
  const [selected, setSelected] = useState<string | null>(null);
  const [sql, setSql] = useState('');
  if (catalogue.missing) return <div className="data"><p className="muted" data-testid="data-no-hub">{t('dataNoHub')}</p></div>;
  return (
    <div className="data" data-testid="data">
      <div className="data-left">
        <h2>{t('dataTitle')}</h2>
        <p className="muted small">{t('dataHint')}</p>
        <h3>{t('dataCatalogue')}</h3>
        {catalogue.error && <ErrorLine error={catalogue.error} />}
        {catalogue.value && <Catalogue datasets={catalogue.value} departments={departments} selected={selected} onOpen={setSelected} />}
        {selected && <DatasetPage key={selected} id={selected} readable={readable} departments={departments} nonce={nonce} onOpen={setSelected} onQuery={setSql} />}
      </div>
      <div className="data-right">
        <QueryBox sql={sql} setSql={setSql} onRan={bump} />
      </div>
    </div>
  );
}
