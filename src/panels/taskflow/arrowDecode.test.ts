import fs from 'node:fs';
import path from 'node:path';
import { DataFrame, FieldType } from '@grafana/data';
import {
  Dictionary,
  Int32,
  RecordBatch,
  Schema,
  Table,
  tableFromArrays,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

import { decodeArrowAnswer } from './arrowDecode';
import { ArrowAnswerError, arrowHTTPError } from './arrowTaskList';

/**
 * The Arrow IPC fixture the Go side writes (TestIntegrationArrowTaskFixture: the plugin's POST arrow
 * answers for the taskflow tasks view and a raw SQL task list with nulls), decoded here with apache-arrow;
 * arrow-go reads the same file in TestArrowTaskFixtureDecodes. Both must give tasks.expected.json.
 */
const fixtures = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures');
const body = new Uint8Array(fs.readFileSync(path.join(fixtures, 'tasks.arrows')));

interface ExpectedFrame {
  name: string;
  fields: string[];
  types: string[];
  rows: Array<Record<string, unknown>>;
}
const expected: { frames: ExpectedFrame[] } = JSON.parse(
  fs.readFileSync(path.join(fixtures, 'tasks.expected.json'), 'utf8')
);

function asExpected(f: DataFrame): ExpectedFrame {
  return {
    name: f.name ?? '',
    fields: f.fields.map((x) => x.name),
    types: f.fields.map((x) => x.type),
    rows: Array.from({ length: f.length }, (_, i) => Object.fromEntries(f.fields.map((x) => [x.name, x.values[i]]))),
  };
}

describe('decodeArrowAnswer', () => {
  it('reads the Go fixture as arrow-go does: same fields, types, rows, nulls, unicode and hostile titles', () => {
    const answer = decodeArrowAnswer(body);
    expect(answer.frames.map(asExpected)).toEqual(expected.frames);
    const [tasks, nullable] = answer.frames;
    expect(tasks.fields.find((f) => f.name === 'ts')?.type).toBe(FieldType.time);
    expect(tasks.fields.find((f) => f.name === 'points')?.config.unit).toBe('none');
    expect(tasks.meta?.executedQueryString).toContain('tasks_current');
    const titles = nullable.fields.find((f) => f.name === 'title')?.values ?? [];
    expect(titles).toContain('<script>window.__pwned = 1</script>Fix login');
    expect(titles).toContain(null);
    // The tasks view's notice is info: not something to show.
    expect(tasks.meta?.notices?.[0].severity).toBe('info');
    expect(answer.notices).toEqual([]);
  });

  it("passes warning and error notices of the schema metadata on, and drops a cut result's empty stream", () => {
    const withMeta = (t: Table, meta: object) => {
      const schema = new Schema(t.schema.fields, new Map([['meta', JSON.stringify(meta)]]));
      return tableToIPC(
        new Table(
          schema,
          t.batches.map((b) => new RecordBatch(schema, b.data))
        ),
        'stream'
      );
    };
    const rows = withMeta(tableFromArrays({ task_id: ['A-1'] }), {
      notices: [{ severity: 'info', text: 'Tasks: ...' }],
    });
    const cut = withMeta(new Table(), { notices: [{ severity: 'warning', text: 'Result cut at Max rows (1)' }] });
    const both = new Uint8Array(rows.length + cut.length);
    both.set(rows);
    both.set(cut, rows.length);
    const answer = decodeArrowAnswer(both);
    expect(answer.frames).toHaveLength(1);
    expect(answer.frames[0].fields[0].values).toEqual(['A-1']);
    expect(answer.notices).toEqual([{ severity: 'warning', text: 'Result cut at Max rows (1)' }]);
  });

  it('reads dictionary-encoded string columns as their values', () => {
    const t = new Table({
      state: vectorFromArray(['Done', 'To Do', 'Done'], new Dictionary(new Utf8(), new Int32())),
    });
    const answer = decodeArrowAnswer(tableToIPC(t, 'stream'));
    expect(answer.frames[0].fields[0]).toMatchObject({ type: FieldType.string, values: ['Done', 'To Do', 'Done'] });
  });

  it('reports a body cut short and a body that is not Arrow', () => {
    expect(() => decodeArrowAnswer(body.subarray(0, body.length - 8))).toThrow(/cut short/);
    expect(() => decodeArrowAnswer(body.subarray(0, body.length - 100))).toThrow(ArrowAnswerError);
    const json = new TextEncoder().encode('{"error":"view: unknown"}\n');
    expect(() => decodeArrowAnswer(json)).toThrow(ArrowAnswerError);
    const garbage = new Uint8Array([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    expect(() => decodeArrowAnswer(garbage)).toThrow(/not a valid Arrow IPC stream/);
    expect(decodeArrowAnswer(new Uint8Array(0))).toEqual({ frames: [], notices: [] });
  });

  it('turns an HTTP error into a message with the status and the backend error', () => {
    const err = new TextEncoder().encode('{"error":"view: unknown view \\"x\\""}');
    expect(arrowHTTPError(400, err.buffer).message).toBe(
      'Reading the task list as Arrow failed (HTTP 400): view: unknown view "x"'
    );
    expect(arrowHTTPError(502, { error: 'ClickHouse is down' }).message).toContain('HTTP 502');
    expect(arrowHTTPError(500, undefined).message).toBe('Reading the task list as Arrow failed (HTTP 500)');
  });
});
