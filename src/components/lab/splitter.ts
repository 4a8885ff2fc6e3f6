/**
 * A separator between two regions of the workspace that the reader can move with the mouse (drag)
 * or the keyboard (arrows by 2 %, Shift + arrows by 10 %, Home and End to the limits), following
 * the WAI-ARIA window splitter pattern. The size is a percentage written to a CSS variable of the
 * container, so layout stays in CSS.
 */
import { h } from './dom.ts';

export interface SplitterOptions {
  /** The element whose size is split; the variable is set on it. */
  container: HTMLElement;
  /** The CSS custom property that holds the first region's share, e.g. `--lab-code-width`. */
  variable: string;
  /** `vertical`: a bar between left and right regions; `horizontal`: between top and bottom. */
  orientation: 'vertical' | 'horizontal';
  /** What the separator resizes, for screen readers, e.g. "Resize the editor". */
  label: string;
  /** The id of the region before the separator (the one whose size the value is). */
  controls: string;
  limits: readonly [number, number];
  value: number;
  /** Told of the final value after a drag or a key press, to remember it. */
  onChange: (value: number) => void;
}

export function createSplitter(o: SplitterOptions): HTMLElement {
  const [min, max] = o.limits;
  const bar = h('div', {
    role: 'separator',
    tabindex: '0',
    class: `lab-splitter lab-splitter-${o.orientation}`,
    'aria-orientation': o.orientation,
    'aria-label': o.label,
    'aria-controls': o.controls,
    'aria-valuemin': String(min),
    'aria-valuemax': String(max),
  });
  let value = o.value;
  const set = (next: number) => {
    value = Math.round(Math.min(max, Math.max(min, next)) * 10) / 10;
    o.container.style.setProperty(o.variable, `${value}%`);
    bar.setAttribute('aria-valuenow', String(Math.round(value)));
  };
  set(value);

  const vertical = o.orientation === 'vertical';
  bar.addEventListener('keydown', (event) => {
    const step = event.shiftKey ? 10 : 2;
    const moves: Record<string, number> = vertical ? { ArrowLeft: -step, ArrowRight: step } : { ArrowUp: -step, ArrowDown: step };
    let next: number | undefined;
    if (event.key in moves) next = value + moves[event.key]!;
    else if (event.key === 'Home') next = min;
    else if (event.key === 'End') next = max;
    if (next === undefined) return;
    event.preventDefault();
    set(next);
    o.onChange(value);
  });

  bar.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    bar.setPointerCapture(event.pointerId);
    bar.classList.add('lab-splitter-active');
    const move = (e: PointerEvent) => {
      const box = o.container.getBoundingClientRect();
      set(vertical ? ((e.clientX - box.left) / box.width) * 100 : ((e.clientY - box.top) / box.height) * 100);
    };
    const up = (e: PointerEvent) => {
      bar.releasePointerCapture(e.pointerId);
      bar.classList.remove('lab-splitter-active');
      bar.removeEventListener('pointermove', move);
      bar.removeEventListener('pointerup', up);
      bar.removeEventListener('pointercancel', up);
      o.onChange(value);
    };
    bar.addEventListener('pointermove', move);
    bar.addEventListener('pointerup', up);
    bar.addEventListener('pointercancel', up);
  });
  return bar;
}
