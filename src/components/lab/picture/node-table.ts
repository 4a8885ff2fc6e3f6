/**
 * The picture's text equivalent: a table of the nodes and their figures, updated in place. Not a
 * live region (it changes ten times a second); state changes are announced by the Announcer.
 */
import type { NodeFigures } from '../../../lab-runtime/playground/protocol.ts';
import { h } from '../dom.ts';
import { detailLine, roleWords, stateWords, trafficLine } from './figures-text.ts';

const HEADINGS = ['Node', 'Role', 'Region', 'State', 'Traffic', 'Details'];

export class NodeTable {
  readonly element: HTMLTableElement;
  readonly #body = h('tbody');
  readonly #rows = new Map<string, HTMLTableCellElement[]>();

  constructor() {
    this.element = h(
      'table',
      { class: 'pic-table', 'data-testid': 'picture-table' },
      h('caption', {}, 'Every node of the cluster and its figures over the last second of cluster time'),
      h('thead', {}, h('tr', {}, ...HEADINGS.map((t) => h('th', { scope: 'col' }, t)))),
      this.#body,
    );
  }

  update(nodes: NodeFigures[]): void {
    for (const n of nodes) {
      let cells = this.#rows.get(n.name);
      if (!cells) {
        const name = h('th', { scope: 'row' }, n.name);
        cells = [name, ...HEADINGS.slice(1).map(() => h('td'))];
        this.#rows.set(n.name, cells);
        this.#body.append(h('tr', { 'data-node': n.name }, ...cells));
      }
      const values = [n.name, roleWords(n), n.region ?? '—', stateWords(n), n.state === 'killed' ? 'no answers' : trafficLine(n), detailLine(n)];
      values.forEach((v, i) => {
        if (cells[i]!.textContent !== v) cells[i]!.textContent = v;
      });
      (cells[0]!.parentElement as HTMLElement).dataset.state = n.state;
    }
  }
}
