/**
 * How the reader likes the lab laid out, kept per site: in the whole window (the workspace) or in
 * the page, and the sizes of the workspace's regions. A preference, not work: a value that cannot
 * be read or written is simply the default, with nothing to warn about.
 */

export type LabLayoutMode = 'workspace' | 'page';

export interface LabLayout {
  mode: LabLayoutMode;
  /** Share of the width given to the files and editor, in percent. */
  codeWidth: number;
  /** Share of the side column's height given to the steps (the rest: console, cluster), in percent. */
  stepsHeight: number;
}

export const DEFAULT_LAB_LAYOUT: LabLayout = { mode: 'workspace', codeWidth: 68, stepsHeight: 60 };

/** The limits of each size, so no region can be dragged out of sight. */
export const LAB_LAYOUT_LIMITS = { codeWidth: [30, 82], stepsHeight: [15, 85] } as const;

export function labLayoutKey(base: string): string {
  return `scale-lab:${base}:lab-layout`;
}

function clamp(value: unknown, [min, max]: readonly [number, number], fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

export class LabLayoutStore {
  readonly #storage: Storage;
  readonly #key: string;

  constructor(storage: Storage, base: string) {
    this.#storage = storage;
    this.#key = labLayoutKey(base);
  }

  load(): LabLayout {
    let raw: Partial<LabLayout> = {};
    try {
      const parsed: unknown = JSON.parse(this.#storage.getItem(this.#key) ?? '{}');
      if (typeof parsed === 'object' && parsed !== null) raw = parsed as Partial<LabLayout>;
    } catch {
      // Not ours or unreadable: the defaults.
    }
    return {
      mode: raw.mode === 'page' || raw.mode === 'workspace' ? raw.mode : DEFAULT_LAB_LAYOUT.mode,
      codeWidth: clamp(raw.codeWidth, LAB_LAYOUT_LIMITS.codeWidth, DEFAULT_LAB_LAYOUT.codeWidth),
      stepsHeight: clamp(raw.stepsHeight, LAB_LAYOUT_LIMITS.stepsHeight, DEFAULT_LAB_LAYOUT.stepsHeight),
    };
  }

  update(change: Partial<LabLayout>): LabLayout {
    const next = { ...this.load(), ...change };
    try {
      this.#storage.setItem(this.#key, JSON.stringify(next));
    } catch {
      // Storage full or blocked: the layout lasts this page only.
    }
    return next;
  }
}
