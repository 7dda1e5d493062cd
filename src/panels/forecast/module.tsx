import { FieldConfigProperty, PanelPlugin } from '@grafana/data';

import { ForecastPanel } from './ForecastPanel';
import { defaultForecastOptions, ForecastOptions } from './types';

export const plugin = new PanelPlugin<ForecastOptions>(ForecastPanel)
  // Unit and decimals apply to the value axis; the rest of Grafana's standard options do not
  // apply to a burn-up or a trend band.
  .useFieldConfig({
    standardOptions: {
      [FieldConfigProperty.Unit]: {},
      [FieldConfigProperty.Decimals]: {},
    },
    disableStandardOptions: [
      FieldConfigProperty.Min,
      FieldConfigProperty.Max,
      FieldConfigProperty.Thresholds,
      FieldConfigProperty.Mappings,
      FieldConfigProperty.Links,
      FieldConfigProperty.NoValue,
      FieldConfigProperty.Color,
      FieldConfigProperty.DisplayName,
      FieldConfigProperty.Filterable,
    ],
  })
  .setPanelOptions((builder) =>
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
