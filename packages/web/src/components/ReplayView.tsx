import { useCallback, useEffect, useMemo, useState } from 'react';
import { errorText, formatClock, useI18n, useSession } from '../context.js';
import { EMPTY_LANE, VEHICLE_MIN_ZOOM, networkSpacing, vehicleColours } from '../map/geometry.js';
import { laneLayer, stopBarLayer, vehicleLayer } from '../map/layers.js';
import { ReplayLegend } from '../map/Legend.js';
import { MapCanvas } from '../map/MapCanvas.js';
import { cityflowReplay, framesReplay, type ReplaySource } from '../replay/source.js';
import type { ReplayFramesResponse } from '../types.js';

/** A comparison run to replay (from the Compare view). */
export interface CompareReplayRef {
  id: string;
  controller: string;
}

const SPEEDS = [1, 5, 10, 30, 60];
const LANE_COLOUR = EMPTY_LANE;
const CHUNK_SECONDS = 120;

async function loadCompare(api: ReturnType<typeof useSession>['api'], ref: CompareReplayRef): Promise<ReplaySource> {
  const [view, run] = await Promise.all([api.network(), api.compare(ref.id)]);
  const end = run.time ?? Math.max(0, ...(run.series[ref.controller] ?? []).map((p) => p.t));
  const frames: ReplayFramesResponse['frames'] = [];
  // in chunks, so a long run never becomes one huge response
  for (let from = 0; from <= end; from += CHUNK_SECONDS) {
    const r = await api.compareReplay(ref.id, ref.controller, from, Math.min(from + CHUNK_SECONDS, end));
    // both ends are inclusive: skip the frame the previous chunk ended with
    for (const f of r.frames) if (!frames.length || f.t > frames[frames.length - 1].t) frames.push(f);
  }
  return framesReplay(view, frames, `${ref.id} · ${ref.controller}`);
}

async function loadFiles(files: FileList): Promise<ReplaySource> {
  const list = [...files];
  const roadnet = list.find((f) => f.name.endsWith('.json'));
  const replay = list.find((f) => f.name.endsWith('.txt'));
  if (!roadnet) throw new MissingFile('replay_roadnet.json');
  if (!replay) throw new MissingFile('replay.txt');
  return cityflowReplay(await roadnet.text(), new Uint8Array(await replay.arrayBuffer()), `${roadnet.name} + ${replay.name}`);
}

class MissingFile extends Error {
  constructor(readonly file: string) {
    super(file);
  }
}

export function ReplayView({ compare }: { compare: CompareReplayRef | null }) {
  const { api } = useSession();
  const { t } = useI18n();
  const [source, setSource] = useState<ReplaySource | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [index, setIndex] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(10);
  const [zoom, setZoom] = useState(0);
  const zoomedIn = zoom >= VEHICLE_MIN_ZOOM;

  const open = useCallback((p: Promise<ReplaySource>) => {
    setLoading(true);
    setError(null);
    setPlaying(false);
    p.then(
      (s) => (setSource(s), setIndex(0)),
      (e) => setError(e instanceof MissingFile ? t('missingFile', { name: e.file }) : t('replayError', { message: errorText(e) })),
    ).finally(() => setLoading(false));
  }, [t]);
  useEffect(() => {
    if (compare) open(loadCompare(api, compare));
  }, [api, compare, open]);

  // playback: `speed` steps per second of wall time
  useEffect(() => {
    if (!playing || !source) return;
    const timer = setInterval(() => setIndex((i) => (i + 1 >= source.length ? (setPlaying(false), i) : i + 1)), 1000 / speed);
    return () => clearInterval(timer);
  }, [playing, speed, source]);

  const { frame, frameError } = useMemo(() => {
    if (!source) return { frame: null, frameError: null };
    try {
      return { frame: source.frame(Math.min(index, source.length - 1)), frameError: null };
    } catch (e) {
      return { frame: null, frameError: errorText(e) };
    }
  }, [source, index]);
  const colours = useMemo(() => (frame ? vehicleColours(frame.vehicles, 0, frame.n) : new Uint8Array(0)), [frame]);
  const spacing = useMemo(() => networkSpacing(source?.lanes.map((l) => l.path) ?? []), [source]);
  const layers = useMemo(() => {
    if (!source) return [];
    return [
      laneLayer(source.lanes, () => LANE_COLOUR, null, zoom),
      stopBarLayer(source.stopBars, frame?.signals ?? new Uint8Array(source.lanes.length), frame?.t, zoom),
      vehicleLayer('vehicles', frame?.vehicles ?? new Float32Array(0), 0, frame?.n ?? 0, colours, zoomedIn),
    ];
  }, [source, frame, colours, zoomedIn, zoom]);
  const onZoom = useCallback((z: number) => setZoom(Math.floor(z * 2) / 2), []);
  const stats = useMemo(() => ({ lanes: source?.lanes.length ?? 0, vehicles: zoomedIn ? frame?.n ?? 0 : 0, step: index }), [source, frame, zoomedIn, index]);

  return (
    <div className="replay">
      <div className="toolbar">
        <label className="file-button">
          {t('openFiles')}
          <input type="file" multiple accept=".json,.txt" name="replay-files" onChange={(e) => e.target.files && open(loadFiles(e.target.files))} />
        </label>
        <span className="muted small">{t('openFilesHint')}</span>
      </div>
      {loading && <p className="muted">{t('loading')}</p>}
      {error && <p className="error">{error}</p>}
      {frameError && <p className="error">{t('replayError', { message: frameError })}</p>}
      {!source && !loading && <p className="muted page-error">{t('noReplay')}</p>}
      {source && (
        <>
          <div className="toolbar player">
            <button type="button" className="primary" name="play" onClick={() => setPlaying((p) => !p)}>{playing ? t('pauseReplay') : t('play')}</button>
            <input
              type="range" min={0} max={source.length - 1} value={index} aria-label={t('stepOf', { i: index + 1, n: source.length })}
              onChange={(e) => setIndex(Number(e.target.value))} className="slider" name="replay-slider"
            />
            <span data-testid="replay-step">{t('stepOf', { i: index + 1, n: source.length })} · {formatClock(frame?.t ?? 0)}</span>
            <label>
              {t('playbackSpeed')}{' '}
              <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
                {SPEEDS.map((s) => <option key={s} value={s}>{s}×</option>)}
              </select>
            </label>
            <span className="muted small">{t('replaySource', { name: source.name })}</span>
          </div>
          <MapCanvas bounds={source.bounds} spacing={spacing} layers={layers} onZoom={onZoom} stats={stats}>
            <ReplayLegend />
          </MapCanvas>
        </>
      )}
    </div>
  );
}
