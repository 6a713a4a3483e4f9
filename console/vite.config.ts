import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The admin console: built into the repository's dist/console, which the gateway serves at /console/. */
export default defineConfig({
  root: here('.'),
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: here('../dist/console'),
    // dist/ also holds the compiled server: empty only our own folder.
    emptyOutDir: true,
    // React and recharts are most of the bundle: their own chunk stays cached across app releases.
    rolldownOptions: {
      output: { codeSplitting: { groups: [{ name: 'vendor', test: /node_modules/ }] } },
    },
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npx vite --config console/vite.config.ts` against a gateway on :8080.
    proxy: { '/admin': 'http://localhost:8080' },
  },
});
