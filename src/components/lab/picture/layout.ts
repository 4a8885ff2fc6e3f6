/**
 * Where each box of the picture goes: clients first, then each node one column further than the
 * nearest caller that reached it (balancer, apps, stores), data nodes that no call reached yet after
 * the HTTP nodes; one band per region.
 */
export interface LayoutInput {
  nodes: { name: string; kind: string; region: string | undefined }[];
  clients: { name: string; region: string | undefined }[];
  links: { from: string; to: string }[];
  entry: string;
}

export interface Placed {
  name: string;
  column: number;
  x: number;
  y: number;
  client: boolean;
}

export type Orientation = 'across' | 'down';

export interface Layout {
  boxes: Map<string, Placed>;
  /** A region's band starts at `x` (down) or `y` (across) and is `size` long the other way. */
  bands: { region: string; x: number; y: number; size: number }[];
  orientation: Orientation;
  width: number;
  height: number;
}

export const BOX = { width: 168, height: 62, gapX: 56, gapY: 14, band: 22, margin: 8 } as const;
const NO_REGION = '';

/**
 * `across`: calls go left to right, regions are horizontal bands (a wide region of the page);
 * `down`: calls go top to bottom, regions side by side (a narrow column).
 */
export function layoutCluster(input: LayoutInput, orientation: Orientation = 'across'): Layout {
  const column = new Map<string, number>();
  const clients = input.clients.length > 0 ? input.clients : [{ name: 'client', region: undefined }];
  for (const c of clients) column.set(c.name, 0);
  // Breadth first from the clients over the links that carried calls.
  let frontier = clients.map((c) => c.name);
  if (!input.links.some((l) => column.has(l.from))) column.set(input.entry, 1);
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const from of frontier) {
      for (const l of input.links) {
        if (l.from !== from || column.has(l.to)) continue;
        column.set(l.to, column.get(from)! + 1);
        next.push(l.to);
      }
    }
    frontier = next;
  }
  const httpDeepest = Math.max(1, ...input.nodes.filter((n) => n.kind === 'http').map((n) => column.get(n.name) ?? 0));
  // Not reached yet: an HTTP node beside the deepest reached one (a clone not sent to yet), data after.
  for (const n of input.nodes) if (!column.has(n.name)) column.set(n.name, n.kind === 'http' ? httpDeepest : httpDeepest + 1);

  const all = [...clients.map((c) => ({ ...c, client: true })), ...input.nodes.map((n) => ({ name: n.name, region: n.region, client: false }))];
  const regions = [...new Set(all.map((n) => n.region ?? NO_REGION))].sort((a, b) => (a === NO_REGION ? 1 : b === NO_REGION ? -1 : a.localeCompare(b)));
  const boxes = new Map<string, Placed>();
  const bands: Layout['bands'] = [];
  const columns = Math.max(...[...column.values()]) + 1;
  const across = orientation === 'across';
  // Along the calls: x across, y down. Beside each other in a column: the other axis.
  const stepAlong = across ? BOX.width + BOX.gapX : BOX.height + BOX.gapX / 2;
  const stepBeside = across ? BOX.height + BOX.gapY : BOX.width + BOX.gapY;
  const labelled = regions.length > 1 || regions[0] !== NO_REGION;
  let offset = BOX.margin;
  for (const region of regions) {
    const inRegion = all.filter((n) => (n.region ?? NO_REGION) === region);
    const start = offset + (labelled && across ? BOX.band : 0);
    let most = 0;
    for (let c = 0; c < columns; c++) {
      const here = inRegion.filter((n) => column.get(n.name) === c);
      here.forEach((n, i) => {
        const along = BOX.margin + (labelled && !across ? BOX.band : 0) + c * stepAlong;
        const beside = start + i * stepBeside;
        boxes.set(n.name, { name: n.name, column: c, client: n.client, x: across ? along : beside, y: across ? beside : along });
      });
      most = Math.max(most, here.length);
    }
    const size = start - offset + most * stepBeside;
    bands.push({ region, y: across ? offset : 0, x: across ? 0 : offset, size });
    offset += size + BOX.gapY;
  }
  const length = BOX.margin * 2 + (labelled && !across ? BOX.band : 0) + (columns - 1) * stepAlong + (across ? BOX.width : BOX.height);
  return { boxes, bands, orientation, width: across ? length : offset, height: across ? offset : length };
}
