/** Where the picture puts each box: by call depth from the clients, one band per region. */
import { expect, test } from 'vitest';
import { BOX, layoutCluster } from '../../../src/components/lab/picture/layout.ts';

const clones = {
  nodes: [
    { name: 'kv', kind: 'kv', region: undefined },
    { name: 'app-1', kind: 'http', region: undefined },
    { name: 'app-2', kind: 'http', region: undefined },
    { name: 'lb', kind: 'http', region: undefined },
  ],
  clients: [{ name: 'client', region: undefined }],
  entry: 'lb',
};

test('before any call: the entry and the HTTP nodes in one column, data nodes after them', () => {
  const layout = layoutCluster({ ...clones, links: [] });
  expect(['client', 'lb', 'app-1', 'kv'].map((n) => layout.boxes.get(n)!.column)).toEqual([0, 1, 1, 2]);
});

test('a clone no call reached yet sits beside the ones that were', () => {
  const layout = layoutCluster({ ...clones, links: [{ from: 'client', to: 'lb' }, { from: 'lb', to: 'app-1' }] });
  expect(['lb', 'app-1', 'app-2', 'kv'].map((n) => layout.boxes.get(n)!.column)).toEqual([1, 2, 2, 3]);
});

test('with calls: client → balancer → apps → store, left to right, each column stacked', () => {
  const links = [
    { from: 'client', to: 'lb' },
    { from: 'lb', to: 'app-1' },
    { from: 'lb', to: 'app-2' },
    { from: 'app-1', to: 'kv' },
  ];
  const layout = layoutCluster({ ...clones, links });
  expect(['client', 'lb', 'app-1', 'app-2', 'kv'].map((n) => layout.boxes.get(n)!.column)).toEqual([0, 1, 2, 2, 3]);
  expect(layout.boxes.get('app-2')!.y).toBe(layout.boxes.get('app-1')!.y + BOX.height + BOX.gapY);
  expect(layout.bands).toHaveLength(1);
});

test('regions are bands, top to bottom, nodes without a region last', () => {
  const layout = layoutCluster({
    nodes: [
      { name: 'app-eu', kind: 'http', region: 'eu-west-1' },
      { name: 'app-us', kind: 'http', region: 'us-east-1' },
      { name: 'dns', kind: 'http', region: undefined },
    ],
    clients: [{ name: 'alice', region: 'eu-west-1' }],
    links: [{ from: 'alice', to: 'app-eu' }],
    entry: 'app-eu',
  });
  expect(layout.bands.map((b) => b.region)).toEqual(['eu-west-1', 'us-east-1', '']);
  const [eu, us] = layout.bands;
  expect(layout.boxes.get('app-us')!.y).toBeGreaterThanOrEqual(us!.y);
  expect(layout.boxes.get('app-eu')!.y).toBeLessThan(eu!.y + eu!.size);
  expect(layout.boxes.get('dns')!.y).toBeGreaterThan(us!.y + us!.size);
});

test('down, for a narrow column: calls go top to bottom, the nodes of a column side by side', () => {
  const links = [
    { from: 'client', to: 'lb' },
    { from: 'lb', to: 'app-1' },
    { from: 'lb', to: 'app-2' },
  ];
  const layout = layoutCluster({ ...clones, links }, 'down');
  const [client, lb, app1, app2] = ['client', 'lb', 'app-1', 'app-2'].map((n) => layout.boxes.get(n)!);
  expect(client!.y).toBeLessThan(lb!.y);
  expect(lb!.y).toBeLessThan(app1!.y);
  expect(app1!.y).toBe(app2!.y);
  expect(app2!.x).toBe(app1!.x + BOX.width + BOX.gapY);
  expect(layout.height).toBeGreaterThan(layout.width / 2);
});
