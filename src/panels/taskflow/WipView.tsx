import React from 'react';
import { css, cx } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { VirtualList } from '../../components/VirtualList';
import { TasksModel } from './transform';

interface Props {
  model: TasksModel;
  width: number;
  height: number;
  agingThresholdDays: number;
}

export const ROW_HEIGHT = 28;
const BAR_HEIGHT = 22;
const COLUMNS = '110px minmax(160px, 3fr) 120px 100px 72px 100px';

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
    background: theme.visualization.getColorByName('blue'),
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

/** WIP per state (aging part highlighted) and the task list, windowed so only visible rows render. */
export function WipView({ model, width, height, agingThresholdDays }: Props) {
  const styles = useStyles2(getStyles);
  const barsHeight = model.wip.length * (BAR_HEIGHT + 2) + 24;
  const listHeight = Math.max(ROW_HEIGHT * 3, height - barsHeight - ROW_HEIGHT - 16);
  const open = model.wip.reduce((s, w) => s + w.count, 0);

  return (
    <div className={styles.root} style={{ width }} data-testid={selectors.panels.taskflow.wip}>
      <div className={styles.summary}>
        {open} open tasks, {model.agingCount} older than {agingThresholdDays} days, {model.rows.length} in total
      </div>
      <div className={styles.bars}>
        {model.wip.map((w) => (
          <React.Fragment key={w.state}>
            <span>{w.state}</span>
            <div
              className={styles.barTrack}
              data-testid={selectors.panels.taskflow.wipBar}
              data-state={w.state}
              title={`${w.count} in ${w.state}, ${w.aging} aging`}
            >
              <div className={styles.bar} style={{ width: `${(100 * w.count) / Math.max(1, model.maxWip)}%` }} />
              <div className={styles.barAging} style={{ width: `${(100 * w.aging) / Math.max(1, model.maxWip)}%` }} />
            </div>
            <span>
              {w.count}
              {w.aging > 0 ? ` (${w.aging} aging)` : ''}
            </span>
          </React.Fragment>
        ))}
      </div>
      <div role="table" aria-label="Tasks" aria-rowcount={model.rows.length + 1}>
        <div role="row" className={cx(styles.row, styles.header)}>
          <span role="columnheader">Task</span>
          <span role="columnheader">Title</span>
          <span role="columnheader">State</span>
          <span role="columnheader">Assignee</span>
          <span role="columnheader" className={styles.age}>
            Age (d)
          </span>
          <span role="columnheader">Team</span>
        </div>
        <VirtualList
          data-testid={selectors.panels.taskflow.taskList}
          itemCount={model.rows.length}
          itemHeight={ROW_HEIGHT}
          height={listHeight}
          renderRow={(i, style) => {
            const r = model.rows[i];
            return (
              <div
                key={r.taskId || i}
                role="row"
                aria-rowindex={i + 2}
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
                <span role="cell" className={styles.age}>
                  {r.ageDays.toFixed(1)}
                </span>
                <span role="cell">{r.team}</span>
              </div>
            );
          }}
        />
      </div>
    </div>
  );
}
