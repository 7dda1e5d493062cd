import { PanelPlugin } from '@grafana/data';

import { TaskflowPanel } from './TaskflowPanel';
import { defaultTaskflowOptions, TaskflowOptions } from './types';

export const plugin = new PanelPlugin<TaskflowOptions>(TaskflowPanel).setPanelOptions((builder) =>
  builder
    .addRadio({
      path: 'view',
      name: 'View',
      description: 'What to draw; auto follows the frames the query returns',
      defaultValue: defaultTaskflowOptions.view,
      settings: {
        options: [
          { value: 'auto', label: 'Auto' },
          { value: 'cfd', label: 'Cumulative flow' },
          { value: 'wip', label: 'WIP and aging' },
        ],
      },
    })
    .addNumberInput({
      path: 'agingThresholdDays',
      name: 'Aging threshold (days)',
      description: 'Open tasks older than this are highlighted',
      defaultValue: defaultTaskflowOptions.agingThresholdDays,
      settings: { min: 0, integer: false },
    })
);
