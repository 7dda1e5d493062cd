// Real-browser test of the kpiflow panels and the query editor: serves the esbuild harness on 127.0.0.1 (random port),
// drives Debian's Chromium through playwright-core, asserts on the DOM and saves screenshots to
// test-artifacts/. Run with `npm run e2e` (which builds the harness first).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { RecordBatch, RecordBatchReader, Table, tableToIPC, vectorFromArray } from 'apache-arrow';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const artifacts = path.join(root, 'test-artifacts');
const backendFixture = path.join(root, 'tests', 'fixtures', 'taskflow.json');
const forecastFixture = (name) => path.join(root, 'tests', 'fixtures', `forecast-${name}.json`);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Tasks the Arrow section reads: above the panel's ARROW_TASK_THRESHOLD (5,000). */
const ARROW_TASKS = 20_000;
/** POST arrow request bodies the page sent, by data source uid. */
const arrowRequests = {};

/**
 * A POST arrow answer of `n` tasks in the schema (fields, types, metadata) of the Go fixture's tasks
 * stream (tests/fixtures/tasks.arrows, the plugin's own answer): values cycled from its rows, task ids
 * and times made unique; one record batch per 4,096 rows, as blocks arrive.
 */
function arrowTaskList(n) {
  const reader = RecordBatchReader.from(fs.readFileSync(path.join(root, 'tests', 'fixtures', 'tasks.arrows')));
  const schema = reader.open().schema; // read before the batches: a finished reader forgets it
  const [batch] = [...reader];
  const batches = [];
  for (let lo = 0; lo < n; lo += 4096) {
    const hi = Math.min(n, lo + 4096);
    const children = schema.fields.map((f, j) => {
      const src = batch.getChildAt(j);
      const values = [];
      for (let i = lo; i < hi; i++) {
        const v = src.get(i % batch.numRows);
        values.push(f.name === 'task_id' ? `${v}-${i}` : f.name === 'ts' ? v + i * 1000 : v);
      }
      return vectorFromArray(values, f.type);
    });
    const table = new Table(Object.fromEntries(schema.fields.map((f, j) => [f.name, children[j]])));
    batches.push(new RecordBatch(schema, table.batches[0].data));
  }
  return tableToIPC(new Table(schema, batches), 'stream');
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

let server;
let browser;
let page;
let baseUrl;
const errors = [];

/** POST /api/datasources/uid/<uid>/resources/arrow, as the data source answers it through Grafana. */
function serveArrow(req, res, uid) {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    arrowRequests[uid] = JSON.parse(body);
    if (uid === 'kpiflow-e2e-broken') {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"error":"projects[0]: unknown project \\"FIX\\""}');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/vnd.apache.arrow.stream' })
      .end(Buffer.from(arrowTaskList(ARROW_TASKS)));
  });
}

