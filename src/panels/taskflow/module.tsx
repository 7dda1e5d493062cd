import { FieldColorModeId, FieldConfigProperty, PanelPlugin } from '@grafana/data';
import { commonOptionsBuilder } from '@grafana/ui';

import { CFD_FILL_OPACITY } from './CfdChart';
import { TaskflowPanel } from './TaskflowPanel';
import { defaultTaskflowOptions, TaskflowFieldConfig, TaskflowOptions } from './types';

/**
 * Field config is Grafana's (units, decimals, min/max, thresholds, value mappings, colour,
 * overrides), applied by Grafana to the frames before the panel gets them. The fields the panel
 * shows: `todo`, `in_progress`, `done` (the cumulative flow), `wip` (open tasks per state, its
 * thresholds colour the WIP bars, e.g. a WIP limit) and `age` (seconds; unit `s` unless set).
 */
export const plugin = new PanelPlugin<TaskflowOptions, TaskflowFieldConfig>(TaskflowPanel)
  .useFieldConfig({
    standardOptions: {
      [FieldConfigProperty.Color]: {
        settings: { byValueSupport: true, bySeriesSupport: true, preferThresholdsMode: false },
        defaultValue: { mode: FieldColorModeId.PaletteClassic },
      },
    },
    useCustomConfig: (builder) => {
      builder
        .addSliderInput({
          path: 'fillOpacity',
          name: 'Fill opacity',
          description: 'Of the cumulative flow areas',
          defaultValue: CFD_FILL_OPACITY,
          settings: { min: 0, max: 100, step: 1 },
        })
        .addSliderInput({
          path: 'lineWidth',
          name: 'Line width',
          defaultValue: 1,
          settings: { min: 0, max: 10, step: 1 },
        });
      commonOptionsBuilder.addHideFrom(builder);
    },
  })
  .setPanelOptions((builder) => {
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
      });
    commonOptionsBuilder.addLegendOptions(builder);
  });
