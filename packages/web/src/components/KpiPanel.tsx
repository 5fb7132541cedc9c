import { useMemo } from 'react';
import { Chart, timeSeriesOption } from '../charts/Chart.js';
import { formatClock, useI18n } from '../context.js';
import { ErrorLine } from './ErrorLine.js';
import type { MessageKey } from '../i18n.js';
import type { KpiSample, NetworkView } from '../types.js';
import { intersectionName, regionName } from '../names.js';
import type { FaultsState } from './useFaults.js';

interface KpiDef {
  key: MessageKey;
  /** what the figure means, shown beside it */
  definition: MessageKey;
  value(k: KpiSample): number;
  unit: MessageKey | null;
  digits: number;
  colour: string;
  /** a count: whole-number axis */
  integer?: boolean;
}

const KPIS: KpiDef[] = [
  { key: 'kpiAtt', definition: 'kpiAttDef', value: (k) => k.averageTravelTime, unit: 'unitSeconds', digits: 1, colour: '#38bdf8' },
  // NaN (no point) in samples a server kept from before it reported this figure
  { key: 'kpiAttSinceStart', definition: 'kpiAttSinceStartDef', value: (k) => k.averageTravelTimeSinceStart ?? NaN, unit: 'unitSeconds', digits: 1, colour: '#0ea5e9' },
  { key: 'kpiThroughput', definition: 'kpiThroughputDef', value: (k) => k.throughput, unit: 'unitPerHour', digits: 0, colour: '#a78bfa', integer: true },
  { key: 'kpiCongestion', definition: 'kpiCongestionDef', value: (k) => k.congestionIndex, unit: null, digits: 2, colour: '#f59e0b' },
  { key: 'kpiQueued', definition: 'kpiQueuedDef', value: (k) => k.queued, unit: 'unitVehicles', digits: 0, colour: '#fb7185', integer: true },
  { key: 'kpiIncidents', definition: 'kpiIncidentsDef', value: (k) => k.activeIncidents, unit: null, digits: 0, colour: '#ef4444', integer: true },
  { key: 'kpiParking', definition: 'kpiParkingDef', value: (k) => k.parkingOccupancy * 100, unit: 'unitPercent', digits: 1, colour: '#2dd4bf' },
];

function KpiChart({ def, kpis }: { def: KpiDef; kpis: KpiSample[] }) {
  const { t, num } = useI18n();
  const option = useMemo(() => timeSeriesOption([{ name: t(def.key), data: kpis.map((k) => [k.t, def.value(k)]), colour: def.colour }], { min: 0, integer: def.integer }), [kpis, def, t]);
  const last = kpis.at(-1);
  return (
    <section className="kpi" data-kpi={def.key}>
      <header>
        <h3 title={t(def.definition)}>{t(def.key)}</h3>
        <span className="kpi-value">
          {last && Number.isFinite(def.value(last)) ? num(def.value(last), def.digits) : '–'}
          {def.unit && <small> {t(def.unit)}</small>}
        </span>
      </header>
      <details className="kpi-def">
        <summary>{t('kpiDefinition')}</summary>
        <p>{t(def.definition)}</p>
      </details>
      <Chart option={option} height={86} label={t(def.key)} />
    </section>
  );
}

export function KpiPanel({ kpis, view, faults: { faults, error } }: { kpis: KpiSample[]; view: NetworkView; faults: FaultsState }) {
  const { t, num } = useI18n();
  const last = kpis.at(-1);
  return (
    <div className="kpis">
      <p className="muted" title={t('kpiVehiclesDef')}>
        {t('kpiVehicles')}: <b data-testid="vehicles-in-network">{last ? num(last.vehiclesInNetwork, 0) : '–'}</b>
      </p>
      {kpis.length === 0 && <p className="muted">{t('noData')}</p>}
      {KPIS.map((def) => <KpiChart key={def.key} def={def} kpis={kpis} />)}
      <section className="faults">
        <h3>{t('faultsTitle')}</h3>
        {error && <ErrorLine error={error} />}
        {/* a failed fetch says nothing about faults: no "No faults" under an error */}
        {!error && faults && faults.length === 0 && <p className="muted">{t('noFaults')}</p>}
        <ul>
          {faults?.slice(-8).reverse().map((f, i) => (
            <li key={i}>
              <code>{formatClock(f.time)}</code> {t(`fault_${f.kind}`, { intersection: intersectionName(view, f.intersection), controller: f.controller })}{' '}
              <small className="muted" lang="en" data-testid="fault-detail">{f.error}</small>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

/** The gridlock alarm (KpiSample.gridlock), above every panel: an operator must see it whatever panel is open. */
export function GridlockAlarm({ kpi }: { kpi: KpiSample | undefined }) {
  const { t, num } = useI18n();
  const lock = kpi?.gridlock;
  if (!kpi || !lock) return null;
  return (
    <div className="alarm" role="alert" data-alarm="gridlock">
      {t('gridlockAlarm', {
        regions: lock.regions.map((id) => regionName(id, t)).join(', '), lanes: num(lock.standingLanes, 0), queued: num(lock.queued, 0),
        minutes: num(Math.max(0, (kpi.ts - lock.since) / 60_000), 0),
      })}
    </div>
  );
}

// the wall mode shows the same figures, large
export { KPIS, type KpiDef };
