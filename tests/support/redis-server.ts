/**
 * A real redis-server for tests: started on a free loopback port with nothing saved to disk, owned by
 * the test process (stopped with it), and a small client on @redis/client that sends raw commands.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createClient, RESP_TYPES } from '@redis/client';
import { freePort, portOpen } from './ports.ts';

export interface RedisServer {
  port: number;
  /** Opens a connection to logical database `db` that sends raw command words and answers RESP2 replies. */
  connect(db?: number): Promise<RawRedis>;
  stop(): Promise<void>;
}

export interface RawRedis {
  send(argv: string[]): Promise<unknown>;
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

/** Whether redis-server can be run here. */
export function redisServerInstalled(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

/** The message for a machine without redis-server: a failure under CI, where .ci/run installs it. */
export const MISSING_REDIS = 'redis-server is not installed: the Redis differential test needs it. Install it (apt-get install redis-server); .ci/run does.';

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before listening on ${port}`);
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on 127.0.0.1:${port} within 5 s`);
}

/** Starts redis-server in the foreground (so it dies with its parent's stop()), with `databases` logical databases. */
export async function startRedisServer(options: { databases?: number } = {}): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--databases', String(options.databases ?? 16), '--protected-mode', 'yes',
    ], { stdio: 'ignore' });
    // Should the test process end without stop(), the server goes with it.
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    child.once('exit', () => process.off('exit', orphanGuard));
    try {
      await waitForPort(port, child);
    } catch (err) {
      lastError = err;
      child.kill('SIGKILL');
      continue;
    }
    // Building a client costs a lot of CPU (it sets up every command); duplicates of one are cheap.
    const base = createClient({ socket: { host: '127.0.0.1', port }, RESP: 2, disableClientInfo: true });
    return {
      port,
      async connect(db = 0) {
        const client = base.duplicate({ database: db });
        client.on('error', () => {});
        await client.connect();
        return {
          send: async (argv) => exactReply(await client.sendCommand(argv, { typeMapping: EXACT })),
          close: () => client.close(),
        };
      },
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    };
  }
  throw lastError;
}
