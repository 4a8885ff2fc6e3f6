/**
 * The workspace: an opened lab taking the whole window as a layer of its own, the page beneath
 * made `inert`. The lab's section moves to the end of <body> while it is open (an inert ancestor
 * would make it inert too) and back to its place in the chapter when it closes, with the page
 * scrolled where it was. The address carries `#lab` while it is open, so Back closes it and a
 * reload reopens it; Escape and a button close it too. Leaving or entering is remembered as the
 * reader's choice for the next lab they open.
 */
import type { LabLayoutStore } from '../../storage/lab-layout.ts';
import { h } from './dom.ts';

/** The address fragment of an open workspace. */
export const WORKSPACE_HASH = '#lab';

const LABELS = { enter: 'Full window', leave: 'Back to the chapter' } as const;

export class LabWorkspace {
  readonly #root: HTMLElement;
  readonly #layout: LabLayoutStore | undefined;
  readonly #toggle: HTMLButtonElement;
  readonly #placeholder = h('div', { class: 'lab-placeholder', 'aria-hidden': 'true' });
  #open = false;
  #scrollY = 0;
  #madeInert: Element[] = [];

  constructor(root: HTMLElement, layout?: LabLayoutStore) {
    this.#root = root;
    this.#layout = layout;
    this.#toggle = h('button', { type: 'button', class: 'lab-workspace-toggle', 'data-testid': 'lab-workspace-toggle', onclick: () => (this.#open ? this.leave() : this.enter()) }, LABELS.enter);
    (root.querySelector('header') ?? root).prepend(this.#toggle);
    root.dataset.layout = 'page';
    window.addEventListener('popstate', () => {
      if (this.#open && location.hash !== WORKSPACE_HASH) this.#close();
      else if (!this.#open && location.hash === WORKSPACE_HASH) this.enter();
    });
    document.addEventListener('keydown', (event) => {
      // Monaco stops the Escape it uses (closing a suggestion list, the find box, a hover), so an
      // Escape that arrives here had nothing to close inside the editor.
      if (this.#open && event.key === 'Escape' && !event.defaultPrevented) {
        event.preventDefault();
        this.leave();
      }
    });
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Opens the workspace over the page and moves focus into it. */
  enter(): void {
    if (this.#open) return;
    this.#open = true;
    this.#scrollY = window.scrollY;
    // The placeholder keeps the chapter's length, so the page does not jump under the layer.
    this.#placeholder.style.height = `${this.#root.offsetHeight}px`;
    this.#root.before(this.#placeholder);
    document.body.append(this.#root);
    this.#madeInert = [...document.body.children].filter((el) => el !== this.#root && !(el as HTMLElement).inert);
    for (const el of this.#madeInert) (el as HTMLElement).inert = true;
    document.documentElement.classList.add('lab-workspace-open');
    this.#root.dataset.layout = 'workspace';
    this.#root.setAttribute('role', 'dialog');
    this.#root.setAttribute('aria-modal', 'true');
    this.#root.tabIndex = -1;
    this.#toggle.textContent = LABELS.leave;
    this.#toggle.setAttribute('aria-keyshortcuts', 'Escape');
    if (location.hash !== WORKSPACE_HASH) history.pushState({ ...(history.state as object | null), scaleLabWorkspace: true }, '', WORKSPACE_HASH);
    this.#layout?.update({ mode: 'workspace' });
    this.#root.focus();
  }

  /** Back to the chapter: through history when the workspace added the `#lab` entry, so Back and this agree. */
  leave(): void {
    if (!this.#open) return;
    const pushed = (history.state as { scaleLabWorkspace?: boolean } | null)?.scaleLabWorkspace === true;
    this.#close();
    if (location.hash !== WORKSPACE_HASH) return;
    if (pushed) history.back();
    else history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  }

  #close(): void {
    this.#open = false;
    for (const el of this.#madeInert) (el as HTMLElement).inert = false;
    this.#madeInert = [];
    document.documentElement.classList.remove('lab-workspace-open');
    this.#placeholder.replaceWith(this.#root);
    this.#root.dataset.layout = 'page';
    this.#root.removeAttribute('role');
    this.#root.removeAttribute('aria-modal');
    this.#root.removeAttribute('tabindex');
    this.#toggle.textContent = LABELS.enter;
    this.#toggle.removeAttribute('aria-keyshortcuts');
    this.#layout?.update({ mode: 'page' });
    window.scrollTo(0, this.#scrollY);
    this.#toggle.focus({ preventScroll: true });
  }
}
