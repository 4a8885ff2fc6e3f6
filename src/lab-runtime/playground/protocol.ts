/**
 * Messages between the page and the playground Worker (playground-worker.ts), which runs the
 * reader's cluster on a paced virtual clock. The Worker aggregates what happens and posts one
 * `frame` per tick (at most ten a second), each bounded in size; the page never sees single events.
 */
import type { LabBundle } from '../../../labs/harness/bundle.ts';

/** What the reader can do to the running cluster: the same operations the graded tests use. */
export type Fault =
  | { op: 'kill' | 'revive' | 'fail' | 'hang' | 'recover'; node: string }
  | { op: 'slow'; node: string; ms: number }
  | { op: 'slow-link'; from: string; to: string; ms: number }
  | { op: 'partition'; nodes: string[] }
  | { op: 'heal' }
  | { op: 'region-down' | 'region-up'; region: string }
  | { op: 'skew'; node: string; offset: number };

/**
 * Requests per second from outside the cluster: steady, or a ramp over `over` ms of cluster time;
 * from a client in `region` when given (its requests carry that region's latency), else the anonymous client.
 */
export type Traffic = ({ rate: number } | { from: number; to: number; over: number }) & { path: string; region?: string };

/** Something the reader does to the running cluster. */
export type Act = { type: 'traffic'; traffic: Traffic } | { type: 'fault'; fault: Fault };

/** An act at the virtual time it took effect: kept so that a re-run replays it exactly. */
export type Action = { at: number } & Act;

export type ToPlayground =
  | { type: 'prepare'; kitUrl: string; wasmUrl?: string }
  | {
      type: 'start';
      /** Numbers the run: its frames carry it, so the page ignores a stopped run's late frames. */
      run: number;
      kitUrl: string;
      wasmUrl: string;
      bundle: LabBundle;
      files: Record<string, string>;
      seed: number;
      /** Actions to replay at their virtual times (a re-run); empty for a fresh run. */
      replay: Action[];
    }
  | { type: 'act'; act: Act }
  /** Virtual ms per wall-clock second: 1000 is 1x, 10000 is 10x, 0 pauses. */
  | { type: 'speed'; perSecond: number }
  /** While paused: move virtual time on by `ms`. */
  | { type: 'step'; ms: number }
  | { type: 'stop' };

/** One node's figures over the last window, as the picture draws them. */
export interface NodeFigures {
  name: string;
  kind: string;
  role: string | undefined;
  region: string | undefined;
  state: 'up' | 'killed' | 'failing' | 'slow' | 'hung';
  /** Cut off by a partition the reader made. */
  partitioned: boolean;
  /** Requests (stores and databases: operations) per second of cluster time. */
  rps: number;
  /** Of them, answered 5xx or thrown, per second. */
  errors: number;
  inFlight: number;
  /** Share of its cores busy, 0–1; null for a node without a core limit. */
  cpu: number | null;
  /** Stores declared a cache, edges: hits / (hits + misses) in the window; null when nothing was read. */
  hitRatio: number | null;
  /** Edges: hits, misses and stale answers per second. */
  cache: { hits: number; misses: number; stale: number } | null;
  /** Queues: messages waiting and received-not-deleted. */
  queue: { depth: number; inFlight: number } | null;
  /** Replicas: how far behind the primary, in ms. */
  lag: number | null;
}

/** Traffic from outside over one second of cluster time (the last one): what the chart draws. */
export interface SeriesPoint {
  /** Virtual time at the end of the window, in seconds. */
  t: number;
  /** Requests answered per second. */
  throughput: number;
  /** Requests per second that failed (no answer, or a 5xx). */
  errors: number;
  /** How many requests ended in the window, and how many of them failed. */
  completed: number;
  failed: number;
  p50: number | null;
  p99: number | null;
}

export interface Frame {
  type: 'frame';
  run: number;
  /** Virtual time now, in ms. */
  now: number;
  /** Virtual ms per wall second (0 when paused). */
  speed: number;
  nodes: NodeFigures[];
  clients: { name: string; region: string | undefined }[];
  /** Links that carried calls in this window (or ever, with calls 0 now), with failures. */
  links: { from: string; to: string; calls: number; failures: number }[];
  /** Points since the last frame. */
  points: SeriesPoint[];
  /** `ctx.log` lines since the last frame (the latest few, clipped). */
  logs: { at: number; node: string; message: string }[];
  /** Actions applied since the last frame, for the record and the replay list. */
  actions: Action[];
  /** The run stopped by itself: its time limit, or the reader's code threw. */
  ended?: string;
}

export type FromPlayground =
  | { type: 'ready' }
  | { type: 'started'; run: number; nodes: string[]; regions: string[]; entry: string; seed: number }
  | Frame
  /** The cluster could not be built or driven: a message for the reader. */
  | { type: 'failed'; run: number; message: string };

/** A frame's JSON must stay under this many bytes; links and logs are cut to fit. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Frames per wall second, at most. */
export const FRAMES_PER_SECOND = 10;
/** Longest run, in ms of cluster time: then traffic stops and the run ends, saying so. */
export const MAX_VIRTUAL_MS = 15 * 60_000;
