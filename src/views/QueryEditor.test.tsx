import React from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';

import { selectors } from '../components/selectors';
import { DataSource } from '../datasource/DataSource';
import { defaultQueries, KpiflowQuery } from '../types/query';
import { QueryEditor } from './QueryEditor';

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

  it('shows the SQL macros', async () => {
    await renderEditor({ refId: 'A', ...defaultQueries.sql });
    fireEvent.click(screen.getByText('Macros'));
    const macros = screen.getByTestId(selectors.query.sql.macros);
    expect(macros).toHaveTextContent('$__timeFilter(col)');
    expect(macros).toHaveTextContent("$__adHocFilters('table')");
  });

  it('edits raw SQL', async () => {
    const { onChange } = await renderEditor({ refId: 'A', ...defaultQueries.sql });
    fireEvent.change(screen.getByTestId(selectors.query.sql.editor), { target: { value: 'SELECT 1' } });
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ rawSql: 'SELECT 1' }));
  });

  it('toggles live', async () => {
    const { onChange, onRunQuery } = await renderEditor({ refId: 'A', ...defaultQueries.taskflow });
    fireEvent.click(screen.getByTestId(selectors.query.live));
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ live: true }));
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
