import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import './styles.css';

// `?fixture=demo|vehicles20k|small|sandbox` runs the dashboard on the twin in the browser (no server; see README)
const params = new URLSearchParams(location.search);
const period = Number(params.get('period'));
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App fixture={params.get('fixture')} fixturePeriodMs={period > 0 ? period : undefined} />
  </StrictMode>,
);
