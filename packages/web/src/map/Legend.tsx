// The map's key: what every colour and mark on it means. The live view and the
// replay draw different things, so each names its own rows.
import type { ReactNode } from 'react';
import { useI18n } from '../context.js';
import type { MessageKey } from '../i18n.js';
import { AVAILABILITY_COLOUR, type Availability } from '../parking.js';
import {
  AXIS_COLOURS, CORRIDOR_COLOUR, CORRIDOR_OUTLINE, EMPTY_LANE, GREEN_AXES, GRIDLOCK_COLOUR, QUEUE_FULL, SIGNAL_COLOURS, SIGNAL_GREEN, SIGNAL_RED, SIGNAL_YELLOW,
  TRUTH_COLOUR, VEHICLE_FULL_SPEED, YELLOW_PHASE, css, queueColour, speedColour, type GreenAxis,
} from './geometry.js';

export type RampKind = 'speed' | 'queue' | 'vehicleSpeed';
const AXIS_LABELS: Record<GreenAxis, MessageKey> = { ns: 'axisNS', ew: 'axisEW', mixed: 'axisMixed', none: 'axisNone' };
const AVAILABILITIES: readonly Availability[] = ['free', 'few', 'full', 'closed'];

function Ramp({ kind }: { kind: RampKind }) {
  const { t } = useI18n();
  const stops = kind === 'queue' ? [0, 3, 6, 9, 12].map((q) => queueColour(q)) : [0, 0.25, 0.5, 0.75, 1].map((r) => speedColour(r));
  return (
    <>
      <div className="ramp" style={{ background: `linear-gradient(to right, ${stops.map(css).join(',')})` }} />
      {/* the ramp's title between its ends: the legend keeps its height (it sits over the map) */}
      <div className="ramp-labels">
        <span>0</span>
        <span>{t(kind === 'speed' ? 'legendSpeed' : kind === 'queue' ? 'legendQueue' : 'legendVehicleSpeed')}</span>
        <span>{kind === 'queue' ? `${QUEUE_FULL}+` : kind === 'speed' ? '100%' : Math.round(VEHICLE_FULL_SPEED * 3.6)}</span>
      </div>
    </>
  );
}

/** `children`: more entries on the same row */
function SignalRow({ children }: { children?: ReactNode }) {
  const { t } = useI18n();
  return (
    <div className="legend-row">
      {t('legendSignal')}:{' '}
      <span><i className="swatch" style={{ background: css(SIGNAL_COLOURS[SIGNAL_GREEN]) }} /> {t('green')}</span>
      <span><i className="swatch" style={{ background: css(SIGNAL_COLOURS[SIGNAL_YELLOW]) }} /> {t('yellow')}</span>
      <span><i className="swatch" style={{ background: css(SIGNAL_COLOURS[SIGNAL_RED]) }} /> {t('red')}</span>
      {children}
    </div>
  );
}

/**
 * The live map's key. `truth`: the street's ground truth is drawn, with this
 * many vehicles (null: not drawn).
 */
export function LiveLegend({ colourBy, truth, parking = false }: { colourBy: 'speed' | 'queue'; truth: number | null; parking?: boolean }) {
  const { t, num } = useI18n();
  return (
    <div className="legend" data-testid="legend">
      {/* what the map shows is the brain's estimate, as an operations centre sees it */}
      <div className="legend-row legend-view" data-testid="legend-brain">
        <span><i className="swatch vehicle-dot" style={{ background: css(speedColour(1)) }} /> {t('legendBrainView')}</span>
      </div>
      {truth !== null && (
        <div className="legend-row legend-truth" data-testid="legend-truth">
          <span><i className="swatch truth-ring" style={{ borderColor: css(TRUTH_COLOUR) }} /> {t('legendTruth')}</span>
          <span className="muted" data-testid="truth-count" data-count={truth}>{t('truthShown', { n: num(truth, 0) })}</span>
        </div>
      )}
      <Ramp kind={colourBy} />
      <SignalRow>
        <span><i className="swatch" style={{ background: css(EMPTY_LANE) }} /> {t('legendEmpty')}</span>
      </SignalRow>
      {/* an intersection's colour: the axis its phase gives green */}
      <div className="legend-row" data-testid="legend-axes">
        {t('legendIntersection')}:{' '}
        {GREEN_AXES.map((a) => (
          <span key={a}><i className="swatch dot" style={{ background: css(AXIS_COLOURS[a]) }} /> {t(AXIS_LABELS[a])}</span>
        ))}
        <span><i className="swatch dot" style={{ background: css(YELLOW_PHASE) }} /> {t('yellow')}</span>
      </div>
      <div className="legend-row">
        <span data-testid="legend-corridor"><i className="swatch corridor-mark" style={{ background: css(CORRIDOR_COLOUR), borderColor: css(CORRIDOR_OUTLINE) }} /> {t('corridorLegend')}</span>
        <span><i className="swatch incident-mark" /> {t('incidentLegend')}</span>
        <span><i className="swatch gridlock-mark" style={{ borderColor: css(GRIDLOCK_COLOUR) }} /> {t('gridlockLegend')}</span>
      </div>
      {/* the parking sites drawn while the parking panel is open: their colour is their availability */}
      {parking && (
        <div className="legend-row" data-testid="legend-parking">
          {t('legendParking')}:{' '}
          {AVAILABILITIES.map((a) => (
            <span key={a}><i className="swatch dot" style={{ background: css([...AVAILABILITY_COLOUR[a], 255]) }} /> {t(`parkingState_${a}`)}</span>
          ))}
        </div>
      )}
    </div>
  );
}

/** The replay's key: its lanes are one colour, its vehicles coloured by speed, its stop bars by signal. */
export function ReplayLegend() {
  return (
    <div className="legend" data-testid="legend">
      <Ramp kind="vehicleSpeed" />
      <SignalRow />
    </div>
  );
}
