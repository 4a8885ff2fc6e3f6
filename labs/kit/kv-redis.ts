/**
 * The key-value client on a real Redis: the same typed methods as `ctx.kv` (kv.ts), each sent as the
 * same command words, with Redis's error replies turned into KvErrors of the same kinds. It needs only
 * a function that sends one command and answers its RESP2 reply, so it stays free of Node APIs; the
 * connection (any Redis client library) is the caller's.
 */
import { clientOver, type KvClient, type KvReply, type KvTransport } from './kv.ts';
import { KvError } from './kv-errors.ts';

/** The usual compare-and-delete for releasing a lock: delete the key only if it still holds our token. */
export const DEL_IF_EQUALS_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Sends one command, given as its words, and resolves to its RESP2 reply (strings, integers as numbers,
 * nil as null, arrays); rejects with an Error whose message is Redis's error reply for one. `blocking`
 * says the command may wait (BLMOVE): it must not hold up the other commands of a shared connection.
 */
export type RedisSend = (argv: string[], blocking?: boolean) => Promise<unknown>;

/** A Redis error reply starts with its code in capitals: `ERR …`, `WRONGTYPE …`. */
const ERROR_REPLY = /^[A-Z][A-Z_]* /;
/** Redis tells where in a script an error was raised; the in-memory store runs no script, so that part goes. */
const SCRIPT_TRAILER = / script: [0-9a-f]+, on @user_script:\d+\.$/;

/** The error a Redis client library threw, as the KvError the in-memory store would have thrown. */
export function kvErrorFromRedis(err: unknown): unknown {
  if (!(err instanceof Error) || !ERROR_REPLY.test(err.message)) return err;
  return new KvError(err.message.replace(SCRIPT_TRAILER, ''));
}

/** Each command's words to a real Redis through `send`; compare-and-delete becomes EVAL of the usual script. */
export function redisTransport(send: RedisSend): KvTransport {
  return async (_command, _key, argv, blocking) => {
    const words = argv[0] === 'DELIFEQ' ? ['EVAL', DEL_IF_EQUALS_SCRIPT, '1', argv[1]!, argv[2]!] : argv;
    try {
      return (await send(words, blocking)) as KvReply;
    } catch (err) {
      throw kvErrorFromRedis(err);
    }
  };
}

/** A KvClient whose every command goes to a real Redis through `send`. */
export function redisKvClient(send: RedisSend): KvClient {
  return clientOver(redisTransport(send));
}
