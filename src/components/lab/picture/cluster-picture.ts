/**
 * The cluster drawn in SVG: a box per node (its name, role, state and figures, all in words as
 * well as in colour and line style), the clients, the links that carried calls in the last window
 * (thicker with more calls, dashed where calls failed), and a band per region. Boxes are kept and
 * updated between draws, so a redraw changes text and attributes, not the tree.
 */
import type { Frame, NodeFigures } from '../../../lab-runtime/playground/protocol.ts';
import { detailLine, roleWords, stateTag, stateWords, trafficLine } from './figures-text.ts';
import { BOX, layoutCluster, type Layout, type Orientation } from './layout.ts';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

interface NodeBox {
  group: SVGGElement;
  frame: SVGRectElement;
  title: SVGTitleElement;
  tag: SVGTextElement;
  traffic: SVGTextElement;
  detail: SVGTextElement;
}

export class ClusterPicture {
  readonly element: SVGSVGElement;
  readonly #bands = svg('g', { class: 'pic-bands' });
  readonly #links = svg('g', { class: 'pic-links' });
  readonly #nodes = svg('g', { class: 'pic-nodes' });
  readonly #boxes = new Map<string, NodeBox>();
  readonly #entry: string;
  #layoutKey = '';
  #layout: Layout | undefined;

  constructor(entry: string, label: string) {
    this.#entry = entry;
    this.element = svg('svg', { class: 'pic', role: 'img', 'aria-label': label, 'data-testid': 'picture-svg' });
    const defs = svg('defs');
    const arrow = svg('marker', { id: 'pic-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerUnits: 'userSpaceOnUse', markerWidth: 10, markerHeight: 10, orient: 'auto-start-reverse' });
    arrow.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'pic-arrow' }));
    defs.append(arrow);
    this.element.append(defs, this.#bands, this.#links, this.#nodes);
  }

  /** Draws `frame`; `orientation` follows the room the picture has (down in a narrow column). */
  draw(frame: Pick<Frame, 'nodes' | 'clients' | 'links'>, orientation: Orientation = 'across'): void {
    const key = JSON.stringify([orientation, frame.nodes.map((n) => [n.name, n.region]), frame.clients, frame.links.map((l) => `${l.from}>${l.to}`)]);
    if (key !== this.#layoutKey || !this.#layout) {
      this.#layoutKey = key;
      this.#layout = layoutCluster({ nodes: frame.nodes, clients: frame.clients, links: frame.links, entry: this.#entry }, orientation);
      this.#relayout(this.#layout, frame);
    }
    const layout = this.#layout;
    for (const n of frame.nodes) this.#update(n);
    for (const c of frame.clients) {
      const box = this.#boxes.get(c.name);
      if (box) box.traffic.textContent = 'outside the cluster';
    }
    this.#drawLinks(layout, frame.links);
  }

