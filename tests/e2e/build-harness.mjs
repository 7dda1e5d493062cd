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
console.log(`harness built in ${Date.now() - started} ms`);
