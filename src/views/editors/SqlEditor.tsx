import React, { useCallback, useEffect, useLayoutEffect, useRef } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2, SelectableValue } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import {
  CodeEditor,
  Collapse,
  InlineField,
  Monaco,
  MonacoEditor,
  monacoTypes,
  RadioButtonGroup,
  useStyles2,
} from '@grafana/ui';

import { selectors } from '../../components/selectors';
import { SqlQuery, TableOrSeries } from '../../types/query';
import { LABEL_WIDTH, TypedEditorProps } from './common';
import { macroSignature, SqlCompletion, sqlCompletions, sqlSchema } from './sqlCompletion';

const formatOptions: Array<SelectableValue<TableOrSeries>> = [
  { label: 'Time series', value: 'timeseries' },
  { label: 'Table', value: 'table' },
];

const getStyles = (theme: GrafanaTheme2) => ({
  editor: css({
    marginBottom: theme.spacing(1),
  }),
  macros: css({
    display: 'grid',
    gridTemplateColumns: 'max-content 1fr',
    columnGap: theme.spacing(2),
    rowGap: theme.spacing(0.5),
    fontSize: theme.typography.bodySmall.fontSize,
    'dt code': { whiteSpace: 'nowrap' },
    dd: { margin: 0, color: theme.colors.text.secondary },
  }),
});

/** The dashboard's variable names, when running inside Grafana (none in tests and the harness). */
function dashboardVariables(): string[] {
  try {
    return getTemplateSrv()
      .getVariables()
      .map((v) => v.name);
  } catch {
    return [];
  }
}

function completionKind(monaco: Monaco, kind: SqlCompletion['kind']): monacoTypes.languages.CompletionItemKind {
  const k = monaco.languages.CompletionItemKind;
  switch (kind) {
    case 'macro':
      return k.Function;
    case 'variable':
      return k.Variable;
    case 'table':
      return k.Struct;
    case 'column':
      return k.Field;
  }
}

/**
 * Registers kpiflow's SQL completion for one editor model: macros, tables and columns (see
 * sqlCompletions). Returns the registration, to dispose with the editor.
 */
export function registerSqlCompletion(editor: MonacoEditor, monaco: Monaco): monacoTypes.IDisposable {
  const modelId = editor.getModel()?.id;
  return monaco.languages.registerCompletionItemProvider('sql', {
    triggerCharacters: ['$', '.'],
    provideCompletionItems: (model, position) => {
      if (model.id !== modelId) {
        return { suggestions: [] };
      }
      const { word, items } = sqlCompletions(
        model.getValue(),
        model.getOffsetAt(position),
        sqlSchema,
        dashboardVariables()
      );
      const range = {
        startLineNumber: position.lineNumber,
        endLineNumber: position.lineNumber,
        startColumn: position.column - word.length,
        endColumn: position.column,
      };
      return {
        suggestions: items.map((item, i) => ({
          label: item.label,
          kind: completionKind(monaco, item.kind),
          detail: item.detail,
          documentation: item.documentation,
          insertText: item.insertText,
          insertTextRules: item.snippet ? monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet : undefined,
          // Keep the order given: columns of the queried tables first.
          sortText: String(i).padStart(4, '0'),
          range,
        })),
      };
    },
  });
}

/**
 * Raw SQL in Grafana's code editor (Monaco): SQL highlighting, completion of kpiflow's macros,
 * tables and columns, Ctrl/Cmd+Enter or leaving the editor runs the query.
 */
export function SqlEditor({ query, onChange, onRunQuery }: TypedEditorProps<SqlQuery>) {
  const styles = useStyles2(getStyles);
  const [showMacros, setShowMacros] = React.useState(false);
  const completion = useRef<monacoTypes.IDisposable | undefined>(undefined);
  // Monaco keeps the callbacks it got at mount; these refs give them the current query.
  const latest = useRef({ query, onChange, onRunQuery });
  useLayoutEffect(() => {
    latest.current = { query, onChange, onRunQuery };
  });

  const onEditorDidMount = useCallback((editor: MonacoEditor, monaco: Monaco) => {
    completion.current?.dispose();
    completion.current = registerSqlCompletion(editor, monaco);
    editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, () => {
      const { query: q, onChange: change, onRunQuery: run } = latest.current;
      change({ ...q, rawSql: editor.getValue() });
      run();
    });
  }, []);
  useEffect(() => () => completion.current?.dispose(), []);

  return (
    <>
      <div className={styles.editor} data-testid={selectors.query.sql.editor}>
        <CodeEditor
          language="sql"
          value={query.rawSql}
          height={200}
          showLineNumbers
          showMiniMap={false}
          onChange={(rawSql) => latest.current.onChange({ ...latest.current.query, rawSql })}
          onBlur={(rawSql) => {
            latest.current.onChange({ ...latest.current.query, rawSql });
            latest.current.onRunQuery();
          }}
          onEditorDidMount={onEditorDidMount}
        />
      </div>
      <InlineField label="Format" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup<TableOrSeries>
          data-testid={selectors.query.format}
          options={formatOptions}
          value={query.format}
          onChange={(v) => {
            onChange({ ...query, format: v });
            onRunQuery();
          }}
        />
      </InlineField>
      <Collapse label="Macros" isOpen={showMacros} onToggle={() => setShowMacros(!showMacros)}>
        <dl className={styles.macros} data-testid={selectors.query.sql.macros}>
          {sqlSchema.macros.map((m) => (
            <React.Fragment key={m.name}>
              <dt>
                <code>{macroSignature(m)}</code>
              </dt>
              <dd>{m.doc}</dd>
            </React.Fragment>
          ))}
        </dl>
      </Collapse>
    </>
  );
}
