import React from 'react';
import { act, render, screen, within } from '@testing-library/react';
import { createDataFrame, DataFrame, dateTime, FieldColorModeId, FieldType } from '@grafana/data';

import { selectors } from '../../components/selectors';
import { grafanaPanelProps, wipLimitOverride } from '../../test/panelProps';
import { HOSTILE_TITLES, makeTasksFrame } from './fixtures';
import { plugin } from './module';
import { TaskflowPanel } from './TaskflowPanel';
import { defaultTaskflowOptions } from './types';

// uPlot needs a real canvas; the browser harness draws it. Here the frames TimeSeries gets are
// checked instead (the config the chart is drawn from).
const timeSeriesFrames: DataFrame[][] = [];
jest.mock('@grafana/ui', () => ({
  ...jest.requireActual('@grafana/ui'),
  TimeSeries: (props: { frames: DataFrame[] }) => {
    timeSeriesFrames.push(props.frames);
    return <div data-testid="timeseries" />;
  },
}));

const DAY = 86_400_000;
const range = { from: dateTime(0), to: dateTime(10 * DAY), raw: { from: 'now-10d', to: 'now' } };

function cfdFrame(): DataFrame {
  return createDataFrame({
    name: 'cfd',
    fields: [
      { name: 'time', type: FieldType.time, values: [DAY, 2 * DAY] },
      { name: 'todo', type: FieldType.number, values: [5, 4] },
      { name: 'in_progress', type: FieldType.number, values: [2, 3] },
      { name: 'done', type: FieldType.number, values: [1, 2] },
    ],
  });
}

function renderPanel(series: DataFrame[], fieldConfig?: Parameters<typeof grafanaPanelProps>[0]['fieldConfig']) {
  const props = grafanaPanelProps({
    plugin,
    series,
    options: defaultTaskflowOptions,
    timeRange: range,
    width: 900,
    height: 600,
    fieldConfig,
  });
  return render(<TaskflowPanel {...props} />);
}

beforeEach(() => {
  timeSeriesFrames.length = 0;
});

describe('TaskflowPanel', () => {
  it('draws the cumulative flow with Grafana’s TimeSeries: stacked, done at the bottom, category colours', () => {
    renderPanel([cfdFrame()]);
    expect(screen.getByTestId('timeseries')).toBeInTheDocument();
    const [frame] = timeSeriesFrames[timeSeriesFrames.length - 1];
    expect(frame.fields.map((f) => f.name)).toEqual(['time', 'done', 'in_progress', 'todo']);
    for (const f of frame.fields.slice(1)) {
      expect(f.config.custom.stacking).toEqual({ mode: 'normal', group: 'cfd' });
      expect(f.config.custom.fillOpacity).toBe(70);
    }
    expect(frame.fields[1].config.color).toEqual({ mode: FieldColorModeId.Fixed, fixedColor: 'green' });
    expect(frame.fields[1].config.displayName).toBe('Done');
  });

  it('applies the field config’s units, decimals and overrides to the flow', () => {
    renderPanel([cfdFrame()], {
      defaults: { unit: 'short', decimals: 1, custom: { fillOpacity: 20 } },
      overrides: [
        {
          matcher: { id: 'byName', options: 'done' },
          properties: [
            { id: 'color', value: { mode: FieldColorModeId.Fixed, fixedColor: 'purple' } },
            { id: 'displayName', value: 'Shipped' },
          ],
        },
      ],
    });
    const [frame] = timeSeriesFrames[timeSeriesFrames.length - 1];
    const done = frame.fields[1];
    expect(done.config.color?.fixedColor).toBe('purple');
    expect(done.config.displayName).toBe('Shipped');
    expect(done.config.custom.fillOpacity).toBe(20);
    expect(done.display?.(2).text).toBe('2.0');
  });

  it('formats ages with the age field’s config (seconds by default) and colours WIP bars by thresholds', () => {
    const tasks = createDataFrame({
      name: 'tasks',
      fields: [
        { name: 'task_id', type: FieldType.string, values: ['T-1', 'T-2'] },
        { name: 'title', type: FieldType.string, values: ['a', 'b'] },
        { name: 'state', type: FieldType.string, values: ['Doing', 'Doing'] },
        { name: 'state_category', type: FieldType.string, values: ['in_progress', 'in_progress'] },
      ],
    });
    const aging = createDataFrame({
      name: 'aging',
      fields: [
        { name: 'task_id', type: FieldType.string, values: ['T-1', 'T-2'] },
        { name: 'age', type: FieldType.number, values: [2 * 3600, 20 * 86400] },
      ],
    });
    const { unmount } = renderPanel([tasks, aging]);
    const rows = () => screen.getAllByRole('row').slice(1);
    expect(rows().map((r) => within(r).getAllByRole('cell')[4].textContent)).toEqual(['2.86 weeks', '2 hours']);
    unmount();

    renderPanel([tasks, aging], {
      defaults: {},
      overrides: [
        { matcher: { id: 'byName', options: 'age' }, properties: [{ id: 'unit', value: 'dtdurations' }] },
        wipLimitOverride(2, 'green'),
      ],
    });
    expect(rows().map((r) => within(r).getAllByRole('cell')[4].textContent)).toEqual(['2 weeks', '2 hours']);
    const bar = screen.getByTestId(selectors.panels.taskflow.wipBar).firstChild as HTMLElement;
    // Two tasks in Doing reach the WIP limit of 2: the bar is red.
    expect(bar.style.background).toMatch(/rgb\(242, 73, 92\)|#F2495C/i);
  });

  it('keeps 10,000 tasks out of the DOM but the visible ones, and titles as text', async () => {
    await act(async () => {
      renderPanel([makeTasksFrame(10_000)]);
    });
    const table = screen.getByRole('table', { name: 'Tasks' });
    expect(table).toHaveAttribute('aria-rowcount', '10001');
    const rendered = within(screen.getByTestId(selectors.panels.taskflow.taskList)).getAllByRole('row');
    expect(rendered.length).toBeGreaterThan(0);
    expect(rendered.length).toBeLessThan(100);
    const titles = rendered.map((r) => within(r).getAllByRole('cell')[1].textContent);
    expect(titles).toEqual(expect.arrayContaining(HOSTILE_TITLES));
    expect(table.querySelector('script, b, img')).toBeNull();
  });

  it('says what to query when there are no task flow frames', () => {
    renderPanel([]);
    expect(screen.getByTestId(selectors.panels.taskflow.empty)).toBeInTheDocument();
  });
});
