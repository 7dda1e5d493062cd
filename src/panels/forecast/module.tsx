import { PanelPlugin } from '@grafana/data';

import { ForecastPanel } from './ForecastPanel';
import { defaultForecastOptions, ForecastOptions } from './types';

export const plugin = new PanelPlugin<ForecastOptions>(ForecastPanel).setPanelOptions((builder) =>
  builder
    .addBooleanSwitch({
      path: 'showTable',
      name: 'Percentile dates',
      description: 'Show the table of completion dates per percentile',
      defaultValue: defaultForecastOptions.showTable,
    })
    .addTextInput({
      path: 'dateFormat',
      name: 'Date format',
      defaultValue: defaultForecastOptions.dateFormat,
    })
);