  #relayout(layout: Layout, frame: Pick<Frame, 'nodes' | 'clients'>): void {
    this.element.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
    this.#bands.replaceChildren(
      ...layout.bands.filter((b) => b.region !== '').map((b) => {
        const g = svg('g', { class: 'pic-band' });
        const across = layout.orientation === 'across';
        const rect = across ? { x: 2, y: b.y, width: layout.width - 4, height: b.size } : { x: b.x, y: 2, width: b.size, height: layout.height - 4 };
        g.append(svg('rect', { ...rect, rx: 6 }), svg('text', { x: rect.x + 8, y: rect.y + 15, class: 'pic-band-label' }, `region ${b.region}`));
        return g;
      }),
    );
    const wanted = new Set([...frame.nodes.map((n) => n.name), ...frame.clients.map((c) => c.name)]);
    for (const [name, box] of this.#boxes) if (!wanted.has(name)) { box.group.remove(); this.#boxes.delete(name); }
    for (const [name, place] of layout.boxes) {
      let box = this.#boxes.get(name);
      if (!box) {
        box = this.#create(name, place.client);
        this.#boxes.set(name, box);
        this.#nodes.append(box.group);
      }
      box.group.setAttribute('transform', `translate(${place.x} ${place.y})`);
    }
  }

  #create(name: string, client: boolean): NodeBox {
    const group = svg('g', { class: client ? 'pic-node pic-client' : 'pic-node', 'data-node': name });
    const title = svg('title');
    const frame = svg('rect', { width: BOX.width, height: BOX.height, rx: client ? 22 : 6, class: 'pic-frame' });
    const tag = svg('text', { x: BOX.width - 8, y: 17, class: 'pic-tag', 'text-anchor': 'end' });
    const traffic = svg('text', { x: 8, y: 36, class: 'pic-figure' });
    const detail = svg('text', { x: 8, y: 53, class: 'pic-figure pic-detail' });
    group.append(title, frame, svg('text', { x: 8, y: 17, class: 'pic-name' }, name), tag, traffic, detail);
    if (client) title.textContent = `${name}: sends requests from outside the cluster`;
    return { group, frame, title, tag, traffic, detail };
  }

  #update(n: NodeFigures): void {
    const box = this.#boxes.get(n.name);
    if (!box) return;
    box.group.dataset.state = n.state;
    box.group.dataset.partitioned = String(n.partitioned);
    box.group.dataset.kind = n.kind;
    box.group.dataset.busy = String(n.rps > 0);
    box.tag.textContent = stateTag(n) || roleWords(n);
    box.traffic.textContent = n.state === 'killed' ? 'no answers' : trafficLine(n);
    box.detail.textContent = detailLine(n);
    box.title.textContent = `${n.name}, ${roleWords(n)}${n.region ? ` in ${n.region}` : ''}: ${stateWords(n)}; ${trafficLine(n)}; ${detailLine(n)}`;
  }

  #drawLinks(layout: Layout, links: Frame['links']): void {
    const lines: SVGElement[] = [];
    for (const l of links) {
      const a = layout.boxes.get(l.from);
      const b = layout.boxes.get(l.to);
      if (!a || !b) continue;
      const d = linkPath(a, b, layout.orientation);
      const width = l.calls > 0 ? Math.min(6, 1 + Math.log2(1 + l.calls)) : 1;
      const cls = ['pic-link', l.calls > 0 ? 'pic-link-active' : 'pic-link-idle', l.failures > 0 ? 'pic-link-failing' : ''].filter(Boolean).join(' ');
      const path = svg('path', { d, class: cls, 'stroke-width': width.toFixed(1), 'marker-end': 'url(#pic-arrow)', 'data-from': l.from, 'data-to': l.to });
      path.append(svg('title', {}, `${l.from} → ${l.to}: ${l.calls} calls${l.failures ? `, ${l.failures} failed` : ''} in the last moment`));
      lines.push(path);
    }
    this.#links.replaceChildren(...lines);
  }
}

/** A link from box `a` to box `b`: a curve from one column to the next, a straight line within one. */
function linkPath(a: { x: number; y: number }, b: { x: number; y: number }, orientation: Orientation): string {
  if (orientation === 'across' && b.x > a.x) {
    const [x1, y1, x2, y2] = [a.x + BOX.width, a.y + BOX.height / 2, b.x, b.y + BOX.height / 2];
    const mid = (x1 + x2) / 2;
    return `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`;
  }
  if (orientation === 'down' && b.y > a.y) {
    const [x1, y1, x2, y2] = [a.x + BOX.width / 2, a.y + BOX.height, b.x + BOX.width / 2, b.y];
    const mid = (y1 + y2) / 2;
    return `M ${x1} ${y1} C ${x1} ${mid}, ${x2} ${mid}, ${x2} ${y2}`;
  }
  // Within a column (or backwards): edge to edge, the short way.
  const below = b.y > a.y;
  const right = b.x > a.x;
  const [x1, y1] = orientation === 'across' ? [a.x + BOX.width / 2, below ? a.y + BOX.height : a.y] : [right ? a.x + BOX.width : a.x, a.y + BOX.height / 2];
  const [x2, y2] = orientation === 'across' ? [b.x + BOX.width / 2, below ? b.y : b.y + BOX.height] : [right ? b.x : b.x + BOX.width, b.y + BOX.height / 2];
  return `M ${x1} ${y1} L ${x2} ${y2}`;
}
