// Checks that dist/ holds all four kpiflow plugins the way Grafana loads them.
// Run after `npm run build` (and optionally after `mage`): `npm run test:dist`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = process.env.KPIFLOW_DIST ? path.resolve(process.env.KPIFLOW_DIST) : path.join(root, 'dist');

const plugins = [
  { dir: '.', id: 'kpiflow-app', type: 'app' },
  { dir: 'datasource', id: 'kpiflow-clickhouse-datasource', type: 'datasource' },
  { dir: 'panels/taskflow', id: 'kpiflow-taskflow-panel', type: 'panel' },
  { dir: 'panels/forecast', id: 'kpiflow-forecast-panel', type: 'panel' },
];

const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));

test('dist exists', () => {
  assert.ok(fs.existsSync(dist), `${dist} is missing: run npm run build first`);
});

for (const p of plugins) {
  test(`${p.id} in dist/${p.dir}`, () => {
    const dir = path.join(dist, p.dir);
    const manifestPath = path.join(dir, 'plugin.json');
    const modulePath = path.join(dir, 'module.js');
    assert.ok(fs.existsSync(manifestPath), `${manifestPath} missing`);
    assert.ok(fs.existsSync(modulePath), `${modulePath} missing`);

    const manifest = readJson(manifestPath);
    assert.equal(manifest.id, p.id);
    assert.equal(manifest.type, p.type);
    assert.ok(!JSON.stringify(manifest).includes('%VERSION%'), 'version placeholder not replaced');
    assert.ok(!JSON.stringify(manifest).includes('%TODAY%'), 'date placeholder not replaced');
    assert.match(manifest.info.version, /^\d+\.\d+\.\d+/);

    // Grafana loads module.js as an AMD module (SystemJS).
    const moduleJs = fs.readFileSync(modulePath, 'utf8');
    assert.match(moduleJs, /define\(/, 'module.js is not an AMD module');
    assert.ok(moduleJs.length > 200, 'module.js is suspiciously small');

    for (const logo of new Set([manifest.info.logos.small, manifest.info.logos.large])) {
      const logoPath = path.join(dir, logo);
      assert.ok(fs.existsSync(logoPath), `${logoPath} (named in plugin.json) missing`);
      assert.match(fs.readFileSync(logoPath, 'utf8'), /<svg/);
    }
  });
}

test('app manifest includes the three nested plugins by path', () => {
  const app = readJson(path.join(dist, 'plugin.json'));
  const included = app.includes.filter((i) => i.path && i.path.endsWith('plugin.json'));
  const byPath = Object.fromEntries(included.map((i) => [i.path, i.type]));
  for (const p of plugins.slice(1)) {
    const rel = `${p.dir}/plugin.json`;
    assert.equal(byPath[rel], p.type, `app plugin.json does not include ${rel} as ${p.type}`);
    assert.ok(fs.existsSync(path.join(dist, rel)));
  }
});

test('data source is a backend, alerting, streaming plugin with executable gpx_kpiflow', () => {
  const ds = readJson(path.join(dist, 'datasource', 'plugin.json'));
  assert.equal(ds.backend, true);
  assert.equal(ds.alerting, true);
  assert.equal(ds.streaming, true);
  assert.equal(ds.executable, 'gpx_kpiflow');
});

test('backend binaries, when built, sit beside the data source manifest', (t) => {
  const dsDir = path.join(dist, 'datasource');
  const bins = fs.readdirSync(dsDir).filter((f) => f.startsWith('gpx_kpiflow_'));
  if (bins.length === 0) {
    t.skip('no gpx_kpiflow_<os>_<arch> yet (run mage after npm run build)');
    return;
  }
  for (const b of bins) {
    assert.match(b, /^gpx_kpiflow_(linux|darwin|windows)_(amd64|arm64|arm)(\.exe)?$/);
    const mode = fs.statSync(path.join(dsDir, b)).mode;
    if (!b.endsWith('.exe')) {
      assert.ok(mode & 0o111, `${b} is not executable`);
    }
  }
  // No stray copies of the binary at the top of dist (the app itself has no backend).
  assert.deepEqual(
    fs.readdirSync(dist).filter((f) => f.startsWith('gpx_')),
    [],
    'gpx_* binaries belong in dist/datasource/'
  );
});
