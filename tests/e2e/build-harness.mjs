// Bundles the browser harness (React, @grafana/ui and the panels) with esbuild.
import * as esbuild from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const started = Date.now();
await esbuild.build({
  entryPoints: [path.join(here, 'harness', 'index.tsx')],
  outfile: path.join(here, 'harness', 'build', 'harness.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  loader: {
    '.svg': 'dataurl',
    '.png': 'dataurl',
    '.woff': 'dataurl',
    '.woff2': 'dataurl',
    '.ttf': 'dataurl',
    '.eot': 'dataurl',
  },
});
// Monaco's editor worker, which the harness page hands to Monaco as Grafana does
// (MonacoEnvironment.getWorkerUrl), so the editor does not fall back to the main thread.
await esbuild.build({
  entryPoints: [path.join(here, '..', '..', 'node_modules', 'monaco-editor', 'esm', 'vs', 'editor', 'editor.worker.js')],
  outfile: path.join(here, 'harness', 'build', 'editor.worker.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  logLevel: 'warning',
});
console.log(`harness built in ${Date.now() - started} ms`);
