import {
  applyFieldOverrides,
  ConfigOverrideRule,
  FieldColorModeId,
  ThresholdsMode,
  createTheme,
  DataFrame,
  EventBusSrv,
  FieldConfigSource,
  LoadingState,
  PanelPlugin,
  PanelProps,
  TimeRange,
} from '@grafana/data';

import { registerGrafanaOptionRegistries } from './grafanaRegistries';

/**
 * PanelProps as Grafana builds them for a panel plugin, for jest tests and the browser harness:
 * the panel's field config (the plugin's defaults, then `fieldConfig`'s defaults and overrides)
 * is applied to the frames with the plugin's registry, as Grafana's PanelQueryRunner does, so
 * fields arrive with their config and display processors.
 */
export function grafanaPanelProps<T extends object>(opts: {
  plugin: PanelPlugin<T>;
  series: DataFrame[];
  options: T;
  timeRange: TimeRange;
  width: number;
  height: number;
  fieldConfig?: FieldConfigSource;
  id?: number;
}): PanelProps<T> {
  registerGrafanaOptionRegistries();
  const theme = createTheme({ colors: { mode: 'dark' } });
  const registry = opts.plugin.fieldConfigRegistry;
  const defaults: FieldConfigSource['defaults'] = { custom: {} };
  for (const item of registry.list()) {
    if (item.defaultValue === undefined) {
      continue;
    }
    if (item.isCustom) {
      defaults.custom[item.path] = item.defaultValue;
    } else {
      (defaults as Record<string, unknown>)[item.path] = item.defaultValue;
    }
  }
  const fieldConfig: FieldConfigSource = {
    defaults: {
      ...defaults,
      ...opts.fieldConfig?.defaults,
      custom: { ...defaults.custom, ...opts.fieldConfig?.defaults.custom },
    },
    overrides: opts.fieldConfig?.overrides ?? [],
  };
  const replaceVariables = (s: string) => s;
  const series = applyFieldOverrides({
    data: opts.series,
    fieldConfig,
    fieldConfigRegistry: registry,
    replaceVariables,
    theme,
    timeZone: 'utc',
  });
  return {
    id: opts.id ?? 1,
    data: { series, state: LoadingState.Done, timeRange: opts.timeRange },
    timeRange: opts.timeRange,
    timeZone: 'utc',
    options: opts.options,
    transparent: false,
    width: opts.width,
    height: opts.height,
    fieldConfig,
    renderCounter: 0,
    title: 'test',
    eventBus: new EventBusSrv(),
    onOptionsChange: () => {},
    onFieldConfigChange: () => {},
    replaceVariables,
    onChangeTimeRange: () => {},
  };
}

/**
 * An override a user sets for a WIP limit: thresholds on the task flow panel's `wip` field, `below`
 * under the limit and red from it, coloured by thresholds.
 */
export function wipLimitOverride(limit: number, below: string): ConfigOverrideRule {
  return {
    matcher: { id: 'byName', options: 'wip' },
    properties: [
      {
        id: 'thresholds',
        value: {
          mode: ThresholdsMode.Absolute,
          steps: [
            { value: -Infinity, color: below },
            { value: limit, color: 'red' },
          ],
        },
      },
      { id: 'color', value: { mode: FieldColorModeId.Thresholds } },
    ],
  };
}
