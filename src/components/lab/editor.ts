/**
 * The code editor: Monaco, loaded only when a reader opens a lab. It knows the kit's types (loaded
 * as extra libs), so kit APIs get completion and type errors. Monaco's own CSS is attached here,
 * not through the bundler, so it never reaches pages whose lab stays closed.
 */
import * as monaco from 'monaco-editor';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import TsWorker from 'monaco-editor/language/typescript/ts.worker?worker';
import editorCssUrl from '../../../node_modules/monaco-editor/min/vs/editor/editor.main.css?url';

type Monaco = typeof monaco;

(globalThis as { MonacoEnvironment?: monaco.Environment }).MonacoEnvironment = {
  getWorker: (_id, label) => (label === 'typescript' || label === 'javascript' ? new TsWorker() : new EditorWorker()),
};

function attachCss(): void {
  if (document.querySelector('link[data-monaco-css]')) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = editorCssUrl;
  link.dataset.monacoCss = '';
  document.head.append(link);
}

let typesLoaded: Promise<void> | undefined;

/** Loads the kit's declarations once per page, as `node_modules/@scale-lab/kit`. */
function loadKitTypes(ts: Monaco['typescript'], assetsBase: string): Promise<void> {
  typesLoaded ??= (async () => {
    ts.typescriptDefaults.setCompilerOptions({
      target: ts.ScriptTarget.ES2020,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.NodeJs,
      allowImportingTsExtensions: true,
      noEmit: true,
      strict: true,
      lib: ['es2023', 'dom', 'dom.iterable'],
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
  attachCss();
  await loadKitTypes(monaco.typescript, options.assetsBase);
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

  const editor = monaco.editor.create(host, {
    model: null,
    theme: theme(),
    automaticLayout: true,
    minimap: { enabled: false },
    fontSize: 14,
    scrollBeyondLastLine: false,
    tabSize: 2,
    // 'dimmed' greys out the last line number below the contrast readers need.
    renderFinalNewline: 'on',
    ariaLabel: 'Code editor',
  });
  // Follow Starlight's theme toggle.
  const themeObserver = new MutationObserver(() => monaco.editor.setTheme(theme()));
  themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });

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
      const diffEditor = monaco.editor.createDiffEditor(diffHost, { readOnly: true, automaticLayout: true, theme: theme(), renderSideBySide: diffHost.clientWidth > 700, minimap: { enabled: false } });
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
      editor.dispose();
      for (const model of models.values()) model.dispose();
    },
  };
  return labEditor;
}
