/**
 * Opens the lab's cluster region with one button; the playground, the picture and the chart library
 * load only when the reader presses it (a dynamic import), so an opened lab pays for none of them.
 */
import type { LabBundle } from '../../../../labs/harness/bundle.ts';
import { h } from '../dom.ts';

export interface ClusterRegionOptions {
  region: HTMLElement;
  bundle: LabBundle;
  assetsBase: string;
  files: () => Record<string, string>;
}

export function mountClusterRegion(o: ClusterRegionOptions): void {
  const open = h('button', { type: 'button', 'data-testid': 'playground-open' }, 'Open the playground');
  const intro = h('p', { class: 'lab-cluster-intro' }, 'Run your current code as a cluster, send it traffic, break things, and watch what happens.');
  open.addEventListener('click', async () => {
    open.disabled = true;
    open.textContent = 'Loading the playground…';
    try {
      const { PlaygroundView } = await import('./playground-view.ts');
      const view = new PlaygroundView(o);
      open.remove();
      intro.remove();
      view.element.querySelector<HTMLButtonElement>('[data-testid="playground-start"]')?.focus();
    } catch (err) {
      open.disabled = false;
      open.textContent = 'Open the playground';
      intro.textContent = `The playground could not load: ${err instanceof Error ? err.message : String(err)}`;
    }
  });
  o.region.append(h('h4', {}, 'Your cluster'), intro, open);
  o.region.hidden = false;
}
