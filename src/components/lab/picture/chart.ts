/**
 * The live chart of traffic from outside: answered and failed requests per second, and the p50
 * and p99 latency, over cluster time, drawn by uPlot. A previous run can stay on the chart, dimmed,
 * so a re-run with fixed code is read against the same traffic. Bounded to the last MAX_POINTS.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { SeriesPoint } from '../../../lab-runtime/playground/protocol.ts';

export const MAX_POINTS = 900;

type Columns = [number[], ...(number | null)[][]];

const SERIES: uPlot.Series[] = [
  { label: 'cluster time (s)' },
  { label: 'answered/s', scale: 'rps', stroke: '#3b82f6', width: 2 },
  { label: 'failed/s', scale: 'rps', stroke: '#dc2626', width: 2, dash: [6, 3] },
  { label: 'p50 ms', scale: 'ms', stroke: '#16a34a', width: 1 },
  { label: 'p99 ms', scale: 'ms', stroke: '#a16207', width: 1, dash: [2, 3] },
  { label: 'previous run: failed/s', scale: 'rps', stroke: 'rgba(220, 38, 38, 0.35)', width: 1 },
];

export class TrafficChart {
  readonly element: HTMLElement;
  #plot: uPlot | undefined;
  #points: SeriesPoint[] = [];
  #previous: SeriesPoint[] = [];
  #dirty = false;
  readonly #resize: ResizeObserver;

  constructor(host: HTMLElement) {
    this.element = host;
    this.#resize = new ResizeObserver(() => this.#plot?.setSize(this.#size()));
    this.#resize.observe(host);
  }

  #size(): { width: number; height: number } {
    return { width: Math.max(240, this.element.clientWidth), height: 180 };
  }

  add(points: SeriesPoint[]): void {
    if (points.length === 0) return;
    this.#points.push(...points);
    if (this.#points.length > MAX_POINTS) this.#points.splice(0, this.#points.length - MAX_POINTS);
    this.#dirty = true;
  }

  /** A new run: the current one becomes the dimmed previous run. */
  restart(keepPrevious: boolean): void {
    this.#previous = keepPrevious ? this.#points : [];
    this.#points = [];
    this.#dirty = true;
  }

  get points(): readonly SeriesPoint[] {
    return this.#points;
  }

  /** Redraws if points arrived since the last draw (called on the view's frame clock). */
  draw(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    const times = [...new Set([...this.#previous, ...this.#points].map((p) => p.t))].sort((a, b) => a - b);
    const now = new Map(this.#points.map((p) => [p.t, p]));
    const before = new Map(this.#previous.map((p) => [p.t, p]));
    const data: Columns = [
      times,
      times.map((t) => now.get(t)?.throughput ?? null),
      times.map((t) => now.get(t)?.errors ?? null),
      times.map((t) => now.get(t)?.p50 ?? null),
      times.map((t) => now.get(t)?.p99 ?? null),
      times.map((t) => before.get(t)?.errors ?? null),
    ];
    if (!this.#plot) {
      this.#plot = new uPlot(
        {
          ...this.#size(),
          scales: { x: { time: false }, rps: { range: (_u, _min, max) => [0, Math.max(1, max)] }, ms: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          axes: [{ label: 'cluster time (s)' }, { scale: 'rps', label: 'requests/s' }, { scale: 'ms', side: 1, label: 'latency (ms)', grid: { show: false } }],
          series: SERIES,
          cursor: { drag: { x: false, y: false } },
          legend: { live: false },
        },
        data as uPlot.AlignedData,
        this.element,
      );
    } else {
      this.#plot.setData(data as uPlot.AlignedData);
    }
  }

  dispose(): void {
    this.#resize.disconnect();
    this.#plot?.destroy();
  }
}
