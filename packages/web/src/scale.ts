// The dashboard's scale: the root font size, which the stylesheet sets from the
// viewport (styles.css, :root), over the 14 px the layout was drawn at. What
// CSS cannot size (canvas text in charts, pixel sizes on the map) follows it.
import { useEffect, useState } from 'react';

/** The root font size the layout's pixel figures were drawn at. */
export const BASE_FONT_PX = 14;

function current(): number {
  const px = parseFloat(getComputedStyle(document.documentElement).fontSize);
  return Number.isFinite(px) && px > 0 ? px / BASE_FONT_PX : 1;
}

/** The scale now, updated when the window is resized or wall mode changes the root size. */
export function useUiScale(): number {
  const [scale, setScale] = useState(current);
  useEffect(() => {
    const update = () => setScale((s) => {
      const n = current();
      return Math.abs(n - s) < 0.01 ? s : n;
    });
    window.addEventListener('resize', update);
    // wall mode switches a class on the root element
    const mo = new MutationObserver(update);
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    update();
    return () => {
      window.removeEventListener('resize', update);
      mo.disconnect();
    };
  }, []);
  return scale;
}
