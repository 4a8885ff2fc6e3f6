/**
 * The opened lab: editor tabs, steps with their verdicts and hints, console output, Run, Reset and
 * Reveal solution. It talks to the code runner only through the LabRuntime interface, and to the
 * editor only through LabEditor, so tests can hand it fakes.
 */
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import type { StepResult } from '../../../labs/harness/results.ts';
import { RuntimeError, type LabRuntime, type OutputLine } from '../../lab-runtime/runtime.ts';
import { STORAGE_FULL_ADVICE, type LabEditsStore, type SavedLab } from '../../storage/lab-edits.ts';
import { DEFAULT_LAB_LAYOUT, LAB_LAYOUT_LIMITS, type LabLayoutStore } from '../../storage/lab-layout.ts';
import { ConsoleView } from './console-view.ts';
import { h } from './dom.ts';
import type { LabEditor } from './editor.ts';
import type { LabFilesHost } from './lab-files.ts';
import { createSplitter } from './splitter.ts';

export type StepStatus = 'idle' | 'running' | 'passed' | 'failed';

export interface LabViewOptions {
  /** The lab's <section data-testid="lab">; its static step list is replaced. */
  root: HTMLElement;
  bundle: LabBundle;
  runtime: LabRuntime;
  /** One plain sentence about the runtime (e.g. why WebContainer is not used), or nothing. */
  runtimeNotice?: string;
  store: LabEditsStore;
  createEditor: (host: HTMLElement, files: Record<string, string>, options: { readOnly: string[] }) => Promise<LabEditor>;
  /** Asks the reader to confirm a destructive action (window.confirm by default). */
  confirm?: (message: string) => boolean;
  /** Called whenever a step's status changes (progress tracking listens here). */
  onStepStatus?: (stepId: string, status: StepStatus) => void;
  /** Where the sizes of the workspace's regions are remembered (defaults, forgotten, without it). */
  layout?: LabLayoutStore;
  /** The site's lab-assets folder: with it, the reader can download their files with what grades them in Node, and upload them back. */
  assetsBase?: string;
}

type ReplayFileOf = import('./replay/replay-file.ts').ReplayFile;

const RUNTIME_LABEL = { worker: 'Runs in this browser tab (Worker)', webcontainer: 'Runs on Node in your browser (WebContainer)' } as const;

