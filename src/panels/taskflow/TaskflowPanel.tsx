import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, PanelProps } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { CfdChart } from './CfdChart';
import { useTaskflowModel } from './data';
import { TaskListNotice, taskListNoticeHeight } from './TaskListNotice';
import { TaskflowOptions } from './types';
import { WipView } from './WipView';

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({
    display: 'flex',
    flexDirection: 'column',
    gap: theme.spacing(1),
    overflow: 'hidden',
  }),
  empty: css({
    color: theme.colors.text.secondary,
    padding: theme.spacing(2),
  }),
});

/** kpiflow task flow: cumulative flow diagram and/or WIP by state with aging work. */
export function TaskflowPanel({
  data,
  options,
  width,
  height,
  timeZone,
  timeRange,
  fieldConfig,
  replaceVariables,
}: PanelProps<TaskflowOptions>) {
  const styles = useStyles2(getStyles);
  const { model, arrow } = useTaskflowModel(data, options.agingThresholdDays);
  const showCfd = Boolean(model.cfd && model.cfd.length > 0) && options.view !== 'wip';
  const showWip = Boolean(model.tasks) && options.view !== 'cfd';
  const notice = options.view === 'cfd' ? null : <TaskListNotice arrow={arrow} tasks={model.tasks?.rows.length ?? 0} />;

  if (!showCfd && !showWip) {
    if (arrow.state === 'loading' || arrow.state === 'error') {
      return (
        <div className={styles.root} style={{ width, height }} data-testid={selectors.panels.taskflow.root}>
          {notice}
        </div>
      );
    }
    return (
      <div className={styles.empty} data-testid={selectors.panels.taskflow.empty}>
        No task flow data. Use a kpiflow query of type Task flow (view cfd for cumulative flow, tasks or aging for work
        in progress).
      </div>
    );
  }
  // The notice takes a line or an alert from the WIP view's height.
  const noticeHeight = notice ? taskListNoticeHeight(arrow, model.tasks?.rows.length ?? 0) : 0;
  const cfdHeight = showCfd && showWip ? Math.round(height * 0.45) : height;
  const wipHeight = (showCfd && showWip ? height - cfdHeight - 8 : height) - noticeHeight;
  return (
    <div className={styles.root} style={{ width, height }} data-testid={selectors.panels.taskflow.root}>
      {showCfd && model.cfd && (
        <CfdChart
          frame={model.cfd}
          width={width}
          height={cfdHeight}
          timeRange={timeRange}
          timeZone={timeZone}
          legend={options.legend}
        />
      )}
      {notice}
      {showWip && model.tasks && (
        <WipView
          model={model.tasks}
          width={width}
          height={wipHeight}
          agingThresholdDays={options.agingThresholdDays}
          fieldConfig={fieldConfig}
          replaceVariables={replaceVariables}
          timeZone={timeZone}
        />
      )}
    </div>
  );
}
