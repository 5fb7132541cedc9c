import { defineConfig } from 'vite';

// The dashboard is served by the CityBrain server (same origin as the API), so
// asset URLs are relative and the build works under any path prefix.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes('node_modules/@deck.gl') || id.includes('node_modules/@luma.gl') || id.includes('node_modules/@math.gl') || id.includes('node_modules/@loaders.gl')) return 'deckgl';
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (id.includes('node_modules/react')) return 'react';
        },
      },
    },
  },
  server: {
    // `npm run dev -w @citybrain/web` against a server on :8080
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
