// What tests and the frame-rate probe read from the page: `window.__citybrain`,
// set by the map. Kept apart so the Node-side tests share the type.

export interface MapDebug {
  /** page pixel of a network point, or null before the map is drawn */
  project(x: number, y: number): [number, number] | null;
  /** moves the camera (centre in metres, zoom = log2 pixels per metre) */
  setView(x: number, y: number, zoom: number): void;
  /** the camera's zoom now and the zooms it may take: the fit, the least and the most (log2 pixels per metre) */
  zoom(): { zoom: number; fit: number; min: number; max: number };
  /** frames deck.gl has drawn */
  renders: number;
  /** items per layer in the last render (lanes, intersections, vehicles, corridor, …) */
  stats: Record<string, number>;
}

declare global {
  interface Window {
    __citybrain?: MapDebug;
  }
}
