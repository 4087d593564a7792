import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// `sluice run` (or a host service) serves the built files under a prefix it chooses and rewrites
// index.html's <base href>; relative asset URLs follow it. `npm run dev` proxies the API to a running
// `sluice run` (SLUICE_API, default http://127.0.0.1:8080).
const api = process.env['SLUICE_API'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: './',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The server's CSP is script-src 'self': no inline module-preload polyfill script.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: { '/api': { target: api, changeOrigin: false } },
  },
});
