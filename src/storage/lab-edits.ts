/**
 * Autosave of a reader's lab edits, in localStorage, one entry per lab. This format is versioned:
 * progress export/import builds on it, so change it only with a new `format` and a migration.
 */

export const LAB_EDITS_FORMAT = 1;

export interface SavedFile {
  text: string;
  /** When the reader last changed this file (ms since the epoch). */
  savedAt: number;
}

export interface SavedLab {
  format: typeof LAB_EDITS_FORMAT;
  lab: string;
  /** The bundle version of the starter the edits were made on. */
  starterVersion: string;
  /** That starter's editable files, so a newer starter can be shown as a diff. */
  starter: Record<string, string>;
  /** The reader's files, only those they edited. */
  files: Record<string, SavedFile>;
}

/** The storage key of a lab; it includes the site's base path, so two courses on one origin stay apart. */
export function labEditsKey(base: string, lab: string): string {
  return `scale-lab:${base}:lab-edits:${lab}`;
}

function isSavedLab(value: unknown, lab: string): value is SavedLab {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<SavedLab>;
  return (
    v.format === LAB_EDITS_FORMAT &&
    v.lab === lab &&
    typeof v.starterVersion === 'string' &&
    typeof v.starter === 'object' && v.starter !== null &&
    typeof v.files === 'object' && v.files !== null &&
    Object.values(v.files).every((f) => typeof f?.text === 'string' && typeof f.savedAt === 'number')
  );
}

/** Why a save did not happen: the reader's edits are only in the editor until a save succeeds. */
export class LabSaveError extends Error {
  override name = 'LabSaveError';
}

export const STORAGE_FULL_ADVICE = 'Export your work from the Progress page, or free some storage for this site, to keep it across reloads.';

export interface LoadedLab {
  saved?: SavedLab;
  /** The key an unreadable value was moved to; only when it really was written there. */
  setAside?: string;
  /** An unreadable value could not be moved aside (storage full): it stays, and nothing is saved over it. */
  blocked?: boolean;
}

export class LabEditsStore {
  readonly #storage: Storage;
  readonly #lab: string;
  /** The storage key; `storage` events for it come from other tabs. */
  readonly key: string;

  constructor(storage: Storage, base: string, lab: string) {
    this.#storage = storage;
    this.key = labEditsKey(base, lab);
    this.#lab = lab;
  }

  /** The saved edits, or undefined. A value that is not ours is set aside (kept under another key), never deleted or overwritten. */
  load(): LoadedLab {
    const raw = this.#storage.getItem(this.key);
    if (raw === null) return {};
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isSavedLab(parsed, this.#lab)) return { saved: parsed };
    } catch {
      // fall through: not JSON
    }
    const aside = `${this.key}:set-aside:${Date.now()}`;
    try {
      this.#storage.setItem(aside, raw);
    } catch {
      // Storage full or blocked: the value stays where it is, and saves must not replace it.
      return { blocked: true };
    }
    this.#storage.removeItem(this.key);
    return { setAside: aside };
  }

  /** Saves one file's text; the first save records the starter it was based on. Throws LabSaveError when nothing could be saved. */
  save(file: string, text: string, starter: { version: string; files: Record<string, string> }, now = Date.now()): void {
    const loaded = this.load();
    if (loaded.blocked) {
      throw new LabSaveError(`Your edits are not being saved: saved edits for this lab that this page cannot read are in the way, and this browser has no room to keep them aside. ${STORAGE_FULL_ADVICE}`);
    }
    const current = loaded.saved ?? {
      format: LAB_EDITS_FORMAT,
      lab: this.#lab,
      starterVersion: starter.version,
      starter: starter.files,
      files: {},
    };
    current.files[file] = { text, savedAt: now };
    this.#write(current);
  }

  /** Marks the reader as having seen the new starter (after the notice), keeping their edits. */
  acknowledgeStarter(starter: { version: string; files: Record<string, string> }): void {
    const current = this.load().saved;
    if (!current) return;
    current.starterVersion = starter.version;
    current.starter = starter.files;
    try {
      this.#write(current);
    } catch {
      // The notice comes back next time: nothing is lost.
    }
  }

  /** Forgets every edit: Reset is the only caller. */
  clear(): void {
    this.#storage.removeItem(this.key);
  }

  #write(value: SavedLab): void {
    try {
      this.#storage.setItem(this.key, JSON.stringify(value));
    } catch (err) {
      throw new LabSaveError(`Your last edits could not be saved in this browser (${(err as Error).message}). They are still in the editor, but a reload would lose them. ${STORAGE_FULL_ADVICE}`);
    }
  }
}
