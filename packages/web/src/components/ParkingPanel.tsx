import { useEffect, useMemo, useState } from 'react';
import { useI18n, useSession } from '../context.js';
import { Chart, timeSeriesOption } from '../charts/Chart.js';
import { AVAILABILITY_COLOUR, availabilityOf, formatMoney, type ParkingBucket, type ParkingReservation, type ParkingSiteView } from '../parking.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import { ErrorLine } from './ErrorLine.js';
import type { ParkingState } from './useParking.js';
import { PARKING_POLL_MS } from './useParking.js';

export interface ParkingPanelProps {
  parking: ParkingState;
  selected: string | null;
  onSelect(site: ParkingSiteView): void;
}

/** A site's occupancy over time (the stored 5-minute buckets) and the reservations, newest first; read again every few seconds. */
function useSiteDetail(site: string | null) {
  const { api } = useSession();
  const [buckets, setBuckets] = useState<ParkingBucket[] | null>(null);
  const [reservations, setReservations] = useState<ParkingReservation[] | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  useEffect(() => {
    const avail = api.parkingAvailability;
    const list = api.parkingReservations;
    if (!avail || !list) return;
    let live = true;
    setBuckets(null);
    const load = () => Promise.all([site ? avail(site) : Promise.resolve([]), list({ site: site ?? undefined, limit: 20 })]).then(([b, r]) => {
      if (!live) return;
      setBuckets(b);
      setReservations(r);
      setError(null);
    }, (e: unknown) => live && setError(errorInfo(e)));
    load();
    const timer = setInterval(load, PARKING_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api, site]);
  return { buckets, reservations, error };
}

function OccupancyChart({ buckets, site }: { buckets: ParkingBucket[]; site: ParkingSiteView }) {
  const { t } = useI18n();
  const first = buckets[0]?.bucket ?? 0;
  const option = useMemo(() => timeSeriesOption([
    { name: t('parkingOccupied'), data: buckets.map((b) => [(b.bucket - first) / 1000, b.occupied]), colour: '#f97316' },
    { name: t('parkingFree'), data: buckets.map((b) => [(b.bucket - first) / 1000, b.free]), colour: '#22c55e' },
  ], { min: 0, max: site.live.sensored, integer: true, legend: true, xName: t('parkingSince', { time: new Date(first).toLocaleTimeString() }) }), [buckets, first, site.live.sensored, t]);
  return <Chart option={option} height={140} label={t('parkingOverTime')} />;
}

export function ParkingPanel({ parking, selected, onSelect }: ParkingPanelProps) {
  const { t, num } = useI18n();
  const detail = useSiteDetail(selected);
  const sites = parking.sites ?? [];
  const site = sites.find((s) => s.id === selected) ?? null;
  if (parking.unavailable) {
    return (
      <div className="parking">
        <h2>{t('parkingTitle')}</h2>
        <p className="muted">{t('notAvailable')}</p>
      </div>
    );
  }
  const totals = sites.reduce((a, s) => ({ free: a.free + s.live.free, sensored: a.sensored + s.live.sensored, reserved: a.reserved + s.live.reserved }), { free: 0, sensored: 0, reserved: 0 });
  return (
    <div className="parking" data-testid="parking-panel">
      <h2>{t('parkingTitle')}</h2>
      <p className="muted small">{t('parkingHint')}</p>
      {parking.error && <ErrorLine error={parking.error} />}
      {parking.sites === null && !parking.error && <p className="muted">{t('loading')}</p>}
      {parking.sites !== null && (
        <p data-testid="parking-totals">{t('parkingTotals', { free: num(totals.free, 0), bays: num(totals.sensored, 0), reserved: num(totals.reserved, 0), sites: num(sites.length, 0) })}</p>
      )}
      <ul className="parking-sites">
        {sites.map((s) => {
          const a = availabilityOf(s.live);
          const [r, g, b] = AVAILABILITY_COLOUR[a];
          return (
            <li key={s.id} data-site={s.id} className={s.id === selected ? 'selected' : ''}>
              <button type="button" aria-pressed={s.id === selected} onClick={() => onSelect(s)}>
                <i className="parking-dot" style={{ background: `rgb(${r},${g},${b})` }} /> <b>{s.name}</b>{' '}
                <span data-testid="parking-free">{t('parkingFreeOf', { free: num(s.live.free, 0), bays: num(s.live.sensored, 0) })}</span>{' '}
                <small className="muted">{t(`parkingState_${a}`)}</small>
              </button>
            </li>
          );
        })}
      </ul>
      {site && (
        <section data-testid="parking-site">
          <h3>{site.name}</h3>
          <p className="muted small">
            {t('parkingTariff', { rate: formatMoney(site.tariff.perHour, site.tariff.currency), free: site.tariff.freeMinutes })}
            {site.tariff.dailyCap !== null && <> · {t('parkingCap', { cap: formatMoney(site.tariff.dailyCap, site.tariff.currency) })}</>}
          </p>
          <p>{t('parkingSiteLive', { occupied: num(site.live.occupied, 0), reserved: num(site.live.reserved, 0), free: num(site.live.free, 0) })}</p>
          <h4>{t('parkingOverTime')}</h4>
          {detail.buckets === null && !detail.error && <p className="muted">{t('loading')}</p>}
          {detail.buckets !== null && detail.buckets.length === 0 && <p className="muted">{t('parkingNoHistory')}</p>}
          {detail.buckets !== null && detail.buckets.length > 0 && <OccupancyChart buckets={detail.buckets} site={site} />}
        </section>
      )}
      <section data-testid="parking-reservations">
        <h3>{site ? t('parkingReservationsAt', { site: site.name }) : t('parkingReservations')}</h3>
        {detail.error && <ErrorLine error={detail.error} />}
        {detail.reservations !== null && detail.reservations.length === 0 && <p className="muted">{t('parkingNoReservations')}</p>}
        <ul className="parking-reservations">
          {(detail.reservations ?? []).map((r) => (
            <li key={r.id} data-reservation={r.id} data-status={r.status}>
              <b>{r.bay}</b> {new Date(r.from).toLocaleTimeString()}–{new Date(r.to).toLocaleTimeString()}{' '}
              <span className={`res-status ${r.status}`}>{t(`parkingRes_${r.status}`)}</span>{' '}
              <small className="muted">{formatMoney(r.price, r.currency)}</small>
              {r.blockedAt !== null && <span className="warn" data-testid="parking-blocked"> · {t('parkingBlocked')}</span>}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
