// Arrow IPC vs Grafana's JSON frame encoding for the same task frame (issue 12, docs/benchmarks.md
// "Arrow IPC to panels"): bytes, and decode time in Node, in one run.
//
//   node --expose-gc scripts/bench-arrow.mjs [rows=1000000] [runs=5]
//
// 1. `go test ./pkg/plugin -run TestArrowBenchData` writes, into a temporary directory, a task frame
//    of `rows` rows shaped as tests/fixtures/tasks.arrows' tasks stream (the plugin's POST arrow answer
//    for the taskflow tasks view): tasks.arrows, as the arrow resource encodes it (a record batch per
//    65,536-row block), and tasks.json, Grafana's JSON frame encoding (data.FrameToJSON).
// 2. Each run decodes both, alternately, from bytes to a Grafana data frame with a value array per field:
//    - arrow: the panel's decoder (src/panels/taskflow/arrowDecode.ts: apache-arrow's
//      RecordBatchReader, then each column read into an array);
//    - json: UTF-8 decoding, JSON.parse, then @grafana/data's dataFrameFromJSON (what Grafana's
//      frontend does with /api/ds/query frames);
//    - arrow dict, a what-if: the same table with its low-cardinality string columns dictionary-encoded;
//    and, as a lower bound for each, the raw libraries: tableFromIPC plus each column read into an
//    array, against JSON.parse plus each values array copied.
// Medians of wall and CPU time and their ratios are printed; the temporary directory is removed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rows = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 5);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kpiflow-bench-arrow-'));

try {
  let t0 = Date.now();
  execFileSync('go', ['test', './pkg/plugin', '-run', '^TestArrowBenchData$', '-count=1'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, KPIFLOW_ARROW_BENCH_DIR: tmp, KPIFLOW_ARROW_BENCH_ROWS: String(rows) },
  });
  console.log(`generated ${rows} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // The panel's decoder and Grafana's dataFrameFromJSON, bundled for Node.
  t0 = Date.now();
  const bundle = path.join(tmp, 'decoders.cjs');
  await esbuild.build({
    stdin: {
      contents: `
        export { decodeArrowAnswer } from './src/panels/taskflow/arrowDecode';
        export { dataFrameFromJSON } from '@grafana/data';
        export { Dictionary, Int32, Table, tableFromIPC, tableToIPC, Type, Utf8, vectorFromArray } from 'apache-arrow';`,
      resolveDir: root,
      loader: 'ts',
    },
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'error',
  });
  const arrow = createRequire(import.meta.url)(bundle);
  const { decodeArrowAnswer, dataFrameFromJSON, tableFromIPC } = arrow;
  console.log(`decoders bundled in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const arrowBytes = new Uint8Array(fs.readFileSync(path.join(tmp, 'tasks.arrows')));
  const jsonBytes = new Uint8Array(fs.readFileSync(path.join(tmp, 'tasks.json')));
  const dictBytes = dictionaryEncoded(arrow, arrowBytes, rows);

  const cases = {
    'arrow (panel decoder)': () => {
      const { frames } = decodeArrowAnswer(arrowBytes);
      return frames[0].length;
    },
    'json (JSON.parse + dataFrameFromJSON)': () => {
      const frame = dataFrameFromJSON(JSON.parse(new TextDecoder().decode(jsonBytes)));
      return frame.length;
    },
    'arrow dict (what if: panel decoder)': () => {
      const { frames } = decodeArrowAnswer(dictBytes);
      return frames[0].length;
    },
    'arrow raw (tableFromIPC + columns)': () => {
      const table = tableFromIPC(arrowBytes);
      const cols = table.schema.fields.map((_, i) => Array.from(table.getChildAt(i)));
      return cols[0].length;
    },
    'json raw (JSON.parse + columns)': () => {
      const frame = JSON.parse(new TextDecoder().decode(jsonBytes));
      const cols = frame.data.values.map((v) => Array.from(v));
      return cols[0].length;
    },
  };
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, { wall: [], cpu: [] }]));
  for (let r = 0; r < runs; r++) {
    for (const [name, fn] of Object.entries(cases)) {
      globalThis.gc?.();
      const c0 = process.cpuUsage();
      const w0 = process.hrtime.bigint();
      const n = fn();
      const wall = Number(process.hrtime.bigint() - w0) / 1e6;
      const cpu = process.cpuUsage(c0);
      if (n !== rows) {
        throw new Error(`${name} read ${n} rows, want ${rows}`);
      }
      samples[name].wall.push(wall);
      samples[name].cpu.push((cpu.user + cpu.system) / 1000);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const m = Object.fromEntries(
    Object.entries(samples).map(([k, s]) => [k, { wall: median(s.wall), cpu: median(s.cpu) }])
  );
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(
    `\nrows ${rows}, runs ${runs}, node ${process.version}, load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`
  );
  console.log(
    `what if the string columns with fewer than rows/10 distinct values were dictionary-encoded: ${mb(dictBytes.length)} (${dictBytes.length}), json/dict ${(jsonBytes.length / dictBytes.length).toFixed(2)}x`
  );
  console.log(
    `bytes: arrow ${mb(arrowBytes.length)} (${arrowBytes.length}), json ${mb(jsonBytes.length)} (${jsonBytes.length}), json/arrow ${(jsonBytes.length / arrowBytes.length).toFixed(2)}x`
  );
  for (const [k, v] of Object.entries(m)) {
    console.log(
      `${k.padEnd(40)} median wall ${v.wall.toFixed(0).padStart(6)} ms, cpu ${v.cpu.toFixed(0).padStart(6)} ms`
    );
  }
  const ratio = (a, b, key) => (m[b][key] / m[a][key]).toFixed(2);
  console.log(
    `decode json/arrow-dict (what if): wall ${ratio('arrow dict (what if: panel decoder)', 'json (JSON.parse + dataFrameFromJSON)', 'wall')}x, cpu ${ratio('arrow dict (what if: panel decoder)', 'json (JSON.parse + dataFrameFromJSON)', 'cpu')}x`
  );
  console.log(
    `decode json/arrow: panel path wall ${ratio('arrow (panel decoder)', 'json (JSON.parse + dataFrameFromJSON)', 'wall')}x, cpu ${ratio('arrow (panel decoder)', 'json (JSON.parse + dataFrameFromJSON)', 'cpu')}x; raw wall ${ratio('arrow raw (tableFromIPC + columns)', 'json raw (JSON.parse + columns)', 'wall')}x, cpu ${ratio('arrow raw (tableFromIPC + columns)', 'json raw (JSON.parse + columns)', 'cpu')}x`
  );
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

/**
 * What if: the same table with each string column of fewer than rows/10 distinct values
 * dictionary-encoded (Int32 indices), as the arrow resource does not do today.
 */
function dictionaryEncoded(arrow, bytes, rows) {
  const t = arrow.tableFromIPC(bytes);
  const columns = {};
  t.schema.fields.forEach((f, i) => {
    const v = t.getChildAt(i);
    if (f.type.typeId === arrow.Type.Utf8) {
      const values = Array.from(v);
      if (new Set(values).size < rows / 10) {
        columns[f.name] = arrow.vectorFromArray(values, new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()));
        return;
      }
    }
    columns[f.name] = v;
  });
  return arrow.tableToIPC(new arrow.Table(columns), 'stream');
}
