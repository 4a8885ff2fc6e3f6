// Provided: the cluster of this lab. Your code is in products.ts.
import { Cluster, type ClusterOptions } from '@scale-lab/kit';
import { createProductService } from './products.ts';

/** The shop's catalogue: ten products, a few reviews each, and a stock level per product. */
const SQL = `
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL);
CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL REFERENCES products(id), stars INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE stock (product_id INTEGER PRIMARY KEY REFERENCES products(id), quantity INTEGER NOT NULL);

INSERT INTO products (id, name, price_cents) VALUES
  (1, 'Trail Running Shoes', 12999),
  (2, 'Merino Wool Socks, 3 pairs', 2499),
  (3, 'Insulated Water Bottle 750 ml', 3450),
  (4, 'Waterproof Hiking Jacket', 18900),
  (5, 'Two-Person Backpacking Tent', 32900),
  (6, 'Down Sleeping Bag', 24500),
  (7, 'Rechargeable Headlamp', 3999),
  (8, 'Carbon Trekking Poles', 8950),
  (9, 'Daypack 22 L', 7900),
  (10, 'Compact Camp Stove', 5600);

INSERT INTO reviews (product_id, stars, body) VALUES
  (1, 5, 'Grippy on wet rock and comfortable from the first run.'),
  (1, 4, 'Great shoes, but they run half a size small.'),
  (1, 3, 'The sole wore out after 600 km.'),
  (2, 5, 'Warm, soft and they do not smell after three days.'),
  (2, 4, 'Good socks; one pair got a hole within a month.'),
  (3, 5, 'Ice was still there after a whole day in the car.'),
  (3, 4, 'Keeps coffee hot, but the lid is hard to clean.'),
  (3, 2, 'Dented the first time I dropped it.'),
  (4, 5, 'Stayed dry through a full day of rain in the Lakes.'),
  (4, 4, 'Breathes well; the hood could be bigger.'),
  (5, 5, 'Pitches in five minutes and survived a windy night.'),
  (5, 4, 'Roomy for two, tight with two big packs inside.'),
  (5, 3, 'Some condensation on cold mornings.'),
  (6, 5, 'Toasty at minus five, packs down small.'),
  (6, 4, 'Warm, though the zip snags now and then.'),
  (7, 5, 'Bright, light, and the battery lasts a whole trip.'),
  (7, 4, 'The red light mode is handy in the tent.'),
  (7, 2, 'The strap lost its stretch after a few months.'),
  (8, 5, 'Light and stiff; my knees thank me on descents.'),
  (8, 3, 'One lock slipped on a steep section.'),
  (9, 4, 'Just the right size for a day hike.'),
  (9, 5, 'Comfortable even when fully loaded.'),
  (10, 5, 'Boils half a litre in three minutes.'),
  (10, 4, 'Simmers well, a little noisy.'),
  (10, 3, 'Struggles in strong wind without a screen.');

INSERT INTO stock (product_id, quantity) VALUES
  (1, 42), (2, 310), (3, 87), (4, 15), (5, 6), (6, 23), (7, 154), (8, 38), (9, 61), (10, 29);
`;

/** The clones of the product service, all running products.ts; clients reach the first at http://app/. */
export const APP_CLONES = ['app', 'app-2', 'app-3'];

/** Three clones of the product service; they read the database db, and may cache in kv, which they share. */
export async function createCachingCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster({ seed: 1, ...options });
  // Declared a cache, so the store counts its GETs as hits and misses (the playground shows the ratio).
  cluster.addStore('kv', { cache: true });
  await cluster.addDatabase('db', { setup: SQL, cost: 5 });
  for (const name of APP_CLONES) cluster.addNode(name, createProductService);
  return cluster;
}
