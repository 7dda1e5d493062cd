import React from 'react';
import fs from 'node:fs';
import path from 'node:path';
import { of, throwError } from 'rxjs';
import { render, screen, within } from '@testing-library/react';
import { DataFrame, dateTime, PanelProps } from '@grafana/data';
import { BackendSrvRequest } from '@grafana/runtime';

import { selectors } from '../../components/selectors';
import { grafanaPanelProps } from '../../test/panelProps';
import type { TaskflowQuery } from '../../types/query';
import { ARROW_TASK_THRESHOLD } from './arrowTaskList';
import { makeTasksFrame } from './fixtures';
import { plugin } from './module';
import { TaskflowPanel } from './TaskflowPanel';
import { defaultTaskflowOptions, TaskflowOptions } from './types';

const fixture = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'tasks.arrows'));

type Answer = { status: number; data: ArrayBuffer } | { error: { status: number; data: unknown } };
const requests: BackendSrvRequest[] = [];
let answer: Answer;

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({
    fetch: (req: BackendSrvRequest) => {
      requests.push(req);
      const a = answer;
      return 'error' in a ? throwError(() => a.error) : of(a);
    },
  }),
  getDataSourceSrv: () => ({
    get: async () => ({
      uid: 'kpiflow-uid',
      // What the data source does with dashboard variables.
      applyTemplateVariables: (q: TaskflowQuery) => ({
        ...q,
        projects: (q.projects ?? []).map((p) => p.replace('$project', 'FIX')),
      }),
    }),
  }),
}));

const range = {
  from: dateTime(Date.UTC(2026, 10, 1)),
  to: dateTime(Date.UTC(2026, 10, 28)),
  raw: { from: 'now-30d', to: 'now' },
};
const tasksQuery: TaskflowQuery = {
  refId: 'T',
  queryType: 'taskflow',
  view: 'tasks',
  projects: ['$project'],
  hide: true,
  datasource: { type: 'kpiflow-clickhouse-datasource', uid: '${ds}' },
};

function props(series: DataFrame[], targets: TaskflowQuery[]): PanelProps<TaskflowOptions> {
  const p = grafanaPanelProps({
    plugin,
    series,
    options: defaultTaskflowOptions,
    timeRange: range,
    width: 900,
    height: 600,
  });
  return {
    ...p,
    data: {
      ...p.data,
      request: {
        requestId: 'Q1',
        interval: '1h',
        intervalMs: 3_600_000,
        maxDataPoints: 900,
        range,
        scopedVars: {},
        targets,
        timezone: 'utc',
        app: 'dashboard',
        startTime: 0,
      },
    },
  };
}

/** The dynamic import of apache-arrow and the decoding take seconds on a busy CI machine. */
const slow = { timeout: 30_000 };

const bytes = (b: Buffer): ArrayBuffer => new Uint8Array(b).buffer;

beforeEach(() => {
  requests.length = 0;
});

describe('TaskflowPanel task list through POST arrow', () => {
  it('reads a hidden task list query through the data source resource and renders titles as text', async () => {
    answer = { status: 200, data: bytes(fixture) };
    render(<TaskflowPanel {...props([], [tasksQuery])} />);
    const notice = await screen.findByText('4 tasks read as Arrow', undefined, slow);
    expect(notice.closest(`[data-testid="${selectors.panels.taskflow.taskListNotice}"]`)).toHaveAttribute(
      'data-source',
      'arrow'
    );
    expect(requests).toHaveLength(1);
    const [req] = requests;
    expect(req.url).toBe('/api/datasources/uid/kpiflow-uid/resources/arrow');
    expect(req.method).toBe('POST');
    expect(req.responseType).toBe('arraybuffer');
    expect(req.data).toEqual({
      query: { refId: 'T', queryType: 'taskflow', view: 'tasks', projects: ['FIX'], datasource: tasksQuery.datasource },
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-28T00:00:00.000Z',
      intervalMs: 3_600_000,
      maxDataPoints: 900,
    });
    const list = screen.getByTestId(selectors.panels.taskflow.taskList);
    expect(within(list).getByText('<script>window.__pwned = 1</script>Fix login')).toBeInTheDocument();
    expect(list.querySelector('script')).toBeNull();
    expect(within(list).getByText('Résumé: 日本語のタスク, Ελληνικά, עברית 🚀')).toBeInTheDocument();
  });

  it('shows an HTTP error with the backend message, and a bad stream, as a panel message', async () => {
    answer = { error: { status: 400, data: { error: 'projects[0]: must not be empty' } } };
    const { unmount } = render(<TaskflowPanel {...props([], [tasksQuery])} />);
    expect(
      await screen.findByText(
        'Reading the task list as Arrow failed (HTTP 400): projects[0]: must not be empty',
        undefined,
        slow
      )
    ).toBeInTheDocument();
    unmount();

    answer = { status: 200, data: bytes(fixture.subarray(0, fixture.length - 8)) };
    render(<TaskflowPanel {...props([], [tasksQuery])} />);
    expect(await screen.findByText(/cut short/, undefined, slow)).toBeInTheDocument();
  });

  it('keeps Grafana’s frames for a task list query Grafana ran, and suggests Arrow above the threshold', () => {
    const shown = { ...tasksQuery, hide: false };
    const { unmount } = render(<TaskflowPanel {...props([makeTasksFrame(50)], [shown])} />);
    expect(requests).toHaveLength(0);
    expect(screen.queryByTestId(selectors.panels.taskflow.taskListNotice)).toBeNull();
    unmount();

    render(<TaskflowPanel {...props([makeTasksFrame(ARROW_TASK_THRESHOLD + 1)], [shown])} />);
    expect(requests).toHaveLength(0);
    expect(screen.getByTestId(selectors.panels.taskflow.taskListNotice)).toHaveAttribute('data-source', 'frames');
    expect(
      screen.getByText(`${(ARROW_TASK_THRESHOLD + 1).toLocaleString('en')} tasks as JSON frames`)
    ).toBeInTheDocument();
  });
});
