import React, { useEffect } from 'react';
import type { CodeEditor, Monaco, monacoTypes } from '@grafana/ui';

/**
 * Monaco does not run in jsdom (it stays at "Loading editor"), so jest tests replace @grafana/ui's
 * CodeEditor with this, as Grafana's own plugins do (grafana/clickhouse-datasource's
 * CHQueryEditor.test.tsx):
 *
 *   jest.mock('@grafana/ui', () => ({
 *     ...jest.requireActual('@grafana/ui'),
 *     CodeEditor: jest.requireActual('../test/mockCodeEditor').MockCodeEditor,
 *   }));
 *
 * It renders a textarea (typing calls onChange, leaving it onBlur) and mounts with a fake editor
 * and a fake monaco that record the completion providers and commands the component registers, so
 * tests can ask for completions the way Monaco would.
 */

type Props = React.ComponentProps<typeof CodeEditor>;
type Provider = monacoTypes.languages.CompletionItemProvider;

export interface FakeModel {
  id: string;
  getValue(): string;
  getOffsetAt(position: { lineNumber: number; column: number }): number;
}

export const mockMonacoState: {
  providers: Array<{ language: string; provider: Provider; disposed: boolean }>;
  commands: Array<() => void>;
  model?: FakeModel;
} = { providers: [], commands: [] };

export function resetMockMonaco() {
  mockMonacoState.providers = [];
  mockMonacoState.commands = [];
  mockMonacoState.model = undefined;
}

/** Position (1-based line and column) of a text offset, as Monaco gives it. */
export function positionAt(text: string, offset: number): { lineNumber: number; column: number } {
  const lines = text.slice(0, offset).split('\n');
  return { lineNumber: lines.length, column: lines[lines.length - 1].length + 1 };
}

function offsetAt(text: string, p: { lineNumber: number; column: number }): number {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < p.lineNumber - 1; i++) {
    offset += lines[i].length + 1;
  }
  return offset + p.column - 1;
}

/** Asks the registered, live providers for completions at `offset` of `text` (for tests). */
export async function mockCompletions(
  language: string,
  text: string,
  offset: number
): Promise<monacoTypes.languages.CompletionItem[]> {
  const model: FakeModel = {
    id: mockMonacoState.model?.id ?? 'model-1',
    getValue: () => text,
    getOffsetAt: (p) => offsetAt(text, p),
  };
  const out: monacoTypes.languages.CompletionItem[] = [];
  for (const p of mockMonacoState.providers.filter((r) => r.language === language && !r.disposed)) {
    // The fake model has what the providers read; the casts stand in for Monaco's large types.
    const res = await p.provider.provideCompletionItems(
      model as unknown as monacoTypes.editor.ITextModel,
      positionAt(text, offset) as monacoTypes.Position,
      { triggerKind: 0 } as monacoTypes.languages.CompletionContext,
      {} as monacoTypes.CancellationToken
    );
    out.push(...(res?.suggestions ?? []));
  }
  return out;
}

function fakeMonaco(): Monaco {
  const fake = {
    KeyMod: { CtrlCmd: 2048, Shift: 1024, Alt: 512, WinCtrl: 256 },
    KeyCode: { Enter: 3, KeyS: 49 },
    languages: {
      CompletionItemKind: { Function: 1, Field: 3, Variable: 4, Struct: 6, Keyword: 17, Text: 18 },
      CompletionItemInsertTextRule: { KeepWhitespace: 1, InsertAsSnippet: 4 },
      registerCompletionItemProvider: (language: string, provider: Provider) => {
        const entry = { language, provider, disposed: false };
        mockMonacoState.providers.push(entry);
        return { dispose: () => (entry.disposed = true) };
      },
    },
  };
  return fake as unknown as Monaco;
}

export function MockCodeEditor({ value, onChange, onBlur, onEditorDidMount, onBeforeEditorMount }: Props) {
  const [text, setText] = React.useState(value);
  const textRef = React.useRef(text);
  useEffect(() => {
    const monaco = fakeMonaco();
    const model: FakeModel = {
      id: 'model-1',
      getValue: () => textRef.current,
      getOffsetAt: (p) => offsetAt(textRef.current, p),
    };
    mockMonacoState.model = model;
    const editor = {
      getModel: () => model,
      getValue: () => textRef.current,
      addCommand: (_keys: number, run: () => void) => {
        mockMonacoState.commands.push(run);
        return null;
      },
    };
    onBeforeEditorMount?.(monaco);
    onEditorDidMount?.(editor as unknown as monacoTypes.editor.IStandaloneCodeEditor, monaco);
    // Mount once, like Monaco.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <textarea
      data-testid="mock-code-editor"
      value={text}
      onChange={(e) => {
        textRef.current = e.currentTarget.value;
        setText(e.currentTarget.value);
        onChange?.(e.currentTarget.value);
      }}
      onBlur={(e) => onBlur?.(e.currentTarget.value)}
    />
  );
}
