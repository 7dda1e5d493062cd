import React, { forwardRef, useMemo } from 'react';
import { FixedSizeList, ListChildComponentProps } from 'react-window';
import { css, cx } from '@emotion/css';
import {
  applyFieldOverrides,
  DisplayProcessor,
  FieldColorModeId,
  FieldConfigSource,
  FieldType,
  formattedValueToString,
  getDisplayProcessor,
  GrafanaTheme2,
  InterpolateFunction,
} from '@grafana/data';
import { TimeZone } from '@grafana/schema';
import { useStyles2, useTheme2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { TaskRow, TasksModel } from './transform';

interface Props {
  model: TasksModel;
  width: number;
  height: number;
  agingThresholdDays: number;
  /** The panel's field config: its defaults and overrides format WIP counts (field `wip`). */
  fieldConfig: FieldConfigSource;
  replaceVariables: InterpolateFunction;
  timeZone: TimeZone;
}

export const ROW_HEIGHT = 28;
const BAR_HEIGHT = 22;
const COLUMNS = '110px minmax(160px, 3fr) 120px 100px 88px 100px';

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({
    display: 'flex',
    flexDirection: 'column',
    gap: theme.spacing(1),
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  summary: css({
    color: theme.colors.text.secondary,
  }),
  bars: css({
    display: 'grid',
    gridTemplateColumns: 'max-content 1fr max-content',
    columnGap: theme.spacing(1),
    rowGap: 2,
    alignItems: 'center',
  }),
  barTrack: css({
    height: BAR_HEIGHT - 6,
    position: 'relative',
    background: theme.colors.background.secondary,
    borderRadius: theme.shape.radius.default,
    overflow: 'hidden',
  }),
  bar: css({
    position: 'absolute',
    top: 0,
    bottom: 0,
    left: 0,
  }),
  barAging: css({
    position: 'absolute',
    top: 0,
    bottom: 0,
    left: 0,
    background: theme.visualization.getColorByName('orange'),
  }),
  row: css({
    display: 'grid',
    gridTemplateColumns: COLUMNS,
    columnGap: theme.spacing(1),
    alignItems: 'center',
    padding: theme.spacing(0, 1),
    borderBottom: `1px solid ${theme.colors.border.weak}`,
    whiteSpace: 'nowrap',
    '& > span': { overflow: 'hidden', textOverflow: 'ellipsis' },
  }),
  header: css({
    fontWeight: theme.typography.fontWeightMedium,
    color: theme.colors.text.secondary,
    height: ROW_HEIGHT,
  }),
  aging: css({
    background: theme.colors.warning.transparent,
    borderLeft: `3px solid ${theme.colors.warning.main}`,
  }),
  age: css({
    textAlign: 'right',
    fontVariantNumeric: 'tabular-nums',
  }),
});

/**
 * Formats ages with the config of the field they came from (the backend's `age`, seconds), so
 * units, decimals, mappings and thresholds set for `age` apply. Without a unit, seconds (`s`).
 */
export function ageDisplay(model: TasksModel, theme: GrafanaTheme2, timeZone: TimeZone): DisplayProcessor {
  const field = model.ageField;
  const display =
    field?.display && field.config.unit
      ? field.display
      : getDisplayProcessor({
          field: {
            name: 'age',
            type: FieldType.number,
            config: { ...field?.config, unit: field?.config.unit || 's' },
            values: [],
          },
          theme,
          timeZone,
        });
  return ownColorOnly(display, field?.config.color?.mode);
}

/**
 * The panel's default colour mode is the classic palette, which colours a value by its field's
 * position; a value keeps its colour only where its field has a colour mode of its own
 * (thresholds, fixed, a scheme).
 */
function ownColorOnly(display: DisplayProcessor, mode: string | undefined): DisplayProcessor {
  if (mode && mode !== FieldColorModeId.PaletteClassic) {
    return display;
  }
  return (v) => ({ ...display(v), color: undefined });
}

/**
 * WIP counts go through Grafana's field config like any panel's values: a number field `wip`
 * with the panel's defaults and overrides applied (so thresholds colour the bars, e.g. a WIP
 * limit, and units, decimals and mappings format the counts).
 */
export function wipDisplay(
  model: TasksModel,
  fieldConfig: FieldConfigSource,
  replaceVariables: InterpolateFunction,
  theme: GrafanaTheme2,
  timeZone: TimeZone
): DisplayProcessor {
  const [frame] = applyFieldOverrides({
    data: [
      {
        name: 'wip',
        length: model.wip.length,
        fields: [
          { name: 'state', type: FieldType.string, config: {}, values: model.wip.map((w) => w.state) },
          {
            name: 'wip',
            type: FieldType.number,
            config: { decimals: 0, min: 0 },
            values: model.wip.map((w) => w.count),
          },
        ],
      },
    ],
    fieldConfig,
    replaceVariables,
    theme,
    timeZone,
  });
  const field = frame.fields[1];
  return ownColorOnly(field.display ?? getDisplayProcessor({ field, theme, timeZone }), field.config.color?.mode);
}

interface RowData {
  rows: TaskRow[];
  age: DisplayProcessor;
  styles: ReturnType<typeof getStyles>;
}

/** One task: text only (titles and names are data, never markup). */
function TaskListRow({ index, style, data }: ListChildComponentProps<RowData>) {
  const r = data.rows[index];
  const { styles } = data;
  const age = r.ageSeconds === undefined ? undefined : data.age(r.ageSeconds);
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      style={style}
      className={cx(styles.row, r.aging && styles.aging)}
      data-testid={r.aging ? selectors.panels.taskflow.agingRow : selectors.panels.taskflow.taskRow}
    >
      <span role="cell">{r.taskId}</span>
      <span role="cell" title={r.title}>
        {r.title}
      </span>
      <span role="cell">{r.state}</span>
      <span role="cell">{r.assignee || '—'}</span>
      <span role="cell" className={styles.age} style={age?.color ? { color: age.color } : undefined}>
        {age ? formattedValueToString(age) : '—'}
      </span>
      <span role="cell">{r.team}</span>
    </div>
  );
}

