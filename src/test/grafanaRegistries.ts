import {
  booleanOverrideProcessor,
  dataLinksOverrideProcessor,
  displayNameOverrideProcessor,
  FieldConfigProperty,
  FieldConfigPropertyItem,
  identityOverrideProcessor,
  numberOverrideProcessor,
  standardEditorsRegistry,
  standardFieldConfigEditorRegistry,
  stringOverrideProcessor,
  ThresholdsMode,
  thresholdsOverrideProcessor,
  valueMappingsOverrideProcessor,
} from '@grafana/data';

/**
 * Grafana fills @grafana/data's option registries when it starts (its core registers the
 * standard field options and the option editors); outside Grafana they are empty, and panel
 * plugins cannot build their options. This registers what Grafana registers, with the same ids,
 * paths, processors and defaults, and editors that render nothing (tests and the harness never
 * show the options pane). Call before a panel plugin's registries are first read.
 */
export function registerGrafanaOptionRegistries() {
  const none = () => null;
  const editors = ['slider', 'number', 'radio', 'boolean', 'select', 'text', 'color', 'unit', 'thresholds', 'mappings'];
  for (const id of [...editors, 'fieldColor', 'links', 'stats-picker', 'multi-select', 'strings', 'actions']) {
    if (!standardEditorsRegistry.getIfExists(id)) {
      standardEditorsRegistry.register({ id, name: id, editor: none });
    }
  }
  const field = (
    id: FieldConfigProperty,
    process: FieldConfigPropertyItem['process'],
    defaultValue?: unknown
  ): FieldConfigPropertyItem => ({
    id,
    path: id,
    name: id,
    editor: none,
    override: none,
    process,
    shouldApply: () => true,
    defaultValue,
  });
  const items = [
    field(FieldConfigProperty.DisplayName, displayNameOverrideProcessor),
    field(FieldConfigProperty.Unit, stringOverrideProcessor),
    field(FieldConfigProperty.Min, numberOverrideProcessor),
    field(FieldConfigProperty.Max, numberOverrideProcessor),
    field(FieldConfigProperty.Decimals, numberOverrideProcessor),
    field(FieldConfigProperty.NoValue, stringOverrideProcessor),
    field(FieldConfigProperty.Links, dataLinksOverrideProcessor),
    field(FieldConfigProperty.Mappings, valueMappingsOverrideProcessor),
    field(FieldConfigProperty.Thresholds, thresholdsOverrideProcessor, {
      mode: ThresholdsMode.Absolute,
      steps: [
        { value: -Infinity, color: 'green' },
        { value: 80, color: 'red' },
      ],
    }),
    field(FieldConfigProperty.Color, identityOverrideProcessor),
    field(FieldConfigProperty.Filterable, booleanOverrideProcessor),
    field(FieldConfigProperty.FieldMinMax, booleanOverrideProcessor),
  ];
  for (const item of items) {
    if (!standardFieldConfigEditorRegistry.getIfExists(item.id)) {
      standardFieldConfigEditorRegistry.register(item);
    }
  }
}
