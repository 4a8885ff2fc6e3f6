/**
 * Connections to a real Redis that send raw command words and answer RESP2 replies exactly as Redis
 * sent them, for `ctx.kv` on a real Redis (`npm run lab -- <topic> --serve --redis URL`, through the
 * kit's kv-redis.ts) and for the tests that compare the kit's store with redis-server. Node only, on
 * @redis/client (installed with the course's dev dependencies): never part of what WebContainer mounts.
 */
import { createClient, RESP_TYPES } from '@redis/client';

export interface RawRedis {
  /** Sends one command; a `blocking` one (BLMOVE) goes over a connection of its own, so it holds up nothing else. */
  send(argv: string[], blocking?: boolean): Promise<unknown>;
  close(): Promise<void>;
}

// @redis/client reads integer replies near 2^53 inexactly (9007199254740991 comes back one more);
// have it hand integers over as text and strings as bytes, then read each exactly.
const EXACT = { [RESP_TYPES.NUMBER]: String, [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer };

function exactReply(reply: unknown): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (typeof reply === 'string') return Number(reply);
  return Array.isArray(reply) ? reply.map(exactReply) : reply;
}

export interface RedisConnector {
  /** Opens a connection to logical database `db` (default 0). */
  connect(db?: number): Promise<RawRedis>;
}

/**
 * Connections to the Redis at `url` (redis://host:port) or `socket`. Building a client costs a lot
 * of CPU (it sets up every command); the connections are cheap duplicates of one.
 */
export function redisConnector(where: { url: string } | { socket: { host: string; port: number } }): RedisConnector {
  const base = createClient({ ...where, RESP: 2, disableClientInfo: true });
  const open = async (db: number) => {
    const client = base.duplicate({ database: db });
    const failed = new Promise<never>((_, reject) => client.once('error', reject));
    failed.catch(() => {});
    // A refused connection is retried forever by default: fail the first attempt instead.
    await Promise.race([client.connect(), failed]);
    client.on('error', () => {});
    return client;
  };
  return {
    async connect(db = 0) {
      const client = await open(db);
      const send = async (c: typeof client, argv: string[]) => exactReply(await c.sendCommand(argv, { typeMapping: EXACT }));
      return {
        async send(argv, blocking = false) {
          if (!blocking) return send(client, argv);
          const own = await open(db);
          try {
            return await send(own, argv);
          } finally {
            own.destroy();
          }
        },
        close: () => client.close(),
      };
    },
  };
}
