import { DataFrame, Field, FieldConfig, FieldType, Labels, QueryResultMeta } from '@grafana/data';
import {
  Data,
  DataType,
  Dictionary,
  makeVector,
  RecordBatch,
  RecordBatchReader,
  Schema,
  Type,
  Utf8,
} from 'apache-arrow';

import { ArrowAnswer, ArrowAnswerError } from './arrowTaskList';

/**
 * Decoding POST arrow answers with apache-arrow. Imported dynamically (useArrowTaskList), so the
 * panel's bundle carries apache-arrow only as a chunk loaded when a panel reads a task list as Arrow.
 */

/** An IPC stream ends with a continuation marker and a zero length; a body cut short does not. */
const END_OF_STREAM = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

function endsWithEndOfStream(bytes: Uint8Array): boolean {
  if (bytes.length < END_OF_STREAM.length) {
    return false;
  }
  const tail = bytes.subarray(bytes.length - END_OF_STREAM.length);
  return END_OF_STREAM.every((b, i) => tail[i] === b);
}

function parseJSON<T>(text: string | undefined, what: string): T | undefined {
  if (!text) {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ArrowAnswerError(`The Arrow answer's ${what} is not JSON.`);
  }
}

function grafanaType(type: DataType): FieldType {
  switch (type.typeId) {
    case Type.Timestamp:
    case Type.Date:
      return FieldType.time;
    case Type.Int:
    case Type.Float:
    case Type.Decimal:
      return FieldType.number;
    case Type.Bool:
      return FieldType.boolean;
    case Type.Utf8:
    case Type.LargeUtf8:
      return FieldType.string;
    case Type.Dictionary:
      // Dictionary-encoded columns read as their values (apache-arrow looks them up).
      return grafanaType((type as Dictionary).dictionary);
    default:
      return FieldType.other;
  }
}

const utf8 = new TextDecoder();

/**
 * UTF-8 strings of a Utf8 column's data, null for null. The column's bytes are decoded in one
 * TextDecoder call and cut by offsets: a call per value costs more than most values. Byte offsets
 * become UTF-16 offsets by counting, per byte, the code units its character adds (continuation
 * bytes none, a 4-byte sequence's lead two). Bytes that are not valid UTF-8 (ClickHouse strings
 * may hold any) break that count: then each value is decoded on its own.
 */
function readUtf8(data: Data<Utf8>, out: Array<string | null>) {
  const { valueOffsets: offsets, values: bytes } = data;
  const n = data.length;
  const nulls = data.nullCount > 0;
  const text = utf8.decode(bytes.subarray(offsets[0], offsets[n]));
  const cuts = new Array<number>(n + 1);
  let unit = 0;
  let pos = offsets[0];
  for (let i = 0; i < n; i++) {
    cuts[i] = unit;
    for (const end = offsets[i + 1]; pos < end; pos++) {
      const b = bytes[pos];
      if ((b & 0xc0) !== 0x80) {
        unit += b >= 0xf0 ? 2 : 1;
      }
    }
  }
  cuts[n] = unit;
  const whole = unit === text.length;
  for (let i = 0; i < n; i++) {
    if (nulls && !data.getValid(i)) {
      out.push(null);
    } else {
      out.push(whole ? text.substring(cuts[i], cuts[i + 1]) : utf8.decode(bytes.subarray(offsets[i], offsets[i + 1])));
    }
  }
}

/** A dictionary-encoded string column: each dictionary value decoded once, then looked up. */
function readDictionary(data: Data<Dictionary>, out: Array<string | null>) {
  const words: Array<string | null> = [];
  for (const d of data.dictionary?.data ?? []) {
    readUtf8(d as Data<Utf8>, words);
  }
  const nulls = data.nullCount > 0;
  for (let i = 0; i < data.length; i++) {
    out.push(nulls && !data.getValid(i) ? null : (words[Number(data.values[i])] ?? null));
  }
}

/** A column's values as Grafana holds them: numbers (64-bit integers too), ms for times, null for null. */
function readColumn(batches: RecordBatch[], index: number, type: FieldType): unknown[] {
  const out: unknown[] = [];
  for (const b of batches) {
    const col = b.getChildAt(index);
    if (!col) {
      continue;
    }
    for (const data of col.data) {
      if (data.typeId === Type.Utf8) {
        readUtf8(data as Data<Utf8>, out as Array<string | null>);
        continue;
      }
      if (data.typeId === Type.Dictionary && DataType.isUtf8((data as Data<Dictionary>).type.dictionary)) {
        readDictionary(data as Data<Dictionary>, out as Array<string | null>);
        continue;
      }
      const vec = makeVector(data);
      for (let i = 0; i < data.length; i++) {
        const v: unknown = vec.get(i);
        out.push(typeof v === 'bigint' && type !== FieldType.other ? Number(v) : (v ?? null));
      }
    }
  }
  return out;
}

/** One IPC stream as a Grafana data frame: the SDK's schema metadata (name, refId, meta) and field metadata (config, labels). */
function toFrame(schema: Schema, batches: RecordBatch[]): DataFrame {
  const meta = parseJSON<QueryResultMeta>(schema.metadata.get('meta'), 'frame metadata');
  const fields: Field[] = schema.fields.map((f, i) => {
    const type = grafanaType(f.type);
    return {
      name: f.metadata.get('name') ?? f.name,
      type,
      config: parseJSON<FieldConfig>(f.metadata.get('config'), `config of field ${f.name}`) ?? {},
      labels: parseJSON<Labels>(f.metadata.get('labels'), `labels of field ${f.name}`),
      values: readColumn(batches, i, type),
    };
  });
  return {
    name: schema.metadata.get('name') || undefined,
    refId: schema.metadata.get('refId') || undefined,
    meta,
    fields,
    length: batches.reduce((n, b) => n + b.numRows, 0),
  };
}

/**
 * Decodes a POST arrow body: Arrow IPC streams back to back, one per frame. Throws ArrowAnswerError
 * for a body that is not Arrow or was cut short (an error after the first byte ends the body without
 * the end-of-stream marker).
 */
export function decodeArrowAnswer(bytes: Uint8Array): ArrowAnswer {
  if (bytes.length === 0) {
    return { frames: [], notices: [] };
  }
  if (!endsWithEndOfStream(bytes)) {
    throw new ArrowAnswerError(
      'The Arrow answer was cut short (no end-of-stream marker): the query failed while sending.'
    );
  }
  const frames: DataFrame[] = [];
  try {
    for (const reader of RecordBatchReader.readAll(bytes)) {
      const batches = [...reader];
      frames.push(toFrame(reader.schema, batches));
    }
  } catch (e) {
    if (e instanceof ArrowAnswerError) {
      throw e;
    }
    throw new ArrowAnswerError(
      `The answer is not a valid Arrow IPC stream: ${e instanceof Error ? e.message : String(e)}`
    );
  }
  const notices = frames.flatMap((f) => f.meta?.notices ?? []).filter((n) => n.severity !== 'info');
  // A cut result ends with a stream of no fields: only its notice matters.
  return { frames: frames.filter((f) => f.fields.length > 0), notices };
}
