// What tests and the frame-rate probe read from the page: `window.__citybrain`,
// set by the map. Kept apart so the Node-side tests share the type.

export interface MapDebug {
  /** page pixel of a network point, or null before the map is drawn */
  project(x: number, y: number): [number, number] | null;
  /** moves the camera (centre in metres, zoom = log2 pixels per metre) */
  setView(x: number, y: number, zoom: number): void;
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