/** Finds `file.ts:12` in a message, for files of this lab. */
function fileLines(message: string, files: string[]): { file: string; line: number }[] {
  const found: { file: string; line: number }[] = [];
  for (const m of message.matchAll(/([a-z0-9][a-z0-9./-]*\.ts):(\d+)/g)) {
    const file = m[1]!.replace(/^.*\//, '');
    if (files.includes(file) && !found.some((f) => f.file === file && f.line === Number(m[2]))) found.push({ file, line: Number(m[2]) });
  }
  return found;
}

export class LabView {
  readonly #o: LabViewOptions;
  readonly #steps = new Map<string, { item: HTMLLIElement; status: HTMLElement; details: HTMLElement; hints: HTMLElement; hintButton: HTMLButtonElement; shown: number }>();
  readonly #readOnly: string[];
  readonly #files: string[];
  #editor!: LabEditor;
  #runtime: LabRuntime;
  /** A runtime that started in the background (WebContainer), waiting to take over at the next run. */
  #nextRuntime: LabRuntime | undefined;
  #current = '';
  #started = false;
  #run: AbortController | undefined;
  #closeDiff: (() => void) | undefined;
  #cluster: { stop(): Promise<void> } | undefined;
  // Elements
  readonly #workbench: HTMLElement;
  readonly #tabs: HTMLElement;
  readonly #editorHost: HTMLElement;
  readonly #output: HTMLElement;
  /** Writes the console lines into #output, a frame's worth at a time. */
  readonly #console: ConsoleView;
  readonly #error: HTMLElement;
  /** Up from a failed save until a save succeeds: a run does not clear it. */
  readonly #storageWarning: HTMLElement;
  /** Another tab saved this lab's files: nothing is saved here until the reader chooses whose to keep. */
  #otherTab: HTMLElement | undefined;
  readonly #live: HTMLElement;
  readonly #notices: HTMLElement;
  readonly #diffPanel: HTMLElement;
  readonly #runButton: HTMLButtonElement;
  readonly #preview: HTMLElement;
  readonly #runtimeLabel: HTMLElement;
  /** Kept for the live picture of the reader's cluster: empty and hidden until something draws in it. */
  readonly clusterRegion: HTMLElement;
  readonly #clusterButton: HTMLButtonElement;
  /** "What happened" in a failed test: empty and hidden until a replay is opened. */
  readonly #replayPanel: HTMLElement;
  #closeReplay: (() => void) | undefined;

  constructor(options: LabViewOptions) {
    this.#o = options;
    this.#runtime = options.runtime;
    const { bundle } = options;
    this.#files = [...bundle.lab.editable, ...Object.keys(bundle.starter).filter((f) => !bundle.lab.editable.includes(f)).sort()];
    this.#readOnly = this.#files.filter((f) => !bundle.lab.editable.includes(f));

    this.#clusterButton = h('button', { type: 'button', 'data-testid': 'lab-cluster-start', hidden: !options.runtime.startCluster, onclick: (e: Event) => void this.toggleCluster(e.currentTarget as HTMLButtonElement) }, 'Start the cluster');
    this.#runtimeLabel = h('span', { class: 'lab-runtime', 'data-testid': 'lab-runtime' }, RUNTIME_LABEL[options.runtime.kind]);
    // Disabled until the editor and the runtime are up (start()).
    this.#runButton = h('button', { type: 'button', class: 'lab-primary', 'data-testid': 'lab-run', 'aria-keyshortcuts': 'Control+Enter Meta+Enter', disabled: true, onclick: () => void this.run() }, 'Run tests');
    const toolbar = h(
      'div',
      { class: 'lab-toolbar', role: 'toolbar', 'aria-label': 'Lab actions' },
      this.#runButton,
      h('span', { class: 'lab-shortcut', 'aria-hidden': 'true' }, 'Ctrl/⌘ + Enter'),
      h('button', { type: 'button', 'data-testid': 'lab-reveal', onclick: () => this.revealSolution() }, 'Reveal solution'),
      h('button', { type: 'button', 'data-testid': 'lab-reset', onclick: () => this.reset() }, 'Reset'),
      ...this.#fileButtons(),
      ...this.#replayOpener(),
      this.#clusterButton,
      this.#runtimeLabel,
    );
    this.#preview = h('div', { class: 'lab-preview', hidden: true });
    this.#notices = h('div', { class: 'lab-notices' });
    if (options.runtimeNotice) this.#notices.append(h('p', { class: 'lab-notice', 'data-testid': 'lab-runtime-notice' }, options.runtimeNotice));
    this.#error = h('div', { class: 'lab-error', 'data-testid': 'lab-error', role: 'alert', hidden: true });
    this.#storageWarning = h('p', { class: 'lab-error', 'data-testid': 'lab-storage-warning', role: 'alert', hidden: true });
    this.#live = h('p', { class: 'sr-only', 'aria-live': 'polite', 'data-testid': 'lab-announce' });
    this.#tabs = h('div', { class: 'lab-tabs', role: 'tablist', 'aria-label': 'Files' });
    this.#editorHost = h('div', { class: 'lab-editor not-content', id: `${bundle.name}-editor` });
    const tabToggle = h('input', { type: 'checkbox', id: `${bundle.name}-tab-focus` });
    tabToggle.addEventListener('change', () => this.#editor.setTabMovesFocus(tabToggle.checked));
    const tabHint = h(
      'p',
      { class: 'lab-tab-hint', id: `${bundle.name}-tab-hint` },
      'In the editor, Tab indents. To leave it with the keyboard, press Ctrl+M (then Tab), or ',
      h('label', { for: `${bundle.name}-tab-focus` }, tabToggle, ' let Tab move focus'),
      '.',
    );
    this.#diffPanel = h('div', { class: 'lab-diff', hidden: true });
    this.#replayPanel = h('div', { class: 'lab-replay', 'data-testid': 'lab-replay', hidden: true });
    this.#output = h('pre', { class: 'lab-output', 'data-testid': 'lab-output', role: 'log', 'aria-label': 'Console output', tabindex: '0' });
    this.#console = new ConsoleView(this.#output);

    const stepList = h('ol', { class: 'lab-steps lab-steps-live' });
    for (const step of bundle.lab.steps) {
      const status = h('span', { class: 'lab-step-status' }, 'not run');
      const details = h('div', { class: 'lab-step-details' });
      const hints = h('ol', { class: 'lab-hints' });
      const hintButton = h('button', { type: 'button', class: 'lab-small', onclick: () => this.#nextHint(step.id) }, `Show a hint (1 of ${step.hints.length})`);
      const item = h(
        'li',
        { 'data-testid': 'lab-step', 'data-step': step.id, 'data-status': 'idle' },
        h('div', { class: 'lab-step-head' }, h('strong', {}, step.title), ' ', status),
        h('p', { class: 'lab-step-task' }, step.task),
        details,
        hints,
        h('div', { class: 'lab-step-actions' }, h('button', { type: 'button', class: 'lab-small', 'data-testid': 'lab-run-step', onclick: () => void this.run([step.id]) }, 'Run this step'), hintButton),
      );
      stepList.append(item);
      this.#steps.set(step.id, { item, status, details, hints, hintButton, shown: 0 });
    }

    this.clusterRegion = h('section', { class: 'lab-cluster-region', 'data-testid': 'lab-cluster-region', 'aria-label': 'Your cluster', hidden: true });
    // Files and editor on one side; steps, then console and cluster on the other. The separators
    // only show in the workspace (CSS); in the page everything stacks in one column.
    const sizes = options.layout?.load() ?? DEFAULT_LAB_LAYOUT;
    const codeId = `${bundle.name}-code`;
    const stepsId = `${bundle.name}-steps`;
    const columns = h('div', { class: 'lab-columns' });
    const side = h('div', { class: 'lab-side' });
    side.append(
      h('div', { class: 'lab-side-steps', id: stepsId }, h('h4', {}, 'Steps'), stepList),
      createSplitter({ container: side, variable: '--lab-steps-height', orientation: 'horizontal', label: 'Resize the steps and the console', controls: stepsId, limits: LAB_LAYOUT_LIMITS.stepsHeight, value: sizes.stepsHeight, onChange: (stepsHeight) => options.layout?.update({ stepsHeight }) }),
      h('div', { class: 'lab-side-run' }, h('h4', {}, 'Console'), this.#output, this.clusterRegion),
    );
    columns.append(
      h('div', { class: 'lab-code', id: codeId }, this.#tabs, this.#editorHost, tabHint, this.#diffPanel, this.#replayPanel, this.#preview),
      createSplitter({ container: columns, variable: '--lab-code-width', orientation: 'vertical', label: 'Resize the editor and the steps', controls: codeId, limits: LAB_LAYOUT_LIMITS.codeWidth, value: sizes.codeWidth, onChange: (codeWidth) => options.layout?.update({ codeWidth }) }),
      side,
    );
    this.#workbench = h('div', { class: 'lab-workbench' }, toolbar, this.#notices, this.#storageWarning, this.#error, this.#live, columns);
    options.root.querySelector('.lab-steps')?.remove();
    options.root.querySelector('[data-testid="lab-open"]')?.remove();
    options.root.append(this.#workbench);
    options.root.addEventListener('keydown', (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
        event.preventDefault();
        void this.run();
      }
    });
  }

  /** "Download files" and "Upload files" (lab-files.ts, loaded on first use), when the assets are known. */
  #fileButtons(): HTMLElement[] {
    const assetsBase = this.#o.assetsBase;
    if (!assetsBase) return [];
    const host = (): LabFilesHost => ({
      bundle: this.#o.bundle,
      assetsBase,
      files: () => this.#allFiles(),
      apply: (files) => Object.entries(files).forEach(([file, text]) => this.#editor.setValue(file, text)),
      notices: this.#notices,
      showDiff: (title, original, modified) => this.#openDiff(title, original, modified, []),
      announce: (text) => (this.#live.textContent = text),
    });
    const act = async (button: HTMLButtonElement, work: (files: typeof import('./lab-files.ts')) => Promise<void>) => {
      if (!this.#started) return;
      button.disabled = true;
      try {
        await work(await import('./lab-files.ts'));
      } catch (err) {
        this.#showError(err instanceof Error ? err.message : String(err));
      } finally {
        button.disabled = false;
      }
    };
    const picker = h('input', { type: 'file', accept: '.zip,.ts,application/zip', multiple: true, hidden: true, 'data-testid': 'lab-upload-input', 'aria-label': 'Files to upload' });
    const upload = h('button', { type: 'button', 'data-testid': 'lab-upload', onclick: () => picker.click() }, 'Upload files');
    picker.addEventListener('change', () => {
      const chosen = [...(picker.files ?? [])];
      picker.value = '';
      if (chosen.length) void act(upload, (m) => m.uploadLab(host(), chosen));
    });
    const download = h('button', { type: 'button', 'data-testid': 'lab-download', onclick: () => void act(download, (m) => m.downloadLab(host())) }, 'Download files');
    return [download, upload, picker];
  }

  /** Loads the reader's files (saved edits over the starter), the editor and the runtime. */
  async start(): Promise<void> {
    const { bundle, store } = this.#o;
    const { saved, setAside, blocked } = store.load();
    const files: Record<string, string> = { ...bundle.starter };
    for (const [file, entry] of Object.entries(saved?.files ?? {})) if (bundle.lab.editable.includes(file)) files[file] = entry.text;
    if (setAside) this.#notice(`Saved edits for this lab could not be read, so the lab starts from the starter. The old value was kept in this browser's storage under "${setAside}".`);
    if (blocked) this.warnStorage(`Saved edits for this lab could not be read, so the lab starts from the starter. They are kept as they were, and nothing is saved over them until this browser has room to set them aside. ${STORAGE_FULL_ADVICE}`);
    if (saved && saved.starterVersion !== bundle.version) this.#starterChanged(saved.starter);

    this.#editor = await this.#o.createEditor(this.#editorHost, files, { readOnly: this.#readOnly });
    this.#editor.onRunShortcut(() => void this.run());
    this.#editor.onChange((file, text) => this.#save(file, text));
    addEventListener('storage', (event) => {
      if (event.key === store.key) this.#changedInAnotherTab(event.newValue);
    });
    for (const file of this.#files) {
      const tab = h('button', { type: 'button', role: 'tab', id: `${bundle.name}-tab-${file}`, 'aria-selected': 'false', 'aria-controls': this.#editorHost.id, 'data-file': file, onclick: () => this.show(file) }, file, this.#readOnly.includes(file) ? h('span', { class: 'lab-readonly' }, ' (read-only)') : null);
      this.#tabs.append(tab);
    }
    this.#tabs.addEventListener('keydown', (event) => {
      const i = this.#files.indexOf(this.#current);
      const next = event.key === 'ArrowRight' ? i + 1 : event.key === 'ArrowLeft' ? i - 1 : undefined;
      if (next === undefined) return;
      const file = this.#files[(next + this.#files.length) % this.#files.length]!;
      this.show(file);
      (this.#tabs.querySelector(`[data-file="${file}"]`) as HTMLElement).focus();
    });
    this.show(bundle.lab.editable[0]!);
    // A frame first: the editor paints and takes keystrokes before the runtime starts loading.
    await new Promise((resolve) => requestAnimationFrame(resolve));
    await this.#runtime.mount(bundle, this.#allFiles());
    this.#o.root.dataset.runtime = this.#runtime.kind;
    this.#started = true;
    this.#runButton.disabled = false;
  }

  /**
   * Takes a runtime that is starting in the background (WebContainer under `auto`). Once it is up,
   * the reader's files are mounted in it and the reader is told, in one sentence, that the next run
   * uses it; the current run, if any, finishes where it started. If it never starts, nothing changes.
   */
  async offerRuntime(starting: Promise<LabRuntime | undefined>, notice: string): Promise<void> {
    const next = await starting;
    if (!next) return;
    try {
      await next.mount(this.#o.bundle, this.#allFiles());
    } catch (err) {
      console.info(`Scale Lab: ${next.kind} started but could not take the lab (${(err as Error).message}); staying on ${this.#runtime.kind}.`);
      next.dispose();
      return;
    }
    this.#nextRuntime = next;
    this.#notice(notice).dataset.testid = 'lab-runtime-ready';
  }

  /** Moves to the runtime that started in the background, between runs (never under a running cluster). */
  #switchRuntime(): void {
    const next = this.#nextRuntime;
    if (!next || this.#cluster) return;
    this.#nextRuntime = undefined;
    this.#runtime.dispose();
    this.#runtime = next;
    this.#runtimeLabel.textContent = RUNTIME_LABEL[next.kind];
    this.#clusterButton.hidden = !next.startCluster;
    this.#o.root.dataset.runtime = next.kind;
  }

  show(file: string): void {
    this.#current = file;
    this.#editor.show(file);
    for (const tab of this.#tabs.querySelectorAll<HTMLElement>('[role="tab"]')) {
      const selected = tab.dataset.file === file;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
    }
  }

  /** Shows a warning about saving that stays until a save succeeds. */
  warnStorage(message: string): void {
    this.#storageWarning.textContent = message;
    this.#storageWarning.hidden = false;
  }

  /** A step passed but the reader's progress could not record it (said here, so the chapter page's script stays small). */
  warnStepNotRecorded(): void {
    this.warnStorage(`A step passed, but this browser could not record it in your progress (its storage is full or blocked). ${STORAGE_FULL_ADVICE}`);
  }

  #save(file: string, text: string): void {
    if (this.#otherTab) return;
    try {
      this.#o.store.save(file, text, { version: this.#o.bundle.version, files: this.#starterEditable() });
      this.#storageWarning.hidden = true;
    } catch (err) {
      this.warnStorage((err as Error).message);
    }
  }

  /** Another tab wrote this lab's edits: unless they match this tab's files, stop saving and ask whose to keep. */
  #changedInAnotherTab(value: string | null): void {
    let theirs: SavedLab | undefined;
    try {
      theirs = value === null ? undefined : (JSON.parse(value) as SavedLab);
    } catch {
      // Unreadable: treated as a change; this tab's copy may be the only good one.
    }
    const editable = this.#o.bundle.lab.editable;
    const textOf = (file: string) => theirs?.files?.[file]?.text ?? this.#o.bundle.starter[file] ?? '';
    if (theirs && editable.every((f) => textOf(f) === this.#editor.value(f))) return;
    if (this.#otherTab) return;
    const settle = () => {
      notice.remove();
      this.#otherTab = undefined;
    };
    const notice = this.#notice(
      'This lab was changed in another tab. This tab saves nothing until you choose which version to keep. ',
      h('button', { type: 'button', class: 'lab-small', onclick: () => { const loaded = this.#o.store.load().saved; settle(); for (const f of editable) this.#editor.setValue(f, loaded?.files[f]?.text ?? this.#o.bundle.starter[f] ?? ''); } }, "Use the other tab's version"),
      h('button', { type: 'button', class: 'lab-small', onclick: () => { settle(); for (const f of editable) this.#save(f, this.#editor.value(f)); } }, "Keep this tab's version"),
    );
    notice.dataset.testid = 'lab-other-tab';
    this.#otherTab = notice;
  }

  #starterEditable(): Record<string, string> {
    return Object.fromEntries(this.#o.bundle.lab.editable.map((f) => [f, this.#o.bundle.starter[f] ?? '']));
  }

  /** Every file of the lab as the editor has it now (the reader's edits over the starter). */
  currentFiles(): Record<string, string> {
    return this.#allFiles();
  }

  #allFiles(): Record<string, string> {
    return Object.fromEntries(this.#files.map((f) => [f, this.#editor.value(f)]));
  }

  #notice(text: string, ...extra: Node[]): HTMLElement {
    const p = h('p', { class: 'lab-notice' }, text, ...extra);
    this.#notices.append(p);
    return p;
  }

  #starterChanged(oldStarter: Record<string, string>): void {
    const { bundle, store } = this.#o;
    const acknowledge = () => store.acknowledgeStarter({ version: bundle.version, files: this.#starterEditable() });
    const changed = bundle.lab.editable.filter((f) => (oldStarter[f] ?? '') !== (bundle.starter[f] ?? ''));
    // The version covers every file of the lab, tests and hints too: only a different starter is news to the reader.
    if (changed.length === 0) return acknowledge();
    const notice = this.#notice(
      `This lab's starter code has changed since you began (${changed.join(', ')}). Your edits are kept as they were. `,
      ...changed.map((f) =>
        h('button', { type: 'button', class: 'lab-small', onclick: () => this.#openDiff(`What changed in the starter of ${f}`, oldStarter[f] ?? '', bundle.starter[f] ?? '', []) }, changed.length > 1 ? `Show what changed in ${f}` : 'Show what changed'),
      ),
      h('button', { type: 'button', class: 'lab-small', onclick: () => { acknowledge(); notice.remove(); } }, 'Got it'),
    );
    notice.dataset.testid = 'lab-starter-changed';
  }

  #setStatus(id: string, status: StepStatus, label?: string): void {
    const step = this.#steps.get(id)!;
    step.item.dataset.status = status;
    step.status.textContent = label ?? { idle: 'not run', running: 'running…', passed: 'passed', failed: 'failed' }[status];
    this.#o.onStepStatus?.(id, status);
  }

  #showResult(result: StepResult): void {
    const step = this.#steps.get(result.id);
    if (!step) return;
    this.#setStatus(result.id, result.passed ? 'passed' : 'failed');
    step.details.replaceChildren();
    const problems = [...(result.error ? [{ name: 'The tests of this step could not run', message: result.error }] : []), ...result.tests.filter((t) => !t.passed).map((t) => ({ name: t.name, message: t.message ?? 'failed' }))];
    const title = this.#o.bundle.lab.steps.find((s) => s.id === result.id)?.title ?? result.id;
    for (const problem of problems) {
      const links = fileLines(problem.message, this.#o.bundle.lab.editable).map(({ file, line }) =>
        h('button', { type: 'button', class: 'lab-small lab-goto', onclick: () => this.#editor.reveal(file, line) }, `Go to ${file}:${line}`),
      );
      const replay = result.replays?.find((r) => r.test === problem.name);
      const replayButton = replay
        ? h('button', { type: 'button', class: 'lab-small', 'data-testid': 'lab-replay-open', onclick: (e: Event) => void this.#showReplay(e.currentTarget as HTMLButtonElement, (m) => m.replayFile(this.#o.bundle, { id: result.id, title }, problem.message, replay)) }, 'What happened')
        : null;
      step.details.append(h('div', { class: 'lab-failure' }, h('p', { class: 'lab-failure-name' }, problem.name), h('pre', { class: 'lab-failure-message' }, problem.message), ...links, replayButton));
    }
  }

  /** "Open a replay": a replay saved earlier (by this reader or someone they help), read from a file. */
  #replayOpener(): HTMLElement[] {
    const picker = h('input', { type: 'file', accept: '.json,application/json', hidden: true, 'data-testid': 'lab-replay-input', 'aria-label': 'Replay file to open' });
    const button = h('button', { type: 'button', 'data-testid': 'lab-replay-file', onclick: () => picker.click() }, 'Open a replay');
    picker.addEventListener('change', () => {
      const [chosen] = picker.files ?? [];
      picker.value = '';
      if (chosen) void this.#showReplay(button, (m) => m.readReplayFile(chosen, this.#o.bundle.name));
    });
    return [button, picker];
  }

  /**
   * Shows a replay in the code column; the view and its picture load on first use (a dynamic
   * import). Closing it brings focus back to `from`.
   */
  async #showReplay(from: HTMLButtonElement, file: (m: typeof import('./replay/replay-view.ts')) => ReplayFileOf | Promise<ReplayFileOf>): Promise<void> {
    from.disabled = true;
    try {
      const m = await import('./replay/replay-view.ts');
      const opened = await file(m);
      this.#closeReplay?.();
      const view = new m.ReplayView({ host: this.#replayPanel, bundle: this.#o.bundle, file: opened, onClose: () => { this.#closeReplay = undefined; from.focus(); } });
      this.#closeReplay = () => view.close();
      this.#error.hidden = true;
      this.#replayPanel.scrollIntoView({ block: 'start' });
      view.focus();
    } catch (err) {
      this.#showError(err instanceof Error ? err.message : String(err));
    } finally {
      from.disabled = false;
    }
  }

  #nextHint(id: string): void {
    const step = this.#steps.get(id)!;
    const hints = this.#o.bundle.lab.steps.find((s) => s.id === id)!.hints;
    if (step.shown >= hints.length) return;
    step.hints.append(h('li', {}, hints[step.shown]!));
    step.shown++;
    if (step.shown >= hints.length) step.hintButton.remove();
    else step.hintButton.textContent = `Show a hint (${step.shown + 1} of ${hints.length})`;
  }

  #showError(message: string): void {
    this.#error.hidden = false;
    this.#error.textContent = message;
  }

  #appendOutput(line: OutputLine): void {
    this.#console.push(line);
  }

  /** Runs the graded tests (all steps, or the given ones) against the editor's current files. */
  async run(stepIds?: string[]): Promise<void> {
    if (!this.#started) return;
    this.#run?.abort();
    const run = new AbortController();
    this.#run = run;
    this.#switchRuntime();
    const ids = stepIds ?? this.#o.bundle.lab.steps.map((s) => s.id);
    this.#error.hidden = true;
    this.#console.clear();
    for (const id of ids) this.#setStatus(id, 'running');
    this.#runButton.disabled = true;
    this.#live.textContent = 'Running the tests…';
    try {
      for (const [file, text] of Object.entries(this.#allFiles())) await this.#runtime.update(file, text);
      const result = await this.#runtime.runTests({
        steps: stepIds,
        signal: run.signal,
        onOutput: (line) => this.#appendOutput(line),
        onStep: (step) => this.#showResult(step),
      });
      if (run.signal.aborted) return;
      this.#console.flush();
      for (const step of result.steps) this.#showResult(step);
      const passed = result.steps.filter((s) => s.passed).length;
      const failedTitles = result.steps.filter((s) => !s.passed).map((s) => this.#o.bundle.lab.steps.find((x) => x.id === s.id)?.title);
      this.#live.textContent = `${passed} of ${result.steps.length} ${result.steps.length === 1 ? 'step' : 'steps'} passed.${failedTitles.length ? ` Failed: ${failedTitles.join(', ')}.` : ''}`;
    } catch (err) {
      if (run.signal.aborted) return;
      for (const id of ids) this.#setStatus(id, 'idle');
      const message = err instanceof RuntimeError || err instanceof Error ? err.message : String(err);
      this.#showError(message);
      this.#live.textContent = message;
    } finally {
      if (this.#run === run) this.#runButton.disabled = false;
    }
  }

  /** Back to the starter, after confirmation; the only way edits are lost. */
  reset(): void {
    const ask = this.#o.confirm ?? ((m: string) => window.confirm(m));
    if (!ask('Reset every file of this lab to the starter? Your edits will be lost.')) return;
    this.#o.store.clear();
    for (const file of this.#o.bundle.lab.editable) this.#editor.setValue(file, this.#o.bundle.starter[file] ?? '');
    // setValue fires change events that would save again; the starter is not an edit.
    this.#o.store.clear();
    for (const id of this.#steps.keys()) this.#setStatus(id, 'idle');
    for (const step of this.#steps.values()) step.details.replaceChildren();
    this.#live.textContent = 'The lab was reset to the starter.';
  }

  #openDiff(title: string, original: string, modified: string, actions: HTMLElement[]): void {
    this.#closeDiff?.();
    const host = h('div', { class: 'lab-diff-editor not-content' });
    const close = h('button', { type: 'button', class: 'lab-small', onclick: () => this.#closeDiff?.() }, 'Close');
    this.#diffPanel.replaceChildren(h('p', { class: 'lab-diff-title' }, title), host, h('div', { class: 'lab-diff-actions' }, ...actions, close));
    this.#diffPanel.hidden = false;
    const dispose = this.#editor.diff(host, original, modified);
    this.#closeDiff = () => {
      dispose();
      this.#diffPanel.hidden = true;
      this.#diffPanel.replaceChildren();
      this.#closeDiff = undefined;
    };
    close.focus();
  }

  /** Shows the solution as a diff against the reader's files, with a button to apply it. */
  revealSolution(): void {
    const { bundle } = this.#o;
    const file = bundle.lab.editable.find((f) => bundle.solution[f] !== undefined && bundle.solution[f] !== this.#editor.value(f)) ?? bundle.lab.editable.find((f) => bundle.solution[f] !== undefined);
    if (!file) return;
    const others = bundle.lab.editable.filter((f) => f !== file && bundle.solution[f] !== undefined && bundle.solution[f] !== this.#editor.value(f));
    const apply = h('button', { type: 'button', class: 'lab-primary', 'data-testid': 'lab-apply-solution', onclick: () => this.applySolution() }, 'Apply the solution');
    this.show(file);
    this.#openDiff(`Your ${file} (left) and the solution (right)${others.length ? `; the solution also changes ${others.join(', ')}` : ''}.`, this.#editor.value(file), bundle.solution[file]!, [apply]);
  }

  /** Replaces the editable files with the solution (undo in the editor brings the reader's back). */
  applySolution(): void {
    for (const [file, text] of Object.entries(this.#o.bundle.solution)) this.#editor.setValue(file, text);
    this.#closeDiff?.();
    this.#live.textContent = 'The solution was applied to your files. Undo in the editor (Ctrl/⌘ + Z) brings your code back.';
  }

  /** Starts the lab's cluster on real ports (WebContainer) with a preview of its entry node, or stops it. */
  async toggleCluster(button: HTMLButtonElement): Promise<void> {
    const start = this.#runtime.startCluster;
    if (!start) return;
    button.disabled = true;
    try {
      if (this.#cluster) {
        await this.#cluster.stop();
        this.#cluster = undefined;
        this.#preview.hidden = true;
        this.#preview.replaceChildren();
        button.textContent = 'Start the cluster';
        return;
      }
      for (const [file, text] of Object.entries(this.#allFiles())) await this.#runtime.update(file, text);
      this.#console.clear();
      const running = await start.call(this.#runtime, { onOutput: (line) => this.#appendOutput(line) });
      this.#cluster = running;
      button.textContent = 'Stop the cluster';
      if (running.url) {
        const entry = this.#o.bundle.lab.cluster.entry;
        this.#preview.replaceChildren(
          h('p', { class: 'lab-diff-title' }, `${entry}, served on a real port: `, h('a', { href: running.url, target: '_blank', rel: 'noopener' }, running.url)),
          h('iframe', { src: running.url, title: `Preview of ${entry}`, 'data-testid': 'lab-cluster-preview', class: 'lab-preview-frame' }),
        );
        this.#preview.hidden = false;
      }
    } catch (err) {
      this.#showError(err instanceof Error ? err.message : String(err));
    } finally {
      button.disabled = false;
    }
  }

  dispose(): void {
    void this.#cluster?.stop();
    this.#run?.abort();
    this.#closeDiff?.();
    this.#editor?.dispose();
    this.#runtime.dispose();
    this.#nextRuntime?.dispose();
  }
}
