import React from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { Alert, LoadingPlaceholder, useStyles2 } from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { ARROW_TASK_THRESHOLD } from './arrowTaskList';
import { ArrowTaskList } from './useArrowTaskList';

const getStyles = (theme: GrafanaTheme2) => ({
  caption: css({
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  alert: css({ marginBottom: 0 }),
});

const CAPTION_HEIGHT = 26;
const ALERT_HEIGHT = 96;

/** The height TaskListNotice takes (with the panel's gap), so the WIP view fits below it. */
export function taskListNoticeHeight(arrow: ArrowTaskList, tasks: number): number {
  switch (arrow.state) {
    case 'loading':
      return CAPTION_HEIGHT;
    case 'error':
      return ALERT_HEIGHT;
    case 'done':
      return CAPTION_HEIGHT + arrow.notices.length * ALERT_HEIGHT;
    case 'off':
      return tasks > ARROW_TASK_THRESHOLD ? ALERT_HEIGHT : 0;
  }
}

interface Props {
  arrow: ArrowTaskList;
  /** Tasks in the list the panel shows (Grafana's frames or the Arrow answer). */
  tasks: number;
}

/**
 * Where the task list came from and what went wrong: POST arrow's progress, its error (HTTP status,
 * a bad or cut stream) or warning notices; or, for a list that came as Grafana's JSON frames and
 * holds more than ARROW_TASK_THRESHOLD tasks, how to read it as Arrow. Text only, never HTML.
 */
export function TaskListNotice({ arrow, tasks }: Props) {
  const styles = useStyles2(getStyles);
  const id = selectors.panels.taskflow.taskListNotice;
  switch (arrow.state) {
    case 'loading':
      return (
        <div data-testid={id} data-source="arrow" data-state="loading">
          <LoadingPlaceholder text="Reading the task list as Arrow…" />
        </div>
      );
    case 'error':
      return (
        <div data-testid={id} data-source="arrow" data-state="error">
          <Alert className={styles.alert} severity="error" title="Task list (Arrow)">
            {arrow.message}
          </Alert>
        </div>
      );
    case 'done':
      return (
        <div data-testid={id} data-source="arrow" data-state="done" data-tasks={tasks}>
          {arrow.notices.map((n, i) => (
            <Alert
              key={i}
              className={styles.alert}
              severity={n.severity === 'error' ? 'error' : 'warning'}
              title="Task list"
            >
              {n.text}
            </Alert>
          ))}
          <div className={styles.caption}>{tasks.toLocaleString('en')} tasks read as Arrow</div>
        </div>
      );
    case 'off':
      if (tasks <= ARROW_TASK_THRESHOLD) {
        return null;
      }
      return (
        <div data-testid={id} data-source="frames" data-tasks={tasks}>
          <Alert className={styles.alert} severity="info" title={`${tasks.toLocaleString('en')} tasks as JSON frames`}>
            Above {ARROW_TASK_THRESHOLD.toLocaleString('en')} tasks, hide the task list query (view tasks) in this
            panel: the panel then reads it through the data source&apos;s Arrow endpoint instead of Grafana&apos;s JSON
            frames.
          </Alert>
        </div>
      );
  }
}