function serve() {
  const routes = {
    '/': path.join(here, 'harness', 'index.html'),
    '/build/harness.js': path.join(here, 'harness', 'build', 'harness.js'),
    '/build/harness.css': path.join(here, 'harness', 'build', 'harness.css'),
    '/build/editor.worker.js': path.join(here, 'harness', 'build', 'editor.worker.js'),
    '/fixtures/taskflow.json': backendFixture,
    '/fixtures/forecast-completion.json': forecastFixture('completion'),
    '/fixtures/forecast-trend.json': forecastFixture('trend'),
  };
  return new Promise((resolve) => {
    const s = http.createServer((req, res) => {
      const arrow = /^\/api\/datasources\/uid\/([^/]+)\/resources\/arrow$/.exec(new URL(req.url, 'http://x').pathname);
      if (arrow && req.method === 'POST') {
        serveArrow(req, res, arrow[1]);
        return;
      }
      const file = routes[new URL(req.url, 'http://x').pathname];
      if (!file || !fs.existsSync(file)) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      fs.createReadStream(file).pipe(res);
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

before(async () => {
  assert.ok(
    fs.existsSync(path.join(here, 'harness', 'build', 'harness.js')),
    'harness not built: node tests/e2e/build-harness.mjs'
  );
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium`);
  fs.mkdirSync(artifacts, { recursive: true });
  server = await serve();
  baseUrl = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 980, height: 1500 } });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') {
      errors.push(m.text());
    }
  });
  const t0 = Date.now();
  await page.goto(baseUrl, { waitUntil: 'load' });
  await page.waitForSelector('#harness-ready:not([hidden])', { state: 'attached', timeout: 60_000 });
  await page.waitForSelector('[data-testid="kpiflow-taskflow-panel"]', { timeout: 60_000 });
  console.log(`harness rendered in ${Date.now() - t0} ms`);
});

after(async () => {
  await browser?.close();
  await new Promise((r) => (server ? server.close(r) : r()));
});

test('no page errors and nothing injected', async () => {
  const pwned = await page.evaluate(() => window.__pwned);
  assert.equal(pwned, undefined, 'a task title ran as script');
  // 404s are expected: the optional backend fixture when the Go test has not written it, and
  // Grafana's icon files, which only a Grafana server serves.
  const real = errors.filter((e) => !/404|Failed to load resource/.test(e));
  assert.deepEqual(real, []);
});

/**
 * The cumulative flow's colours bottom to top in the middle of the plot, read from uPlot's canvas:
 * each pixel classed by its dominant channel (g: green, b: blue, r: orange), runs merged.
 */
async function stackColours(sec) {
  const canvas = sec.locator('[data-testid="kpiflow-taskflow-cfd"] canvas').first();
  return canvas.evaluate((c) => {
    const ctx = c.getContext('2d');
    const x = Math.floor(c.width / 2);
    const { data } = ctx.getImageData(x, 0, 1, c.height);
    const runs = [];
    for (let y = c.height - 1; y >= 0; y--) {
      const [r, g, b] = [data[y * 4], data[y * 4 + 1], data[y * 4 + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) < 40) {
        continue; // background, grid
      }
      const cls = g > r && g > b ? 'g' : b > r && b > g ? 'b' : 'r';
      const last = runs[runs.length - 1];
      if (last && last[0] === cls) {
        last[1]++;
      } else {
        runs.push([cls, 1]);
      }
    }
    return runs.filter(([, n]) => n >= 3).map(([cls]) => cls);
  });
}

test("taskflow: cumulative flow drawn by Grafana's uPlot TimeSeries, stacked per state category", async () => {
  const sec = page.locator('#taskflow');
  const canvas = sec.locator('[data-testid="kpiflow-taskflow-cfd"] canvas').first();
  const box = await canvas.boundingBox();
  assert.ok(box && box.width > 600 && box.height > 150, `uPlot canvas too small: ${JSON.stringify(box)}`);
  // Grafana's legend, with the category names and colours.
  const legend = await sec
    .locator('[data-testid="kpiflow-taskflow-cfd"] [class*="LegendLabel"], [data-testid="kpiflow-taskflow-cfd"] button')
    .allTextContents();
  for (const name of ['Done', 'In progress', 'To do']) {
    assert.ok(
      legend.some((t) => t.includes(name)),
      `legend misses ${name}: ${JSON.stringify(legend)}`
    );
  }
  // Stacked bottom to top: done (green), in progress (blue), to do (orange).
  assert.deepEqual(await stackColours(sec), ['g', 'b', 'r']);
  // The y axis is formatted by the field config (decimals 0 in the harness): whole numbers.
  await sec.screenshot({ path: path.join(artifacts, 'taskflow.png') });
});

test('taskflow: 50,000 tasks render as a windowed list', async () => {
  const list = page.locator('#taskflow [data-testid="kpiflow-taskflow-task-list"]');
  const rowSel = '[data-testid^="kpiflow-taskflow-task-row"]';
  const total = await page.locator('#taskflow [role="table"]').getAttribute('aria-rowcount');
  assert.equal(Number(total), 50_001);
  const before = await list.locator(rowSel).count();
  assert.ok(before > 0 && before < 100, `rendered ${before} rows`);

  // Scroll deep: the window moves, the DOM stays small. The time is reported,
  // not asserted (a busy CI machine would make any bound flaky).
  const ms = await list.evaluate(async (el) => {
    const t0 = performance.now();
    for (let i = 1; i <= 20; i++) {
      el.scrollTop = (el.scrollHeight * i) / 40;
      el.dispatchEvent(new Event('scroll'));
      await new Promise((r) => requestAnimationFrame(() => r(null)));
    }
    return performance.now() - t0;
  });
  const afterCount = await list.locator(rowSel).count();
  assert.ok(afterCount < 100, `rendered ${afterCount} rows after scrolling`);
  const firstIdx = await list.locator(rowSel).first().getAttribute('aria-rowindex');
  assert.ok(Number(firstIdx) > 20_000, `window did not move: first row ${firstIdx}`);
  console.log(`20 scroll steps over 50,000 tasks took ${Math.round(ms)} ms`);
  await list.evaluate((el) => {
    el.scrollTop = 0;
    el.dispatchEvent(new Event('scroll'));
  });
});

test('taskflow: aging tasks are highlighted and hostile titles stay literal text', async () => {
  const aging = page.locator('#taskflow [data-testid="kpiflow-taskflow-task-row-aging"]');
  assert.ok((await aging.count()) > 0);
  const titles = await page.locator('#taskflow [role="row"] [role="cell"]:nth-child(2)').allTextContents();
  assert.ok(titles.includes('<script>window.__pwned = 1</script>Fix login'), 'script title not shown literally');
  assert.ok(titles.includes('<b>bold</b> claim'), '<b> title not shown literally');
  assert.equal(await page.locator('#taskflow [role="row"] b').count(), 0, 'a <b> element was created from data');
  assert.equal(await page.locator('#taskflow [role="row"] script, #taskflow [role="row"] img').count(), 0);
  const bars = page.locator('#taskflow [data-testid="kpiflow-taskflow-wip-bar"]');
  assert.ok((await bars.count()) >= 4);
  // The harness sets a WIP limit of 30 as a threshold on `wip`: every state is over it, so red.
  const colour = await bars.first().evaluate((el) => getComputedStyle(el.firstElementChild).backgroundColor);
  assert.equal(colour, 'rgb(242, 73, 92)');
  // Ages are formatted by the age field's config (seconds, unit s): Grafana's duration text.
  const ages = await page.locator('#taskflow [role="row"] [role="cell"]:nth-child(5)').allTextContents();
  assert.ok(ages.length > 0 && ages.every((a) => /^\d+ (year|week|day|hour|min)/.test(a)), JSON.stringify(ages));
});

test('taskflow: a task list above the threshold read through POST arrow and decoded with apache-arrow', async () => {
  const sec = page.locator('#taskflow-arrow');
  const notice = sec.locator('[data-testid="kpiflow-taskflow-task-list-notice"][data-state="done"]');
  await notice.waitFor({ timeout: 60_000 });
  assert.equal(await notice.getAttribute('data-source'), 'arrow');
  assert.equal(Number(await notice.getAttribute('data-tasks')), ARROW_TASKS);
  assert.equal(await sec.locator('[role="table"]').getAttribute('aria-rowcount'), String(ARROW_TASKS + 1));
  // What the panel posted: the hidden query, shown and with the panel's range.
  const sent = arrowRequests['kpiflow-e2e'];
  assert.deepEqual(sent.query, {
    refId: 'T',
    queryType: 'taskflow',
    view: 'tasks',
    projects: ['FIX'],
    datasource: { type: 'kpiflow-clickhouse-datasource', uid: 'kpiflow-e2e' },
  });
  assert.match(sent.from, /^\d{4}-\d\d-\d\dT/);
  // The fixture's hostile title, as text (the unicode ones sort out of the first window; jest reads them).
  const titles = await sec.locator('[role="row"] [role="cell"]:nth-child(2)').allTextContents();
  assert.ok(titles.includes('<script>window.__pwned = 1</script>Fix login'), JSON.stringify(titles.slice(0, 8)));
  assert.equal(await sec.locator('[role="row"] script, [role="row"] b').count(), 0);
  await sec.screenshot({ path: path.join(artifacts, 'taskflow-arrow.png') });
});

test('taskflow: POST arrow answering an HTTP error shows the backend message in the panel', async () => {
  const sec = page.locator('#taskflow-arrow-error');
  const notice = sec.locator('[data-testid="kpiflow-taskflow-task-list-notice"][data-state="error"]');
  await notice.waitFor({ timeout: 60_000 });
  assert.match(
    await notice.textContent(),
    /Reading the task list as Arrow failed \(HTTP 400\): projects\[0\]: unknown project "FIX"/
  );
  await sec.screenshot({ path: path.join(artifacts, 'taskflow-arrow-error.png') });
});

test('taskflow: a live task event moves the task in the cumulative flow, WIP and aging without a refresh', async () => {
  const sec = page.locator('#taskflow-live');
  const cfd = sec.locator('[data-testid="kpiflow-taskflow-cfd"]');
  const bar = (state) => sec.locator(`[data-testid="kpiflow-taskflow-wip-bar"][data-state="${state}"]`);
  assert.equal(
    await cfd.getAttribute('aria-label'),
    'Cumulative flow diagram, last day: done 1, in_progress 1, todo 1'
  );
  assert.match(await bar('In Progress').getAttribute('title'), /^1 in In Progress/);
  assert.equal(await sec.locator('[data-testid="kpiflow-taskflow-task-row-aging"]').count(), 0);
  await sec.screenshot({ path: path.join(artifacts, 'taskflow-live-before.png') });

  // Grafana Live appends the event to the events frame; nothing is queried again.
  const movedAt = Date.UTC(2026, 10, 20, 9);
  await page.evaluate(
    (ts) =>
      window.__pushTaskEvent({
        ts,
        task_id: 'LIVE-1',
        title: 'Move me',
        state: 'In Progress',
        state_category: 'in_progress',
      }),
    movedAt
  );
  await page.waitForFunction(() =>
    document
      .querySelector('#taskflow-live [data-testid="kpiflow-taskflow-cfd"]')
      ?.getAttribute('aria-label')
      ?.includes('in_progress 2')
  );
  assert.equal(
    await cfd.getAttribute('aria-label'),
    'Cumulative flow diagram, last day: done 1, in_progress 2, todo 0'
  );
  assert.match(await bar('In Progress').getAttribute('title'), /^2 in In Progress/);
  assert.equal(await bar('To Do').count(), 0, 'the task is still counted in To Do');
  const rows = await sec
    .locator('[role="row"]')
    .evaluateAll((els) => els.map((r) => Array.from(r.querySelectorAll('[role="cell"]')).map((c) => c.textContent)));
  const moved = rows.find((r) => r.includes('Move me'));
  assert.ok(moved && moved.includes('In Progress'), `task list: ${JSON.stringify(rows)}`);
  // The aging view learned the task: in progress since the event, aged to the range's end.
  assert.ok(moved.includes('15 hours'), `aging: ${JSON.stringify(moved)}`);
  await sec.screenshot({ path: path.join(artifacts, 'taskflow-live-after.png') });
});

/** The frames of a backend fixture, as JSON (values arrays per field). */
function fixtureFrames(name) {
  return JSON.parse(fs.readFileSync(forecastFixture(name), 'utf8')).frames;
}

test('forecast: burn-up of the backend frames, with the percentile dates the backend computed', async () => {
  const sec = page.locator('#forecast-completion');
  assert.equal(await sec.count(), 1, 'tests/fixtures/forecast-completion.json not rendered');
  const chart = sec.locator('[data-testid="kpiflow-forecast-chart"]');
  assert.equal(await chart.getAttribute('data-series'), 'done,scope,p50,p70,p85,p95');
  assert.equal(await chart.getAttribute('data-bands'), '1');
  const frames = fixtureFrames('completion');
  assert.equal(Number(await chart.getAttribute('data-points')), frames[0].data.values[0].length);
  // Drawn by uPlot on a canvas of the panel's size.
  const box = await chart.locator('canvas').first().boundingBox();
  assert.ok(box && box.width > 300 && box.height > 100, `canvas too small: ${JSON.stringify(box)}`);
  const rows = await sec
    .locator('[data-testid="kpiflow-forecast-table-row"]')
    .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
  const dates = frames.find((f) => f.schema.name === 'dates').data.values;
  assert.deepEqual(
    rows,
    dates[0].map((p, i) => [`P${p}`, new Date(dates[1][i]).toISOString().slice(0, 10)])
  );
  await sec.screenshot({ path: path.join(artifacts, 'forecast-completion.png') });
});

test('forecast: KPI trend of the backend frames draws yhat with its 80 % and 95 % bands', async () => {
  const sec = page.locator('#forecast-trend');
  assert.equal(await sec.count(), 1, 'tests/fixtures/forecast-trend.json not rendered');
  const chart = sec.locator('[data-testid="kpiflow-forecast-chart"]');
  assert.equal(
    await chart.getAttribute('data-series'),
    'requests_per_s,yhat,upper 95 %,lower 95 %,upper 80 %,lower 80 %'
  );
  assert.equal(await chart.getAttribute('data-bands'), '2');
  assert.equal(await sec.locator('[data-testid="kpiflow-forecast-table"]').count(), 0);
  const caption = await sec.locator('[data-testid="kpiflow-forecast-caption"]').textContent();
  assert.match(caption, /requests_per_s · (ses|holt|damped_holt|holt_winters), MASE \d+\.\d\d/);
  await sec.screenshot({ path: path.join(artifacts, 'forecast-trend.png') });
  await page.screenshot({ path: path.join(artifacts, 'harness-full.png'), fullPage: true });
});

test('taskflow: frames written by the Go backend (tests/fixtures/taskflow.json)', async (t) => {
  if (!fs.existsSync(backendFixture)) {
    t.skip('tests/fixtures/taskflow.json not written yet');
    return;
  }
  const sec = page.locator('#taskflow-backend');
  assert.equal(await sec.count(), 1, 'backend fixture present but not rendered');
  assert.deepEqual(await stackColours(sec), ['g', 'b', 'r'], 'backend cfd frame not drawn as a stack');
  assert.ok((await sec.locator('[data-testid^="kpiflow-taskflow-task-row"]').count()) > 0, 'no task rows');
  await sec.screenshot({ path: path.join(artifacts, 'taskflow-backend.png') });
});

test('query editor: raw SQL in Monaco with highlighting and completion', async () => {
  const sec = page.locator('#sql-editor');
  const editor = sec.locator('[data-testid="kpiflow-sql-editor"] .monaco-editor[role="code"]');
  await editor.waitFor({ timeout: 60_000 });
  // Highlighted: Monaco's sql tokenizer gives keywords their own token class.
  await sec.locator('.view-lines').getByText('SELECT', { exact: false }).first().waitFor();
  const tokens = await sec
    .locator('.view-line span span')
    .evaluateAll((spans) => spans.map((e) => [e.textContent.replace(/\u00a0/g, ' ').trim(), e.className]));
  const classOf = (text) => tokens.find(([t]) => t === text)?.[1];
  const keywordClass = classOf('SELECT');
  const identClass = classOf('kpi_samples');
  assert.match(keywordClass, /mtk\d+/);
  assert.notEqual(keywordClass, identClass, 'SELECT and a table name look the same: no SQL highlighting');
  // The Forecast type is offered once the backend answers it (src/capabilities.json).
  const caps = JSON.parse(fs.readFileSync(path.join(root, 'src', 'capabilities.json'), 'utf8'));
  const types = await sec
    .locator('input[type="radio"][name]')
    .evaluateAll((els) =>
      els
        .filter((e) => e.closest('[data-testid="kpiflow-query-editor"] > div:first-child'))
        .map((e) => e.labels?.[0]?.textContent.trim())
    );
  assert.deepEqual(types, ['KPI', 'DORA', 'Task flow', ...(caps.forecastQueries ? ['Forecast'] : []), 'SQL']);

  // Macros complete as you type $__.
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(' AND $__time');
  const suggest = page.locator('.suggest-widget.visible .monaco-list-row');
  await suggest.first().waitFor({ timeout: 10_000 });
  const macros = await suggest.allInnerTexts();
  assert.ok(
    macros.some((m) => m.startsWith('$__timeFilter')),
    `no $__timeFilter in ${JSON.stringify(macros)}`
  );
  await page.screenshot({ path: path.join(artifacts, 'sql-editor-macros.png'), clip: await clipOf(sec) });
  await page.keyboard.press('Escape');

  // Tables complete after FROM, columns after alias.
  await page.keyboard.press('Control+A');
  await page.keyboard.type('SELECT d. FROM deployments AS d');
  await page.keyboard.press('Home');
  for (let i = 0; i < 'SELECT d.'.length; i++) {
    await page.keyboard.press('ArrowRight');
  }
  await page.keyboard.press('Control+Space');
  await suggest.first().waitFor({ timeout: 10_000 });
  const columns = (await suggest.allInnerTexts()).map((t) => t.split('\n')[0]);
  assert.ok(columns.includes('deployment_id') && columns.includes('first_commit_at'), JSON.stringify(columns));
  assert.ok(!columns.includes('metric'), 'offered a column deployments does not have');
  await page.keyboard.press('Escape');

  // Ctrl+Enter runs the query with the editor's text.
  const runsBefore = await page.evaluate(() => window.__runs ?? 0);
  await page.keyboard.press('Control+Enter');
  const last = await page.evaluate(() => window.__lastQuery);
  assert.equal(last.rawSql, 'SELECT d. FROM deployments AS d');
  assert.equal(last.queryType, 'sql');
  assert.ok((await page.evaluate(() => window.__runs ?? 0)) > runsBefore, 'Ctrl+Enter did not run the query');
  await page.screenshot({ path: path.join(artifacts, 'sql-editor.png'), clip: await clipOf(sec) });
});

/** The section's box, grown upwards to show a completion list Monaco draws above the line. */
async function clipOf(locator) {
  const box = await locator.boundingBox();
  const top = Math.max(0, box.y - 200);
  return { x: box.x, y: top, width: box.width, height: box.height + (box.y - top) };
}
