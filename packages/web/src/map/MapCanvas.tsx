// deck.gl on a flat metric plane (OrthographicView, y north): the network is
// drawn from its own geometry, so the map needs no tiles and works offline.
import { OrthographicView, type LayersList, type OrthographicViewState, type PickingInfo } from '@deck.gl/core';
import DeckGL, { type DeckGLRef } from '@deck.gl/react';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useI18n } from '../context.js';
import type { MapDebug } from '../debug.js';
import { zoomLimits, type Bounds, type ZoomLimits } from './geometry.js';

const VIEW = new OrthographicView({ id: 'map', flipY: false, controller: true });

/**
 * True when WebGL runs on the CPU (SwiftShader, llvmpipe: headless or GPU-less
 * machines). Multisampling is nearly free on a GPU but there it doubles the
 * cost of every frame, so it is turned off.
 */
function softwareWebGL(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch {
    return false;
  }
}
const DEVICE_PROPS = { type: 'webgl' as const, webgl: { antialias: !softwareWebGL() } };

/** A point to centre the map on; a new object each time (the same point twice centres twice). */
export interface MapFocus {
  x: number;
  y: number;
  /** zoom in to at least this (log2 pixels per metre); a closer view is kept */
  minZoom: number;
}

export interface MapCanvasProps {
  bounds: Bounds;
  /** metres between neighbouring intersections (networkSpacing): how far in the map may zoom */
  spacing: number;
  layers: LayersList;
  onClick?: (info: PickingInfo) => void;
  getTooltip?: (info: PickingInfo) => string | null;
  onZoom?: (zoom: number) => void;
  stats?: Record<string, number>;
  cursor?: string;
  focus?: MapFocus | null;
  /** overlay controls (legend, toggles) drawn over the map */
  children?: ReactNode;
}

export function MapCanvas({ bounds, spacing, layers, onClick, getTooltip, onZoom, stats, cursor, focus, children }: MapCanvasProps) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const deck = useRef<DeckGLRef<OrthographicView>>(null);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [viewState, setViewState] = useState<OrthographicViewState | null>(null);
  const onZoomRef = useRef(onZoom);
  onZoomRef.current = onZoom;
  // the camera now (the view is deck's own once drawn) and the zooms it may take in this box
  const zoomNow = useRef(0);
  const targetNow = useRef<[number, number]>([0, 0]);
  const limits = useRef<ZoomLimits>({ fit: 0, min: -3, max: 6 });
  // every camera change goes through here: deck's controller keeps wheel and pinch zoom within the view state's limits
  const move = useCallback((x: number, y: number, zoom: number, animate: boolean) => {
    const z = Math.min(limits.current.max, Math.max(limits.current.min, zoom));
    zoomNow.current = z;
    targetNow.current = [x, y];
    setViewState({ target: [x, y, 0], zoom: z, minZoom: limits.current.min, maxZoom: limits.current.max, ...(animate ? { transitionDuration: 300 } : {}) });
    onZoomRef.current?.(z);
  }, []);

  const fit = useCallback((animate: boolean) => {
    move((bounds.minX + bounds.maxX) / 2, (bounds.minY + bounds.maxY) / 2, limits.current.fit, animate);
  }, [bounds, move]);

  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setSize((s) => (s && s.w === el.clientWidth && s.h === el.clientHeight ? s : { w: el.clientWidth, h: el.clientHeight })));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // the limits follow the box; fit once it has a size and again when the network changes, else keep the camera within the new limits
  const fitted = useRef<Bounds | null>(null);
  useEffect(() => {
    if (!size || size.w <= 0 || size.h <= 0) return;
    limits.current = zoomLimits(bounds, spacing, size.w, size.h);
    if (fitted.current !== bounds) {
      fitted.current = bounds;
      fit(false);
    } else {
      move(targetNow.current[0], targetNow.current[1], zoomNow.current, false);
    }
  }, [size, bounds, spacing, fit, move]);

  useEffect(() => {
    if (!focus) return;
    move(focus.x, focus.y, Math.max(zoomNow.current, focus.minZoom), true);
    // only a new focus moves the camera
  }, [focus]);

  const debug = useRef<MapDebug>({ project: () => null, setView: () => undefined, zoom: () => ({ zoom: 0, fit: 0, min: 0, max: 0 }), renders: 0, stats: {} });
  useEffect(() => {
    debug.current.project = (x, y) => {
      const vp = deck.current?.deck?.getViewports()[0];
      const r = box.current?.getBoundingClientRect();
      if (!vp || !r) return null;
      const [px, py] = vp.project([x, y]);
      return [r.left + px, r.top + py];
    };
    // within the limits, as any other camera move
    debug.current.setView = (x, y, zoom) => move(x, y, zoom, false);
    debug.current.zoom = () => ({ zoom: zoomNow.current, ...limits.current });
    window.__citybrain = debug.current;
  }, [move]);
  useEffect(() => {
    debug.current.stats = stats ?? {};
  }, [stats]);
  // our own tooltip (not deck's): its text is computed on every render, so it
  // follows the live figures and the language while the pointer rests
  const [hover, setHover] = useState<PickingInfo | null>(null);
  const tip = hover && getTooltip ? getTooltip(hover) : null;

  return (
    <div className="map" ref={box} style={cursor ? { cursor } : undefined}>
      {viewState && (
        <DeckGL
          ref={deck}
          views={VIEW}
          deviceProps={DEVICE_PROPS}
          initialViewState={viewState}
          layers={layers}
          onClick={onClick}
          onHover={getTooltip ? (info) => setHover(info.object ? info : null) : undefined}
          getCursor={({ isDragging, isHovering }) => cursor ?? (isDragging ? 'grabbing' : isHovering ? 'pointer' : 'grab')}
          onViewStateChange={({ viewState: vs }) => {
            const z = (vs as OrthographicViewState).zoom;
            const target = (vs as OrthographicViewState).target;
            if (target) targetNow.current = [target[0], target[1]];
            if (typeof z === 'number') {
              zoomNow.current = z;
              onZoom?.(z);
            }
          }}
          onAfterRender={() => void debug.current.renders++}
        />
      )}
      <div className="map-overlay">
        {tip && hover && <div className="tooltip" style={{ left: hover.x + 12, top: hover.y + 12 }}>{tip}</div>}
        {children}
        {size && (
          <button type="button" className="fit" onClick={() => fit(true)}>
            {t('fitView')}
          </button>
        )}
      </div>
    </div>
  );
}
