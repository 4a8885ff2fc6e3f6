/**
 * The playground, in the lab's cluster region: start the reader's current code as a cluster on the
 * Worker, send traffic, break things (the same faults the tests use), pace virtual time, and watch
 * the picture, the chart and the table. A re-run replays the recorded traffic and faults at the
 * same virtual times with the same seed, so fixed code is compared on the same traffic.
 *
 * Frames arrive at most ten a second; the view redraws on its own steady clock (REDRAW_MS), never
 * per frame, and only what changed.
 */
import type { LabBundle } from '../../../../labs/harness/bundle.ts';
import { PlaygroundClient } from '../../../lab-runtime/playground/playground-client.ts';
import type { Act, Action, Fault, Frame, NodeFigures } from '../../../lab-runtime/playground/protocol.ts';
import { h } from '../dom.ts';
import { Announcer } from './announcer.ts';
import { TrafficChart } from './chart.ts';
import { ClusterPicture } from './cluster-picture.ts';
import { NodeTable } from './node-table.ts';
import './picture.css';

/** How often the picture, table and chart are redrawn while frames come. */
export const REDRAW_MS = 250;
const SPEEDS = [
  { label: 'Pause', perSecond: 0 },
  { label: '1×', perSecond: 1000 },
  { label: '10×', perSecond: 10_000 },
] as const;
const STEP_MS = 100;
/** Narrower than this, the picture runs top to bottom. */
const NARROW_PX = 640;
const MAX_RATE = 2000;
const MAX_LOG_LINES = 200;

export interface PlaygroundViewOptions {
  region: HTMLElement;
  bundle: LabBundle;
  assetsBase: string;
  /** The reader's files as the editor has them now. */
  files: () => Record<string, string>;
}

const number = (attrs: Record<string, string>) => h('input', { type: 'number', inputmode: 'numeric', ...attrs });

export class PlaygroundView {
  readonly #o: PlaygroundViewOptions;
  readonly #client: PlaygroundClient;
  readonly #picture: ClusterPicture;
  readonly #table = new NodeTable();
  readonly #announcer = new Announcer();
  readonly #chart: TrafficChart;
  readonly element: HTMLElement;
  // Controls
  readonly #start: HTMLButtonElement;
  readonly #rerun: HTMLButtonElement;
  readonly #seed: HTMLInputElement;
  readonly #speedButtons: HTMLButtonElement[];
  readonly #step: HTMLButtonElement;
  readonly #clock = h('output', { class: 'pg-clock', 'data-testid': 'playground-clock' }, 'not started');
  readonly #status = h('p', { class: 'pg-status', 'data-testid': 'playground-status' });
  readonly #rate: HTMLInputElement;
  readonly #path: HTMLInputElement;
  readonly #rampTo: HTMLInputElement;
  readonly #rampOver: HTMLInputElement;
  readonly #node = h('select', { 'data-testid': 'playground-node' });
  readonly #linkTo = h('select', { 'data-testid': 'playground-link-to' });
  readonly #region = h('select', { 'data-testid': 'playground-region' });
  readonly #trafficFrom = h('select', { 'data-testid': 'playground-traffic-region' });
  readonly #trafficFromLabel: HTMLElement;
  readonly #regionControls: HTMLElement;
  readonly #controls: HTMLElement;
  readonly #summary = h('p', { class: 'pg-summary', 'data-testid': 'playground-summary' }, 'No traffic yet.');
  readonly #log = h('ol', { class: 'pg-log', 'data-testid': 'playground-log' });
  readonly #figure: HTMLElement;
  // State
  #running = false;
  #speed = 1000;
  #latest: Frame | undefined;
  #dirty = false;
  #lastDraw = 0;
  #raf = 0;
  /** What the reader did in the current run, at its virtual times. */
  #recorded: Action[] = [];
  /** What the last finished or stopped run recorded: what "Re-run" replays. */
  #toReplay: Action[] = [];
  /** Requests from outside that ended in this run, and how many failed. */
  #answered = 0;
  #failedTotal = 0;