/** react-window's scroll container, marked up as the table's row group. */
const RowGroup = forwardRef<HTMLDivElement, React.HTMLAttributes<HTMLDivElement>>(function RowGroup(props, ref) {
  return <div ref={ref} role="rowgroup" data-testid={selectors.panels.taskflow.taskList} {...props} />;
});

/**
 * WIP per state (aging part highlighted) and the task list, windowed by react-window so only the
 * visible rows are in the DOM.
 *
 * The WIP bars stay plain elements rather than @grafana/ui's BarGauge: each bar shows two parts on
 * one scale (open tasks, and the aging ones among them), which BarGauge cannot draw. Their counts
 * and colours still come from the field config (wipDisplay).
 */
export function WipView({ model, width, height, agingThresholdDays, fieldConfig, replaceVariables, timeZone }: Props) {
  const styles = useStyles2(getStyles);
  const theme = useTheme2();
  const wip = useMemo(
    () => wipDisplay(model, fieldConfig, replaceVariables, theme, timeZone),
    [model, fieldConfig, replaceVariables, theme, timeZone]
  );
  const rowData: RowData = useMemo(
    () => ({ rows: model.rows, age: ageDisplay(model, theme, timeZone), styles }),
    [model, theme, timeZone, styles]
  );
  const barsHeight = model.wip.length * (BAR_HEIGHT + 2) + 24;
  const listHeight = Math.max(ROW_HEIGHT * 3, height - barsHeight - ROW_HEIGHT - 16);
  const open = model.wip.reduce((s, w) => s + w.count, 0);

  return (
    <div className={styles.root} style={{ width }} data-testid={selectors.panels.taskflow.wip}>
      <div className={styles.summary}>
        {open} open tasks, {model.agingCount} older than {agingThresholdDays} days, {model.rows.length} in total
      </div>
      <div className={styles.bars}>
        {model.wip.map((w) => {
          const count = wip(w.count);
          return (
            <React.Fragment key={w.state}>
              <span>{w.state}</span>
              <div
                className={styles.barTrack}
                data-testid={selectors.panels.taskflow.wipBar}
                data-state={w.state}
                title={`${formattedValueToString(count)} in ${w.state}, ${w.aging} aging`}
              >
                <div
                  className={styles.bar}
                  style={{
                    width: `${(100 * w.count) / Math.max(1, model.maxWip)}%`,
                    background: count.color ?? theme.visualization.getColorByName('blue'),
                  }}
                />
                <div className={styles.barAging} style={{ width: `${(100 * w.aging) / Math.max(1, model.maxWip)}%` }} />
              </div>
              <span>
                {formattedValueToString(count)}
                {w.aging > 0 ? ` (${w.aging} aging)` : ''}
              </span>
            </React.Fragment>
          );
        })}
      </div>
      <div role="table" aria-label="Tasks" aria-rowcount={model.rows.length + 1}>
        <div role="row" className={cx(styles.row, styles.header)}>
          <span role="columnheader">Task</span>
          <span role="columnheader">Title</span>
          <span role="columnheader">State</span>
          <span role="columnheader">Assignee</span>
          <span role="columnheader" className={styles.age}>
            Age
          </span>
          <span role="columnheader">Team</span>
        </div>
        <FixedSizeList<RowData>
          outerElementType={RowGroup}
          height={listHeight}
          width="100%"
          itemCount={model.rows.length}
          itemSize={ROW_HEIGHT}
          itemData={rowData}
          itemKey={(i, data) => data.rows[i].taskId || i}
          overscanCount={8}
        >
          {TaskListRow}
        </FixedSizeList>
      </div>
    </div>
  );
}
