/**
 * The code editor: Monaco, loaded only when a reader opens a lab, and only the parts a lab uses:
 * the editor core, TypeScript (highlighting, then the language service), find, hover, suggestions,
 * parameter hints, problems navigation, comments, bracket matching, Ctrl+M (Tab moves focus), the
 * read-only message and the diff view. The TypeScript worker, the largest download, starts only
 * once the editor takes keystrokes; then the kit's types (extra libs) give completion and squiggles.
 * Monaco's own CSS is attached here, not through the bundler, so it never reaches pages whose lab
 * stays closed.
 */
import * as monaco from 'monaco-editor/editor';
import 'monaco-editor/languages/definitions/typescript/register';
import * as ts from 'monaco-editor/languages/features/typescript/register';
import 'monaco-editor/features/find/register';
import 'monaco-editor/features/hover/register';
import 'monaco-editor/features/suggest/register';
// The suggestion widget itself: the `suggest` entry point above registers only the inline part.
import 'monaco-editor/editor/contrib/suggest/browser/suggestController';
import 'monaco-editor/features/parameterHints/register';
import 'monaco-editor/features/gotoError/register';
import 'monaco-editor/features/comment/register';
import 'monaco-editor/features/bracketMatching/register';
import 'monaco-editor/features/clipboard/register';
import 'monaco-editor/features/wordOperations/register';
import 'monaco-editor/features/toggleTabFocusMode/register';
import 'monaco-editor/features/readOnlyMessage/register';
import 'monaco-editor/features/diffEditor/register';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import TsWorker from 'monaco-editor/languages/features/typescript/ts.worker?worker';
import editorCssUrl from './monaco-editor.css?url';
import { EDITOR_TS_LIBS } from './editor-libs.ts';

/** Resolved once the first editor takes keystrokes: the TypeScript worker waits for it. */
let markEditable!: () => void;
const editable = new Promise<void>((resolve) => (markEditable = resolve));

(globalThis as { MonacoEnvironment?: monaco.Environment }).MonacoEnvironment = {
  getWorker: async (_id, label) => {
    if (label !== 'typescript' && label !== 'javascript') return new EditorWorker();
    await editable;
    return new TsWorker();
  },
};

/** Attaches Monaco's stylesheet once; resolves when it applies (or failed: the editor still works). */
function attachCss(): Promise<void> {
  const existing = document.querySelector<HTMLLinkElement>('link[data-monaco-css]');
  if (existing) return Promise.resolve();
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = editorCssUrl;
  link.dataset.monacoCss = '';
  const loaded = new Promise<void>((resolve) => {
    link.onload = () => resolve();
    link.onerror = () => resolve();
  });
  document.head.append(link);
  return loaded;
}

let typesLoaded: Promise<void> | undefined;

