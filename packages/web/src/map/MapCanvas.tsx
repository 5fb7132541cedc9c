// deck.gl on a flat metric plane (OrthographicView, y north): the network is
// drawn from its own geometry, so the map needs no tiles and works offline.
import { OrthographicView, type LayersList, type OrthographicViewState, type PickingInfo } from '@deck.gl/core';
import DeckGL, { type DeckGLRef } from '@deck.gl/react';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useI18n } from '../context.js';
import type { MapDebug } from '../debug.js';
import { fitZoom, type Bounds } from './geometry.js';

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

export function MapCanvas({ bounds, layers, onClick, getTooltip, onZoom, stats, cursor, focus, children }: MapCanvasProps) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const deck = useRef<DeckGLRef<OrthographicView>>(null);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [viewState, setViewState] = useState<OrthographicViewState | null>(null);
  // the camera's zoom now (the view is deck's own once drawn) and the limits the fit set
  const zoomNow = useRef(0);
  const fitZoomRef = useRef(0);

  const fit = useCallback((w: number, h: number, animate: boolean) => {
    const zoom = fitZoom(bounds, w, h);
    zoomNow.current = fitZoomRef.current = zoom;
    setViewState({
      target: [(bounds.minX + bounds.maxX) / 2, (bounds.minY + bounds.maxY) / 2, 0], zoom, minZoom: zoom - 3, maxZoom: 6,
      ...(animate ? { transitionDuration: 300 } : {}),
    });
    onZoom?.(zoom);
  }, [bounds, onZoom]);

  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setSize((s) => (s && s.w === el.clientWidth && s.h === el.clientHeight ? s : { w: el.clientWidth, h: el.clientHeight })));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // fit once the box has a size, and again when the network changes
  const fitted = useRef<Bounds | null>(null);
  useEffect(() => {
    if (size && size.w > 0 && size.h > 0 && fitted.current !== bounds) {
      fitted.current = bounds;
      fit(size.w, size.h, false);
    }
  }, [size, bounds, fit]);

  useEffect(() => {
    if (!focus) return;
    const zoom = Math.min(6, Math.max(zoomNow.current, focus.minZoom));
    zoomNow.current = zoom;
    setViewState({ target: [focus.x, focus.y, 0], zoom, minZoom: fitZoomRef.current - 3, maxZoom: 6, transitionDuration: 300 });
    onZoom?.(zoom);
    // only a new focus moves the camera
  }, [focus]);

  const onZoomRef = useRef(onZoom);
  onZoomRef.current = onZoom;
  const debug = useRef<MapDebug>({ project: () => null, setView: () => undefined, renders: 0, stats: {} });
  useEffect(() => {
    debug.current.project = (x, y) => {
      const vp = deck.current?.deck?.getViewports()[0];
      const r = box.current?.getBoundingClientRect();
      if (!vp || !r) return null;
      const [px, py] = vp.project([x, y]);
      return [r.left + px, r.top + py];
    };
    debug.current.setView = (x, y, zoom) => {
      zoomNow.current = zoom;
      onZoomRef.current?.(zoom);
      deck.current?.deck?.setProps({ initialViewState: { target: [x, y, 0], zoom, minZoom: zoom - 3, maxZoom: 6 } });
    };
    window.__citybrain = debug.current;
  }, []);
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
          <button type="button" className="fit" onClick={() => fit(size.w, size.h, true)}>
            {t('fitView')}
          </button>
        )}
      </div>
    </div>
  );
}
