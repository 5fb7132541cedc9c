import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
// Chinese and Korean render on any machine, with or without a CJK system font (OFL-licensed Noto Sans,
// split by unicode range: the browser fetches only the pieces of the glyphs on screen, from this server)
import '@fontsource-variable/noto-sans-sc/index.css';
import '@fontsource-variable/noto-sans-kr/index.css';
import './styles.css';

// `?fixture=demo|vehicles20k|small|sandbox` runs the dashboard on the twin in the browser (no server; see README)
const params = new URLSearchParams(location.search);
const period = Number(params.get('period'));
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App fixture={params.get('fixture')} fixturePeriodMs={period > 0 ? period : undefined} />
  </StrictMode>,
);
