import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// `sluice run` (or a host service) serves the built files under a prefix it chooses and rewrites
// index.html's <base href>; relative asset URLs follow it. `npm run dev` proxies the API to a running
// `sluice run` (SLUICE_API, default http://127.0.0.1:8080).
const api = process.env['SLUICE_API'] ?? 'http://127.0.0.1:8080';

// The API refuses writes whose Origin is not its own: the proxy speaks for the page.
const proxy = {
  '/api': {
    target: api,
    changeOrigin: true,
    configure: (server: { on(event: 'proxyReq', listener: (request: { getHeader(name: string): unknown; setHeader(name: string, value: string): void }) => void): void }) => {
      server.on('proxyReq', (request) => {
        if (request.getHeader('origin') !== undefined) request.setHeader('origin', new URL(api).origin);
      });
    },
  },
};

/** The policy the console must live with (CodeMirror's style elements need style-src to allow them). */
const CSP = process.env['SLUICE_CSP'] ?? "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'";

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
    proxy,
  },
  // `vite preview` serves the build with the CSP `sluice run` sends, so violations show in the browser.
  preview: {
    proxy,
    headers: { 'content-security-policy': CSP },
  },
});
