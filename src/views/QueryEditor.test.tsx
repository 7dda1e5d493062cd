import React from 'react';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';

import { selectors } from '../components/selectors';
import { DataSource } from '../datasource/DataSource';
import { mockCompletions, mockMonacoState, resetMockMonaco } from '../test/mockCodeEditor';
import { defaultQueries, KpiflowQuery } from '../types/query';
import { QueryEditor, showLiveSwitch, typeOptionsFor } from './QueryEditor';

// Monaco does not run in jsdom: a textarea stands in for the CodeEditor (see mockCodeEditor).
jest.mock('@grafana/ui', () => ({
  ...jest.requireActual('@grafana/ui'),
  CodeEditor: jest.requireActual('../test/mockCodeEditor').MockCodeEditor,
}));

function fakeDs(): DataSource {
  const list = (values: string[]) => jest.fn().mockResolvedValue(values);
  return {
    getMetrics: list(['deploys', 'build_minutes']),
    getTeams: list(['platform']),
    getProjects: list(['core']),
    getLabelKeys: list(['env']),
    getLabelValues: list([]),
  } as unknown as DataSource;
}

async function renderEditor(query: KpiflowQuery, onChange = jest.fn(), onRunQuery = jest.fn()) {
  await act(async () => {
    render(<QueryEditor datasource={fakeDs()} query={query} onChange={onChange} onRunQuery={onRunQuery} />);
  });
  return { onChange, onRunQuery };
}

