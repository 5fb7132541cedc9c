// A thin React wrapper over ECharts (tree-shaken: line and bar charts, canvas renderer).
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useMemo, useRef } from 'react';
import { BASE_FONT_PX, useUiScale } from '../scale.js';

echarts.use([LineChart, BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export type ChartOption = echarts.EChartsCoreOption;

/**
 * `height`: px at the base scale; the chart's box and its text grow with the
 * dashboard's scale (scale.ts), tick labels never under 12 px.
 */
export function Chart({ option, height, label }: { option: ChartOption; height: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const scale = useUiScale();
  const scaled = useMemo(() => scaleOption(option, scale), [option, scale]);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    const el = box.current!;
    const c = echarts.init(el, 'dark', { renderer: 'canvas' });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption(scaled, { lazyUpdate: true });
  }, [scaled]);
  // data-tick-px: the px its axis labels are drawn at (canvas text the page cannot measure otherwise)
  return <div className="chart" ref={box} style={{ height: `${height / BASE_FONT_PX}rem` }} role="img" aria-label={label} data-tick-px={tickPx(scale)} />;
}

/** chart text px at `scale`: 12 at the base, never less */
const tickPx = (scale: number) => Math.max(12, Math.round(12 * scale));

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const each = (x: unknown, f: (o: Obj) => Obj): unknown => (Array.isArray(x) ? x.map((o) => (isObj(o) ? f(o) : o)) : isObj(x) ? f(x) : x);

/** The option with its text, grid margins and axis-name gaps grown by `scale` (text at least 12 px). */
export function scaleOption(option: ChartOption, scale: number): ChartOption {
  const font = tickPx(scale);
  const px = (v: unknown) => (typeof v === 'number' ? Math.round(v * scale) : v);
  const text = (o: unknown) => ({ ...(isObj(o) ? o : {}), fontSize: font });
  const axis = (a: Obj): Obj => ({ ...a, axisLabel: text(a.axisLabel), nameTextStyle: text(a.nameTextStyle), ...(typeof a.nameGap === 'number' ? { nameGap: px(a.nameGap) } : {}) });
  const o = option as Obj;
  return {
    ...o,
    xAxis: each(o.xAxis, axis),
    yAxis: each(o.yAxis, axis),
    grid: each(o.grid, (g) => ({ ...g, left: px(g.left), right: px(g.right), top: px(g.top), bottom: px(g.bottom) })),
    ...(o.legend ? { legend: each(o.legend, (l) => ({ ...l, textStyle: text(l.textStyle), itemWidth: px(l.itemWidth ?? 25), itemHeight: px(l.itemHeight ?? 14) })) } : {}),
    tooltip: each(o.tooltip, (t) => ({ ...t, textStyle: text(t.textStyle) })),
  };
}

/** Common look of the dashboard's time-series charts. */
export function timeSeriesOption(series: { name: string; data: [number, number][]; colour: string }[], opts: { yName?: string; xName?: string; legend?: boolean; min?: number; max?: number; integer?: boolean } = {}): ChartOption {
  return {
    backgroundColor: 'transparent',
    animation: false,
    grid: { left: 40, right: 12, top: opts.legend ? 28 : 10, bottom: opts.xName ? 36 : 22 },
    tooltip: { trigger: 'axis' },
    legend: opts.legend ? { top: 0, textStyle: { color: '#cbd5e1' } } : undefined,
    xAxis: {
      type: 'value', min: 'dataMin', max: 'dataMax', name: opts.xName, nameLocation: 'middle', nameGap: 22,
      splitNumber: 3,
      axisLabel: { formatter: (v: number) => clock(v), color: '#94a3b8', hideOverlap: true },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'value', name: opts.yName, min: opts.min, max: opts.max, splitNumber: 3,
      // a count never has a tick at 0.5
      minInterval: opts.integer ? 1 : undefined,
      axisLabel: { color: '#94a3b8', formatter: (v: number) => compact(v) }, splitLine: { lineStyle: { color: '#1e293b' } },
    },
    series: series.map((s) => ({
      name: s.name, type: 'line', data: s.data, showSymbol: false, smooth: false, sampling: 'lttb',
      lineStyle: { width: 2, color: s.colour }, itemStyle: { color: s.colour },
      areaStyle: series.length === 1 ? { color: s.colour, opacity: 0.12 } : undefined,
    })),
  };
}

/** simulated seconds as h:mm:ss (m:ss under an hour) */
function clock(t: number): string {
  const s = Math.round(t);
  const mm = Math.floor((s % 3600) / 60), ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** axis numbers in at most ~4 characters: 350000 → 350k */
function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  return `${+v.toFixed(2)}`;
}
