/**
 * Opens a lab on demand: fetches its bundle, picks a runtime (the Worker at once; WebContainer when
 * asked for, or in the background under `auto`), and hands both to LabView. Nothing here runs until
 * the reader asks.
 */
import { fetchLabBundle, LAB_ASSETS_DIR } from '../../../labs/harness/bundle.ts';
import { runtimeConfig } from '../../lab-runtime/config.ts';
import { pickRuntime, WEBCONTAINER_READY_NOTICE } from '../../lab-runtime/pick-runtime.ts';
import type { LabRuntime } from '../../lab-runtime/runtime.ts';
import { WorkerRuntime } from '../../lab-runtime/worker/worker-runtime.ts';
import { LabEditsStore } from '../../storage/lab-edits.ts';
import { LabLayoutStore } from '../../storage/lab-layout.ts';
import { LabView, type StepStatus } from './lab-view.ts';
import { mountClusterRegion } from './picture/mount.ts';
import { LabWorkspace, WORKSPACE_HASH } from './workspace.ts';

export interface OpenLabOptions {
  /** Overrides the site's runtime policy, e.g. from `?runtime=worker` in the page URL. */
  policy?: 'auto' | 'worker' | 'webcontainer';
  onStepStatus?: (lab: string, step: string, status: StepStatus) => void;
  /** Told what is happening while the lab opens, e.g. to label the button. */
  onProgress?: (message: string) => void;
}

export interface OpenedLab {
  view: LabView;
  workspace: LabWorkspace;
}

/**
 * The Worker runtime, started on first mount rather than when picked: its script (about 125 KB
 * gzipped) then loads after the editor takes keystrokes instead of competing with Monaco for them.
 */
function startOnMount(create: () => LabRuntime): LabRuntime {
  let inner: LabRuntime | undefined;
  const runtime = () => (inner ??= create());
  return {
    kind: 'worker',
    mount: (bundle, files, signal) => runtime().mount(bundle, files, signal),
    update: (file, text) => runtime().update(file, text),
    runTests: (options) => runtime().runTests(options),
    dispose: () => inner?.dispose(),
  };
}

export async function openLab(root: HTMLElement, options: OpenLabOptions = {}): Promise<OpenedLab> {
  const lab = root.dataset.lab!;
  const base = import.meta.env.BASE_URL.endsWith('/') ? import.meta.env.BASE_URL : `${import.meta.env.BASE_URL}/`;
  const assetsBase = `${base}${LAB_ASSETS_DIR}/`;
  const bundle = await fetchLabBundle(assetsBase, lab);

  const config = runtimeConfig();
  const policy = options.policy ?? config.policy;
  if (policy === 'webcontainer') options.onProgress?.('Starting WebContainer (this tab takes over if it cannot start)…');
  const { runtime, notice, bootInBackground } = await pickRuntime({
    policy,
    apiKey: config.apiKey,
    isolated: globalThis.crossOriginIsolated === true,
    origin: location.origin,
    createWorker: () => startOnMount(() => new WorkerRuntime({ assetsBase })),
    createWebContainer: async () => {
      const { WebContainerRuntime } = await import('../../lab-runtime/webcontainer/webcontainer-runtime.ts');
      const wc = new WebContainerRuntime({ assetsBase, apiKey: config.apiKey });
      await wc.ready();
      return wc;
    },
  });

  options.onProgress?.('Loading the editor…');
  const layout = new LabLayoutStore(localStorage, base);
  const { createLabEditor } = await import('./editor.ts');
  const view = new LabView({
    root,
    bundle,
    runtime,
    runtimeNotice: notice,
    store: new LabEditsStore(localStorage, base, lab),
    createEditor: (host, files, editorOptions) => createLabEditor(host, files, { ...editorOptions, labName: lab, assetsBase }),
    onStepStatus: (step, status) => options.onStepStatus?.(lab, step, status),
    layout,
    assetsBase,
  });
  // The workspace first, so the editor is laid out once, at its full size.
  const workspace = new LabWorkspace(root, layout);
  if (location.hash === WORKSPACE_HASH || layout.load().mode === 'workspace') workspace.enter();
  try {
    await view.start();
  } catch (err) {
    workspace.leave();
    throw err;
  }
  if (bootInBackground) void view.offerRuntime(bootInBackground(), WEBCONTAINER_READY_NOTICE);
  mountClusterRegion({ region: view.clusterRegion, bundle, assetsBase, files: () => view.currentFiles() });
  return { view, workspace };
}