describe('QueryEditor', () => {
  it('renders the KPI editor for a bare query', async () => {
    await renderEditor({ refId: 'A' } as KpiflowQuery);
    expect(screen.getByTestId(selectors.query.kpi.metrics)).toBeInTheDocument();
    expect(screen.getByTestId(selectors.query.kpi.aggregation)).toBeInTheDocument();
  });

  it('switches type to that type’s default, keeping refId', async () => {
    const { onChange } = await renderEditor({ refId: 'B', ...defaultQueries.kpi });
    fireEvent.click(screen.getByLabelText('SQL'));
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ refId: 'B', ...defaultQueries.sql }));
  });

  it('shows the SQL macros the backend expands', async () => {
    await renderEditor({ refId: 'A', ...defaultQueries.sql });
    fireEvent.click(screen.getByText('Macros'));
    const macros = screen.getByTestId(selectors.query.sql.macros);
    expect(macros).toHaveTextContent('$__timeFilter(col)');
    expect(macros).toHaveTextContent("$__adHocFilters('table'...)");
    expect(macros).toHaveTextContent('$__dateTimeFilter(dateCol, timeCol)');
    expect(macros).toHaveTextContent('$__conditionalAll(condition, $variable...)');
  });

  describe('SQL code editor', () => {
    beforeEach(resetMockMonaco);

    it('edits raw SQL and runs it on blur', async () => {
      const { onChange, onRunQuery } = await renderEditor({ refId: 'A', ...defaultQueries.sql });
      const editor = within(screen.getByTestId(selectors.query.sql.editor)).getByRole('textbox');
      fireEvent.change(editor, { target: { value: 'SELECT 1' } });
      expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ rawSql: 'SELECT 1', format: 'timeseries' }));
      expect(onRunQuery).not.toHaveBeenCalled();
      fireEvent.blur(editor);
      expect(onRunQuery).toHaveBeenCalled();
    });

    it('runs with Ctrl/Cmd+Enter', async () => {
      const { onChange, onRunQuery } = await renderEditor({ refId: 'A', ...defaultQueries.sql });
      expect(mockMonacoState.commands).toHaveLength(1);
      act(() => mockMonacoState.commands[0]());
      expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ rawSql: defaultQueries.sql.rawSql }));
      expect(onRunQuery).toHaveBeenCalled();
    });

    it('completes macros, tables and columns through Monaco', async () => {
      await renderEditor({ refId: 'A', ...defaultQueries.sql });
      expect(mockMonacoState.providers.map((p) => p.language)).toEqual(['sql']);

      const macros = await mockCompletions('sql', 'SELECT * FROM kpi_samples WHERE $__ti', 37);
      expect(macros.map((s) => s.label)).toEqual(expect.arrayContaining(['$__timeFilter', '$__timeInterval']));
      const timeFilter = macros.find((s) => s.label === '$__timeFilter');
      expect(timeFilter).toMatchObject({ insertText: '\\$__timeFilter(${1:col})', insertTextRules: 4 });
      // The typed "$__ti" is replaced: the range starts 5 columns back.
      expect(timeFilter?.range).toMatchObject({ startColumn: 33, endColumn: 38 });

      const sql = 'SELECT  FROM tasks_current';
      const columns = (await mockCompletions('sql', sql, 7)).map((s) => s.label);
      expect(columns).toEqual(expect.arrayContaining(['task_id', 'state_category']));
      expect(columns).not.toContain('metric');

      const tables = (await mockCompletions('sql', 'SELECT count() FROM ', 20)).map((s) => s.label);
      expect(tables).toEqual(expect.arrayContaining(['kpi_samples', 'task_events', 'deployments']));
    });

    it('disposes its completion when it unmounts', async () => {
      await renderEditor({ refId: 'A', ...defaultQueries.sql });
      cleanup();
      expect(mockMonacoState.providers.every((p) => p.disposed)).toBe(true);
    });
  });

  it('offers Forecast and Live only once the backend does them', () => {
    const off = { forecastQueries: false, liveQueries: false };
    const on = { forecastQueries: true, liveQueries: true };
    const types = (caps: typeof off, current: 'kpi' | 'forecast') => typeOptionsFor(caps, current).map((o) => o.value);
    expect(types(off, 'kpi')).toEqual(['kpi', 'dora', 'taskflow', 'sql']);
    expect(types(on, 'kpi')).toEqual(['kpi', 'dora', 'taskflow', 'forecast', 'sql']);
    // A saved forecast query still shows its type.
    expect(types(off, 'forecast')).toContain('forecast');
    expect(showLiveSwitch(off, undefined)).toBe(false);
    expect(showLiveSwitch(off, true)).toBe(true);
    expect(showLiveSwitch(on, undefined)).toBe(true);
  });

  it('follows src/capabilities.json: no Forecast type or Live switch before the backend has them', async () => {
    const caps = jest.requireActual('../capabilities.json');
    await renderEditor({ refId: 'A', ...defaultQueries.taskflow });
    expect(screen.queryByLabelText('Forecast') !== null).toBe(caps.forecastQueries);
    expect(screen.queryByTestId(selectors.query.live) !== null).toBe(caps.liveQueries);
  });

  it('lets a saved live query turn live off', async () => {
    const { onChange, onRunQuery } = await renderEditor({ refId: 'A', ...defaultQueries.taskflow, live: true });
    fireEvent.click(screen.getByTestId(selectors.query.live));
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ live: undefined }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('adds a KPI filter and parses list values for "in"', async () => {
    const { onChange } = await renderEditor({
      refId: 'A',
      ...defaultQueries.kpi,
      filters: [{ key: 'team', operator: 'in', value: [] }],
    });
    fireEvent.change(screen.getByLabelText('Filter 1 value'), { target: { value: 'a, b' } });
    expect(onChange).toHaveBeenCalledWith(
      expect.objectContaining({ filters: [{ key: 'team', operator: 'in', value: ['a', 'b'] }] })
    );
    fireEvent.click(screen.getByTestId(selectors.query.kpi.filterAdd));
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ filters: expect.arrayContaining([{ key: 'team', operator: '=', value: '' }]) })
    );
  });

  it('shows forecast fields by mode', async () => {
    await renderEditor({ refId: 'A', ...defaultQueries.forecast });
    expect(screen.getByTestId(selectors.query.forecast.trials)).toHaveAttribute('placeholder', '10000');
    expect(screen.getByTestId(selectors.query.forecast.backlog)).toBeInTheDocument();
    expect(screen.queryByTestId(selectors.query.forecast.targetDate)).not.toBeInTheDocument();
  });
});
