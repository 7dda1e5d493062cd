/** Small pure helpers for SVG charts: linear scales, ticks and path strings. */

export interface LinearScale {
  (v: number): number;
  domain: [number, number];
  range: [number, number];
}

export function linearScale(domain: [number, number], range: [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  const f = ((v: number) => r0 + ((v - d0) / span) * (r1 - r0)) as LinearScale;
  f.domain = domain;
  f.range = range;
  return f;
}

/** About `count` round ticks covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    return [];
  }
  if (max === min) {
    return [min];
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

const DAY = 86_400_000;
const TIME_STEPS = [
  60_000,
  5 * 60_000,
  15 * 60_000,
  3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  12 * 3_600_000,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
  91 * DAY,
  365 * DAY,
];

/** About `count` time ticks on whole UTC units (minutes, hours, days, weeks...). */
export function timeTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) {
    return Number.isFinite(min) ? [min] : [];
  }
  const raw = (max - min) / Math.max(1, count);
  const step = TIME_STEPS.find((s) => s >= raw) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) {
    ticks.push(t);
  }
  return ticks;
}

const fmt = (n: number) => (Math.round(n * 10) / 10).toString();

/**
 * A polyline through the points; null/NaN values break the line into segments.
 */
export function linePath(xs: readonly number[], ys: ReadonlyArray<number | null | undefined>): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${fmt(xs[i])},${fmt(y)}`;
    pen = true;
  }
  return d;
}

/**
 * A closed area between an upper and a lower line (both in pixels); points where either is
 * missing split the area.
 */
export function areaPath(
  xs: readonly number[],
  upper: ReadonlyArray<number | null | undefined>,
  lower: ReadonlyArray<number | null | undefined>
): string {
  let d = '';
  let seg: number[] = [];
  const flush = () => {
    if (seg.length > 0) {
      const top = seg.map((i, k) => `${k === 0 ? 'M' : 'L'}${fmt(xs[i])},${fmt(upper[i] as number)}`).join('');
      const bottom = seg
        .slice()
        .reverse()
        .map((i) => `L${fmt(xs[i])},${fmt(lower[i] as number)}`)
        .join('');
      d += `${top}${bottom}Z`;
    }
    seg = [];
  };
  for (let i = 0; i < xs.length; i++) {
    const u = upper[i];
    const l = lower[i];
    if (u === null || u === undefined || l === null || l === undefined || !Number.isFinite(u) || !Number.isFinite(l)) {
      flush();
      continue;
    }
    seg.push(i);
  }
  flush();
  return d;
}
