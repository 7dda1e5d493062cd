import { DataFrame, StreamingFrameOptions } from '@grafana/data';

/**
 * Name of the first frame of a live taskflow answer: the backend streams each new task event into
 * it (Meta.Channel), and the task-flow panel replays them onto its views.
 */
export const LIVE_EVENTS_FRAME = 'events';

/** Events a panel keeps from a live taskflow channel (Grafana's default is the panel's points). */
export const LIVE_EVENTS_MAX = 100_000;

/**
 * How Grafana buffers a live frame: as Grafana would (`standard`: as many rows as the panel has
 * points, within the time range), except the taskflow events frame, which keeps every event the
 * panel replays (the oldest would otherwise fall out and their moves be undone).
 */
export function liveBuffer(frame: DataFrame, standard: Partial<StreamingFrameOptions>): Partial<StreamingFrameOptions> {
  return frame.name === LIVE_EVENTS_FRAME ? { ...standard, maxLength: LIVE_EVENTS_MAX, maxDelta: Infinity } : standard;
}