/** Loads the kit's declarations once per page, as `node_modules/@scale-lab/kit`. */
function loadKitTypes(assetsBase: string): Promise<void> {
  typesLoaded ??= (async () => {
    ts.typescriptDefaults.setCompilerOptions({
      target: ts.ScriptTarget.ES2020,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.NodeJs,
      allowImportingTsExtensions: true,
      noEmit: true,
      strict: true,
      // File names, not the names tsconfig takes: Monaco hands these to TypeScript as they are.
      lib: EDITOR_TS_LIBS.map((lib) => `lib.${lib}.d.ts`),
    });
    ts.typescriptDefaults.setEagerModelSync(true);
    try {
      const res = await fetch(`${assetsBase}kit-types/index.json`, { cache: 'no-cache' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const { files } = (await res.json()) as { files: Record<string, string> };
      for (const [name, text] of Object.entries(files)) {
        ts.typescriptDefaults.addExtraLib(text, `file:///node_modules/@scale-lab/kit/${name}`);
      }
      ts.typescriptDefaults.addExtraLib(
        JSON.stringify({ name: '@scale-lab/kit', types: 'index.d.ts' }),
        'file:///node_modules/@scale-lab/kit/package.json',
      );
    } catch (err) {
      // The editor still works without types; say so in the console rather than fail the lab.
      console.warn(`Scale Lab: the kit's types could not be loaded (${(err as Error).message}); completion for @scale-lab/kit is off.`);
    }
  })();
  return typesLoaded;
}

export interface LabEditor {
  /** Shows `file`; creates its model on first use. */
  show(file: string): void;
  /** The current text of a file. */
  value(file: string): string;
  /** Replaces a file's text (keeps undo history). */
  setValue(file: string, text: string): void;
  /** Called after each edit of an editable file. */
  onChange(listener: (file: string, text: string) => void): void;
  /** Called on Ctrl/Cmd+Enter inside the editor. */
  onRunShortcut(listener: () => void): void;
  /** Moves the cursor to a line of a file and shows it. */
  reveal(file: string, line: number): void;
  /** Tab moves focus instead of indenting (on) or indents (off). */
  setTabMovesFocus(on: boolean): void;
  focus(): void;
  /** Shows a read-only diff of two texts in `host`; returns a function that closes it. */
  diff(host: HTMLElement, original: string, modified: string): () => void;
  dispose(): void;
}

export async function createLabEditor(host: HTMLElement, files: Record<string, string>, options: { readOnly: string[]; labName: string; assetsBase: string }): Promise<LabEditor> {
  const css = attachCss();
  // Not awaited: the editor opens at once; types arrive in the worker when they are here.
  void loadKitTypes(options.assetsBase);
  const theme = () => (document.documentElement.dataset.theme === 'light' ? 'vs' : 'vs-dark');
  const models = new Map<string, monaco.editor.ITextModel>();
  const modelOf = (file: string) => {
    let model = models.get(file);
    if (!model) {
      const uri = monaco.Uri.parse(`file:///labs/${options.labName}/${file}`);
      model = monaco.editor.getModel(uri) ?? monaco.editor.createModel(files[file] ?? '', 'typescript', uri);
      model.setValue(files[file] ?? '');
      models.set(file, model);
    }
    return model;
  };
  // Every file is a model from the start, so imports between them type-check.
  for (const file of Object.keys(files)) modelOf(file);

  await css;
  // What the editor and the solution's diff share: how code looks and reads.
  const codeOptions = {
    theme: theme(),
    automaticLayout: true,
    minimap: { enabled: false },
    fontSize: 14,
    scrollBeyondLastLine: false,
    // 'dimmed' greys out the last line number below the contrast readers need.
    renderFinalNewline: 'on',
    // Fading unused code (a starter's unread parameter) drops it below the contrast readers need;
    // TypeScript's hint still marks it.
    showUnused: false,
  } as const;
  const editor = monaco.editor.create(host, { ...codeOptions, model: null, tabSize: 2, ariaLabel: 'Code editor' });
  // Follow Starlight's theme toggle.
  const themeObserver = new MutationObserver(() => monaco.editor.setTheme(theme()));
  themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });

  // The errors of the file shown, on the host, for tests and the benchmark (`line: message`, one a line).
  const showProblems = () => {
    const model = editor.getModel();
    const markers = model ? monaco.editor.getModelMarkers({ resource: model.uri }) : [];
    host.dataset.problems = markers.filter((m) => m.severity === monaco.MarkerSeverity.Error).map((m) => `${m.startLineNumber}: ${m.message}`).join('\n');
  };
  const markersListener = monaco.editor.onDidChangeMarkers(showProblems);
  editor.onDidChangeModel(showProblems);

  const changeListeners: ((file: string, text: string) => void)[] = [];
  let current = '';
  for (const [file, model] of models) {
    model.onDidChangeContent(() => {
      if (!options.readOnly.includes(file)) changeListeners.forEach((l) => l(file, model.getValue()));
    });
  }

  const labEditor: LabEditor = {
    show(file) {
      current = file;
      editor.setModel(modelOf(file));
      editor.updateOptions({ readOnly: options.readOnly.includes(file) });
      if (host.dataset.editable) return;
      // Once the file is painted the editor takes keystrokes; only then may the TypeScript worker load.
      requestAnimationFrame(() => {
        host.dataset.editable = 'true';
        markEditable();
      });
    },
    value: (file) => modelOf(file).getValue(),
    setValue(file, text) {
      const model = modelOf(file);
      model.pushEditOperations([], [{ range: model.getFullModelRange(), text }], () => null);
    },
    onChange: (listener) => void changeListeners.push(listener),
    onRunShortcut(listener) {
      editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter, listener);
    },
    reveal(file, line) {
      if (current !== file) labEditor.show(file);
      editor.revealLineInCenter(line);
      editor.setPosition({ lineNumber: line, column: 1 });
      editor.focus();
    },
    setTabMovesFocus: (on) => editor.updateOptions({ tabFocusMode: on }),
    focus: () => editor.focus(),
    diff(diffHost, original, modified) {
      const diffEditor = monaco.editor.createDiffEditor(diffHost, { ...codeOptions, theme: theme(), readOnly: true, renderSideBySide: diffHost.clientWidth > 700 });
      const a = monaco.editor.createModel(original, 'typescript');
      const b = monaco.editor.createModel(modified, 'typescript');
      diffEditor.setModel({ original: a, modified: b });
      return () => {
        diffEditor.dispose();
        a.dispose();
        b.dispose();
      };
    },
    dispose() {
      themeObserver.disconnect();
      markersListener.dispose();
      editor.dispose();
      for (const model of models.values()) model.dispose();
    },
  };
  return labEditor;
}
