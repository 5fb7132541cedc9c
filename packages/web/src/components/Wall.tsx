// What the wall mode shows beside the map, for a room to read from afar: the
// alarms, the city's figures large, and a tile per region coloured by its state.
import { useMemo } from 'react';
import { Chart, timeSeriesOption } from '../charts/Chart.js';
import { useI18n } from '../context.js';
import { formatDuration } from '../incidents.js';
import { intersectionName, regionName } from '../names.js';
import type { ControllerFault, Incident, KpiSample, NetworkView } from '../types.js';
import { GridlockAlarm, KPIS, type KpiDef } from './KpiPanel.js';

type RegionKpis = KpiSample['regions'][string];
export type RegionState = 'flowing' | 'busy' | 'congested' | 'gridlock';

/**
 * A region's state from its figures: in the gridlock alarm; congested when a
 * lane of it stands or its vehicles take 2.5 times the free-flow time; busy
 * from 1.5 times; else flowing.
 */
export function regionState(r: RegionKpis, inGridlock: boolean): RegionState {
  if (inGridlock) return 'gridlock';
  if (r.standingLanes > 0 || r.congestionIndex >= 2.5) return 'congested';
  return r.congestionIndex >= 1.5 ? 'busy' : 'flowing';
}

/** A tile per region of the network: its state, congestion index, queue, mean speed and standing lanes. */
export function RegionTiles({ view, kpi }: { view: NetworkView; kpi: KpiSample | undefined }) {
  const { t, num } = useI18n();
  const locked = new Set(kpi?.gridlock?.regions ?? []);
  return (
    <section className="regions" data-testid="regions">
      <h3>{t('regionsTitle')}</h3>
      <div className="region-tiles">
        {view.regions.map(({ id }) => {
          const r = kpi?.regions[id];
          const state = r ? regionState(r, locked.has(id)) : null;
          return (
            <div key={id} className={`region-tile ${state ?? 'unknown'}`} data-region={id} data-state={state ?? 'unknown'}>
              <header>
                <b>{regionName(id, t)}</b>
                <span className="region-state">{state ? t(`regionState_${state}`) : t('noData')}</span>
              </header>
              <dl>
                <dt>{t('regionCongestion')}</dt><dd>{r ? num(r.congestionIndex, 2) : '–'}</dd>
                <dt>{t('regionQueued')}</dt><dd>{r ? num(r.queued, 0) : '–'}<small> {t('unitVehicles')}</small></dd>
                <dt>{t('regionSpeed')}</dt><dd>{r ? num(r.meanSpeed * 3.6, 0) : '–'}<small> {t('unitKmh')}</small></dd>
                <dt>{t('regionStanding')}</dt><dd>{r ? num(r.standingLanes, 0) : '–'}</dd>
              </dl>
            </div>
          );
        })}
      </div>
    </section>
  );
}

/** simulated seconds a controller fault stays an alarm on the wall */
const FAULT_ALARM_SECONDS = 300;

export interface WallAlarmsProps {
  kpi: KpiSample | undefined;
  incidents: Incident[];
  faults: ControllerFault[] | null;
  /** simulated seconds now */
  now: number;
  /** wall seconds since the last live state, when that is stale; null when fresh */
  staleFor: number | null;
  /** intersections by their streets where the network names them */
  view: NetworkView;
}

/** The alarms, each a band that cannot be missed (gridlock, incidents, controller faults, stale data), or a calm "no alarms". */
export function WallAlarms({ kpi, incidents, faults, now, staleFor, view }: WallAlarmsProps) {
  const { t, num } = useI18n();
  const recentFaults = (faults ?? []).filter((f) => f.time >= now - FAULT_ALARM_SECONDS);
  const any = kpi?.gridlock || incidents.length > 0 || recentFaults.length > 0 || staleFor !== null;
  return (
    <div className="wall-alarms" role="region" aria-label={t('alarmsTitle')} data-testid="wall-alarms">
      {staleFor !== null && <div className="alarm stale" role="alert" data-alarm="stale">{t('alarmStale', { age: formatDuration(staleFor) })}</div>}
      <GridlockAlarm kpi={kpi} />
      {incidents.length > 0 && <div className="alarm" role="alert" data-alarm="incidents">{t('alarmIncidents', { n: num(incidents.length, 0) })}</div>}
      {recentFaults.length > 0 && (
        <div className="alarm fault" role="alert" data-alarm="faults">
          {t('alarmFaults', { n: num(recentFaults.length, 0) })}: {[...new Set(recentFaults.map((f) => f.intersection))].slice(0, 4).map((id) => intersectionName(view, id)).join(', ')}
        </div>
      )}
      {!any && <div className="all-clear" data-alarm="none">✓ {t('alarmAllClear')}</div>}
    </div>
  );
}

function Figure({ def, kpis }: { def: KpiDef; kpis: KpiSample[] }) {
  const { t, num } = useI18n();
  // a sparkline: the figure above says the value, the line its course (no value axis to crowd it)
  const option = useMemo(() => {
    const o = timeSeriesOption([{ name: t(def.key), data: kpis.map((k) => [k.t, def.value(k)]), colour: def.colour }], { min: 0, integer: def.integer }) as Record<string, object>;
    return { ...o, grid: { left: 8, right: 8, top: 6, bottom: 22 }, yAxis: { ...o.yAxis, axisLabel: { show: false } } };
  }, [kpis, def, t]);
  const last = kpis.at(-1);
  return (
    <section className="wall-figure" data-kpi={def.key} title={t(def.definition)}>
      <h3>{t(def.key)}</h3>
      <span className="wall-value" style={{ color: def.colour }}>
        {last ? num(def.value(last), def.digits) : '–'}
        {def.unit && <small> {t(def.unit)}</small>}
      </span>
      <Chart option={option} height={60} label={t(def.key)} />
    </section>
  );
}

/** The city's figures, large, each with its recent course. */
export function WallFigures({ kpis }: { kpis: KpiSample[] }) {
  const { t, num } = useI18n();
  const last = kpis.at(-1);
  return (
    <div className="wall-figures">
      <section className="wall-figure" data-kpi="kpiVehicles" title={t('kpiVehiclesDef')}>
        <h3>{t('kpiVehicles')}</h3>
        <span className="wall-value">{last ? num(last.vehiclesInNetwork, 0) : '–'}</span>
      </section>
      {KPIS.map((def) => <Figure key={def.key} def={def} kpis={kpis} />)}
    </div>
  );
}
