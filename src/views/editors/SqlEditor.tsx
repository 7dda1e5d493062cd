import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, SelectableValue } from '@grafana/data';
import { Collapse, InlineField, RadioButtonGroup, TextArea, useStyles2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { SqlQuery, TableOrSeries } from '../../types/query';
import { LABEL_WIDTH, TypedEditorProps } from './common';

/** The macros of Grafana's ClickHouse data source, which the backend expands. */
export const SQL_MACROS: ReadonlyArray<{ macro: string; meaning: string }> = [
  { macro: '$__timeFilter(col)', meaning: 'col within the dashboard time range (seconds)' },
  { macro: '$__timeFilter_ms(col)', meaning: 'col within the time range, millisecond precision' },
  { macro: '$__dateFilter(col)', meaning: 'Date column within the time range' },
  { macro: '$__timeInterval(col)', meaning: 'col rounded down to the panel interval (seconds)' },
  { macro: '$__timeInterval_ms(col)', meaning: 'col rounded down to the interval, in milliseconds' },
  { macro: '$__interval_s', meaning: 'the panel interval in seconds' },
  { macro: '$__fromTime', meaning: 'start of the range as DateTime' },
  { macro: '$__toTime', meaning: 'end of the range as DateTime' },
  { macro: '$__fromTime_ms', meaning: 'start of the range as DateTime64(3)' },
  { macro: '$__toTime_ms', meaning: 'end of the range as DateTime64(3)' },
  { macro: '$__conditionalAll(cond, $var)', meaning: 'cond, or 1=1 when $var is All' },
  { macro: "$__adHocFilters('table')", meaning: "the dashboard's ad hoc filters for table" },
];

const formatOptions: Array<SelectableValue<TableOrSeries>> = [
  { label: 'Time series', value: 'timeseries' },
  { label: 'Table', value: 'table' },
];

const getStyles = (theme: GrafanaTheme2) => ({
  sql: css({
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    minHeight: 140,
  }),
  macros: css({
    display: 'grid',
    gridTemplateColumns: 'max-content 1fr',
    columnGap: theme.spacing(2),
    rowGap: theme.spacing(0.5),
    fontSize: theme.typography.bodySmall.fontSize,
    'dt code': { whiteSpace: 'nowrap' },
    dd: { margin: 0, color: theme.colors.text.secondary },
  }),
});

export function SqlEditor({ query, onChange, onRunQuery }: TypedEditorProps<SqlQuery>) {
  const styles = useStyles2(getStyles);
  const [showMacros, setShowMacros] = React.useState(false);
  return (
    <>
      <TextArea
        data-testid={selectors.query.sql.editor}
        aria-label="SQL"
        className={styles.sql}
        spellCheck={false}
        rows={8}
        value={query.rawSql}
        placeholder="SELECT ... FROM kpi_samples WHERE $__timeFilter(ts)"
        onChange={(e) => onChange({ ...query, rawSql: e.currentTarget.value })}
        onBlur={onRunQuery}
      />
      <InlineField label="Format" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup<TableOrSeries>
          data-testid={selectors.query.format}
          options={formatOptions}
          value={query.format}
          onChange={(v) => {
            onChange({ ...query, format: v });
            onRunQuery();
          }}
        />
      </InlineField>
      <Collapse label="Macros" isOpen={showMacros} onToggle={() => setShowMacros(!showMacros)}>
        <dl className={styles.macros} data-testid={selectors.query.sql.macros}>
          {SQL_MACROS.map((m) => (
            <React.Fragment key={m.macro}>
              <dt>
                <code>{m.macro}</code>
              </dt>
              <dd>{m.meaning}</dd>
            </React.Fragment>
          ))}
        </dl>
      </Collapse>
    </>
  );
}