  constructor(options: PlaygroundViewOptions) {
    this.#o = options;
    const { bundle } = options;
    const entry = bundle.lab.cluster.entry;
    this.#picture = new ClusterPicture(entry, `Picture of the cluster of this lab; the same figures are in the table below.`);
    this.#client = new PlaygroundClient(options.assetsBase, {
      onStarted: (info) => this.#started(info),
      onFrame: (frame) => this.#frame(frame),
      onFailed: (message) => this.#failed(message),
    });

    this.#start = h('button', { type: 'button', class: 'lab-primary', 'data-testid': 'playground-start', onclick: () => (this.#running ? this.stop() : this.start([])) }, 'Start your cluster');
    this.#rerun = h('button', { type: 'button', 'data-testid': 'playground-rerun', disabled: true, onclick: () => this.start(this.#toReplay) }, 'Re-run with the same traffic and faults');
    this.#seed = number({ min: '1', max: '999999', value: '1', id: `${bundle.name}-pg-seed`, class: 'pg-narrow', 'data-testid': 'playground-seed' });
    this.#speedButtons = SPEEDS.map((s) =>
      h('button', { type: 'button', 'aria-pressed': String(s.perSecond === this.#speed), 'data-testid': `playground-speed-${s.perSecond}`, onclick: () => this.setSpeed(s.perSecond) }, s.label),
    );
    this.#step = h('button', { type: 'button', 'data-testid': 'playground-step', disabled: true, onclick: () => this.#client.step(STEP_MS) }, `Step ${STEP_MS} ms`);

    const id = (suffix: string) => `${bundle.name}-pg-${suffix}`;
    this.#rate = number({ min: '0', max: String(MAX_RATE), value: '50', id: id('rate'), class: 'pg-narrow', 'data-testid': 'playground-rate' });
    this.#path = h('input', { type: 'text', value: defaultPath(bundle), id: id('path'), spellcheck: 'false', 'data-testid': 'playground-path' });
    this.#rampTo = number({ min: '0', max: String(MAX_RATE), value: '', id: id('ramp-to'), class: 'pg-narrow', 'data-testid': 'playground-ramp-to' });
    this.#rampOver = number({ min: '1', max: '600', value: '10', id: id('ramp-over'), class: 'pg-narrow' });
    const traffic = h(
      'fieldset',
      { class: 'pg-group' },
      h('legend', {}, 'Traffic from outside'),
      h('label', { for: id('rate') }, 'Requests per second '), this.#rate,
      h('label', { for: id('path') }, ' to ', h('code', {}, `http://${entry}`)), this.#path,
      (this.#trafficFromLabel = h('span', { hidden: true }, ' ', h('label', { for: id('traffic-region') }, 'from '), this.#trafficFrom)),
      h('br'),
      h('label', { for: id('ramp-to') }, 'Ramp to (optional) '), this.#rampTo,
      h('label', { for: id('ramp-over') }, ' req/s over '), this.#rampOver, ' s ',
      h('button', { type: 'button', 'data-testid': 'playground-send', onclick: () => this.#sendTraffic() }, 'Send'),
      h('button', { type: 'button', 'data-testid': 'playground-no-traffic', onclick: () => this.#act({ type: 'traffic', traffic: { rate: 0, path: this.#path.value } }) }, 'Stop traffic'),
      h('p', { class: 'pg-hint', id: id('path-hint') }, 'A range in braces cycles through it: /products/{1-10} asks for /products/1, /products/2, … in turn.'),
    );
    this.#path.setAttribute('aria-describedby', id('path-hint'));

    const fault = (label: string, make: (node: string) => Fault, testid: string) =>
      h('button', { type: 'button', 'data-testid': `playground-${testid}`, onclick: () => this.#act({ type: 'fault', fault: make(this.#node.value) }) }, label);
    this.#regionControls = h(
      'p',
      { hidden: true },
      h('label', { for: id('region') }, 'Region '), this.#region, ' ',
      h('button', { type: 'button', onclick: () => this.#act({ type: 'fault', fault: { op: 'region-down', region: this.#region.value } }) }, 'Take it down'),
      h('button', { type: 'button', onclick: () => this.#act({ type: 'fault', fault: { op: 'region-up', region: this.#region.value } }) }, 'Bring it back'),
    );
    this.#region.id = id('region');
    this.#trafficFrom.id = id('traffic-region');
    this.#node.id = id('node');
    this.#linkTo.id = id('link-to');
    const faults = h(
      'fieldset',
      { class: 'pg-group' },
      h('legend', {}, 'Faults'),
      h('p', {}, h('label', { for: id('node') }, 'Node '), this.#node),
      h(
        'p',
        { class: 'pg-buttons' },
        fault('Kill', (node) => ({ op: 'kill', node }), 'kill'),
        fault('Revive', (node) => ({ op: 'revive', node }), 'revive'),
        fault('Fail (answer 500)', (node) => ({ op: 'fail', node }), 'fail'),
        fault('Hang', (node) => ({ op: 'hang', node }), 'hang'),
        fault('Slow (+200 ms)', (node) => ({ op: 'slow', node, ms: 200 }), 'slow'),
        fault('Recover', (node) => ({ op: 'recover', node }), 'recover'),
        fault('Cut off (partition)', (node) => ({ op: 'partition', nodes: [node] }), 'partition'),
        h('button', { type: 'button', 'data-testid': 'playground-heal', onclick: () => this.#act({ type: 'fault', fault: { op: 'heal' } }) }, 'Heal partitions'),
        fault('Skew its clock (+1 min)', (node) => ({ op: 'skew', node, offset: 60_000 }), 'skew'),
      ),
      h(
        'p',
        {},
        h('label', { for: id('link-to') }, 'Link from the node above to '), this.#linkTo, ' ',
        h('button', { type: 'button', 'data-testid': 'playground-slow-link', onclick: () => this.#act({ type: 'fault', fault: { op: 'slow-link', from: this.#node.value, to: this.#linkTo.value, ms: 200 } }) }, 'Slow this link (200 ms)'),
      ),
      this.#regionControls,
    );
    this.#controls = h('div', { class: 'pg-controls', hidden: true }, traffic, faults);

    // Focusable: on a narrow column the picture scrolls sideways, and keyboard users must reach it too.
    this.#figure = h('figure', { class: 'pg-figure', tabindex: '0', 'aria-label': 'The cluster (scrolls sideways when the column is narrow)' }, this.#picture.element);
    const chartHost = h('div', { class: 'pg-chart', 'data-testid': 'playground-chart', role: 'img', 'aria-label': 'Chart of answered and failed requests per second and latency over cluster time; the latest figures are written below it.' });
    this.#chart = new TrafficChart(chartHost);
    this.element = h(
      'div',
      { class: 'pg', 'data-testid': 'playground' },
      h(
        'div',
        { class: 'pg-bar' },
        this.#start,
        this.#rerun,
        h('label', { for: this.#seed.id }, 'Seed '), this.#seed,
        h('span', { role: 'group', 'aria-label': 'Speed of cluster time', class: 'pg-speed' }, ...this.#speedButtons, this.#step),
        h('span', {}, 'Cluster time: ', this.#clock),
      ),
      this.#status,
      this.#controls,
      this.#figure,
      chartHost,
      this.#summary,
      h('details', { class: 'pg-details', 'data-testid': 'picture-table-details' }, h('summary', {}, 'The cluster as a table'), this.#table.element),
      h('details', { class: 'pg-details' }, h('summary', {}, 'Log (ctx.log and console lines)'), this.#log),
      this.#announcer.element,
    );
    options.region.append(this.element);
  }

  /** Starts the reader's current files as a cluster; with `replay`, re-applies those acts at their times. */
  start(replay: Action[]): void {
    const seed = Math.max(1, Math.floor(Number(this.#seed.value) || 1));
    this.#seed.value = String(seed);
    this.#chart.restart(replay.length > 0);
    this.#recorded = [];
    this.#answered = 0;
    this.#failedTotal = 0;
    this.#announcer.reset();
    this.#log.replaceChildren();
    this.#latest = undefined;
    // Until its first frame, a new run shows its own start, not the last run's time and counts.
    this.#clock.textContent = '0.0 s';
    this.#summary.textContent = 'This run: 0 answered, 0 failed.';
    this.#summary.dataset.answered = '0';
    this.#summary.dataset.failed = '0';
    this.#status.textContent = replay.length > 0 ? `Starting your current code, replaying ${replay.length} recorded ${replay.length === 1 ? 'act' : 'acts'} with seed ${seed}…` : `Starting your current code with seed ${seed}…`;
    this.#client.start(this.#o.bundle, this.#o.files(), { seed, replay, speed: this.#speed });
    this.#setRunning(true);
  }

  stop(): void {
    this.#client.stop();
    this.#finish('Stopped. Re-run to replay the same traffic and faults against your current code.');
  }

  setSpeed(perSecond: number): void {
    this.#speed = perSecond;
    for (const [i, b] of this.#speedButtons.entries()) b.setAttribute('aria-pressed', String(SPEEDS[i]!.perSecond === perSecond));
    this.#step.disabled = !this.#running || perSecond !== 0;
    this.#client.speed(perSecond);
  }

  /** The cluster's time as the Worker last reported it, "paused" once the Worker says it has stopped. */
  #showClock(frame: Frame): void {
    this.#clock.textContent = `${(frame.now / 1000).toFixed(1)} s${frame.speed === 0 ? ' (paused)' : ''}`;
  }

  #setRunning(running: boolean): void {
    this.#running = running;
    this.#start.textContent = running ? 'Stop' : 'Start your cluster';
    if (!running) this.#controls.hidden = true;
    this.#step.disabled = !running || this.#speed !== 0;
    this.#rerun.disabled = running || this.#toReplay.length === 0;
  }

  #finish(status: string): void {
    this.#toReplay = this.#recorded;
    this.#setRunning(false);
    this.#status.textContent = status;
    this.#announcer.say(status, 'run');
  }

  #started(info: { nodes: string[]; regions: string[]; seed: number }): void {
    const options = (names: string[]) => names.map((n) => h('option', { value: n }, n));
    const previous = this.#node.value;
    this.#node.replaceChildren(...options(info.nodes));
    if (info.nodes.includes(previous)) this.#node.value = previous;
    this.#linkTo.replaceChildren(...options(info.nodes));
    this.#region.replaceChildren(...options(info.regions));
    this.#regionControls.hidden = info.regions.length === 0;
    this.#trafficFrom.replaceChildren(h('option', { value: '' }, 'no region'), ...info.regions.map((r) => h('option', { value: r }, `a client in ${r}`)));
    this.#trafficFromLabel.hidden = info.regions.length === 0;
    this.#controls.hidden = false;
    this.#status.textContent = `Your cluster is running (seed ${info.seed}). Send traffic, then break something.`;
    this.#scheduleDraw();
  }

  #act(act: Act): void {
    this.#client.act(act);
  }

  #sendTraffic(): void {
    const rate = clamp(Number(this.#rate.value), 0, MAX_RATE);
    const path = this.#path.value.startsWith('/') ? this.#path.value : `/${this.#path.value}`;
    const rampTo = this.#rampTo.value === '' ? undefined : clamp(Number(this.#rampTo.value), 0, MAX_RATE);
    const over = clamp(Number(this.#rampOver.value), 1, 600) * 1000;
    const region = this.#trafficFrom.value || undefined;
    this.#act({ type: 'traffic', traffic: { ...(rampTo === undefined ? { rate } : { from: rate, to: rampTo, over }), path, ...(region ? { region } : {}) } });
  }

  #frame(frame: Frame): void {
    this.#latest = frame;
    this.#recorded.push(...frame.actions);
    this.#chart.add(frame.points);
    for (const p of frame.points) {
      this.#answered += p.completed - p.failed;
      this.#failedTotal += p.failed;
    }
    for (const line of frame.logs) {
      this.#log.append(h('li', {}, `${(line.at / 1000).toFixed(3)} s [${line.node}] ${line.message}`));
      if (this.#log.childElementCount > MAX_LOG_LINES) this.#log.firstElementChild?.remove();
    }
    for (const a of frame.actions) this.#announcer.say(describeAction(a), `act:${a.at}:${JSON.stringify(a)}`);
    this.#dirty = true;
    if (frame.ended) this.#finish(frame.ended);
    this.#scheduleDraw();
  }

  #failed(message: string): void {
    this.#finish(message);
    this.#status.dataset.error = 'true';
  }

  #scheduleDraw(): void {
    if (this.#raf) return;
    this.#raf = requestAnimationFrame((t) => this.#draw(t));
  }

  /** The steady redraw: at most every REDRAW_MS, whatever the rate of frames. */
  #draw(time: number): void {
    this.#raf = 0;
    if (time - this.#lastDraw < REDRAW_MS) {
      this.#scheduleDraw();
      return;
    }
    this.#lastDraw = time;
    const frame = this.#latest;
    if (frame && this.#dirty) {
      this.#dirty = false;
      delete this.#status.dataset.error;
      this.#picture.draw(frame, this.#figure.clientWidth < NARROW_PX ? 'down' : 'across');
      this.#table.update(frame.nodes);
      this.#announcer.see(frame.nodes);
      this.#showClock(frame);
      this.#summary.textContent = `${summarise(this.#chart.points.at(-1))} This run: ${this.#answered} answered, ${this.#failedTotal} failed.`;
      this.#summary.dataset.answered = String(this.#answered);
      this.#summary.dataset.failed = String(this.#failedTotal);
      this.#picture.element.setAttribute('aria-label', `Picture of the cluster: ${pictureSummary(frame.nodes)} The same figures are in the table below.`);
    }
    this.#chart.draw();
  }

  dispose(): void {
    cancelAnimationFrame(this.#raf);
    this.#client.dispose();
    this.#chart.dispose();
    this.#announcer.dispose();
    this.element.remove();
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : lo;
}

/** A path the lab's entry answers: the first GET route with a parameter its summary mentions, else `/`. */
function defaultPath(bundle: LabBundle): string {
  const route = /GET (\/[\w/-]*:[\w/:-]*)/.exec(bundle.lab.summary)?.[1];
  return route ? route.replace(/:\w+/g, '{1-10}') : '/';
}

function summarise(point: { throughput: number; errors: number; p50: number | null; p99: number | null } | undefined): string {
  if (!point) return 'No traffic yet.';
  const ms = (x: number | null) => (x === null ? '—' : `${Math.round(x)} ms`);
  return `Last second: ${point.throughput.toFixed(0)} answered/s, ${point.errors.toFixed(0)} failed/s, p50 ${ms(point.p50)}, p99 ${ms(point.p99)}.`;
}

function pictureSummary(nodes: NodeFigures[]): string {
  const down = nodes.filter((n) => n.state !== 'up' || n.partitioned);
  return `${nodes.length} nodes; ${down.length === 0 ? 'all up.' : `${down.map((n) => `${n.name} ${n.partitioned && n.state === 'up' ? 'cut off' : n.state}`).join(', ')}.`}`;
}

function describeAction(a: Action): string {
  const at = `At ${(a.at / 1000).toFixed(1)} s`;
  if (a.type === 'traffic') {
    const t = a.traffic;
    return 'rate' in t ? `${at}: traffic ${t.rate} requests per second to ${t.path}.` : `${at}: traffic ramps from ${t.from} to ${t.to} requests per second over ${t.over / 1000} s.`;
  }
  const f = a.fault;
  switch (f.op) {
    case 'partition': return `${at}: ${f.nodes.join(', ')} cut off.`;
    case 'heal': return `${at}: partitions healed.`;
    case 'slow-link': return `${at}: link ${f.from}–${f.to} slowed by ${f.ms} ms.`;
    case 'region-down': return `${at}: region ${f.region} down.`;
    case 'region-up': return `${at}: region ${f.region} back.`;
    default: return `${at}: ${f.op} ${f.node}.`;
  }
}
