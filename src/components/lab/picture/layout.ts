/**
 * Where each box of the picture goes: clients on the left, then each node one column further than
 * the nearest caller that reached it (balancer, apps, stores, from left to right), data nodes that
 * no call reached yet after the HTTP nodes; one band per region, top to bottom.
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

export interface Layout {
  boxes: Map<string, Placed>;
  bands: { region: string; y: number; height: number }[];
  width: number;
  height: number;
}

export const BOX = { width: 168, height: 62, gapX: 56, gapY: 14, band: 22, margin: 8 } as const;
const NO_REGION = '';

export function layoutCluster(input: LayoutInput): Layout {
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
  for (const n of input.nodes) if (!column.has(n.name)) column.set(n.name, n.kind === 'http' ? 1 : httpDeepest + 1);

  const all = [...clients.map((c) => ({ ...c, client: true })), ...input.nodes.map((n) => ({ name: n.name, region: n.region, client: false }))];
  const regions = [...new Set(all.map((n) => n.region ?? NO_REGION))].sort((a, b) => (a === NO_REGION ? 1 : b === NO_REGION ? -1 : a.localeCompare(b)));
  const boxes = new Map<string, Placed>();
  const bands: Layout['bands'] = [];
  const columns = Math.max(...[...column.values()]) + 1;
  let y = BOX.margin;
  for (const region of regions) {
    const inRegion = all.filter((n) => (n.region ?? NO_REGION) === region);
    const top = y + (regions.length > 1 || region !== NO_REGION ? BOX.band : 0);
    let rows = 0;
    for (let c = 0; c < columns; c++) {
      const here = inRegion.filter((n) => column.get(n.name) === c);
      here.forEach((n, i) => boxes.set(n.name, { name: n.name, column: c, client: n.client, x: BOX.margin + c * (BOX.width + BOX.gapX), y: top + i * (BOX.height + BOX.gapY) }));
      rows = Math.max(rows, here.length);
    }
    const height = top - y + rows * (BOX.height + BOX.gapY);
    bands.push({ region, y, height });
    y += height + BOX.gapY;
  }
  return { boxes, bands, width: BOX.margin * 2 + columns * BOX.width + (columns - 1) * BOX.gapX, height: y };
}
