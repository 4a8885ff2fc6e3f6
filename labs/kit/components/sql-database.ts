/**
 * The SQL database as a node of the cluster: SQLite (sql.ts) behind the network, each statement a
 * round trip that costs time, counted for the database and for its caller.
 */
import { withLimits, type CallOptions } from '../failures.ts';
import { ClusterNode, type NodeEnv } from '../node.ts';
import type { SqlClient, SqlDatabase, SqlValue } from '../sql.ts';

export class DatabaseNode extends ClusterNode {
  readonly kind = 'db';
  readonly database: SqlDatabase;
  /** Time one statement costs, in ms. */
  readonly cost: number;

  constructor(name: string, database: SqlDatabase, cost: number) {
    super(name);
    this.database = database;
    this.cost = cost;
  }
}

/** The database named `name` as a node, or an error saying there is none. */
export function databaseNode(env: NodeEnv, name: string, asker: string): DatabaseNode {
  const node = env.network.find(name);
  if (!(node instanceof DatabaseNode)) throw new Error(`${asker}: this cluster has no database named "${name}".`);
  return node;
}

/** The client `from` holds for the database `name`: every statement crosses the network and costs time. */
export function databaseClient(env: NodeEnv, from: string, name: string, limits: CallOptions = {}): SqlClient {
  const node = databaseNode(env, name, from);
  const { clock, metrics, network } = env;
  const call = <T>(sql: string, run: () => T): Promise<T> =>
    withLimits(clock, limits, (signal) => network.deliver(from, name, signal, async () => {
      if (node.cost > 0) await clock.sleep(node.cost);
      metrics.of(name).requests++;
      metrics.of(name).queries++;
      metrics.of(from).queries++;
      metrics.emit({ type: 'query', at: clock.now(), from, node: name, sql });
      return run();
    }));
  return {
    query: <T>(sql: string, params?: SqlValue[]) => call(sql, () => node.database.query<T>(sql, params)),
    run: (sql: string, params?: SqlValue[]) => call(sql, () => node.database.run(sql, params)),
  };
}
