/**
 * Browser side, shared by the quiz, the sidebar marks and the progress pages: one ProgressStore per
 * page over localStorage (or memory, where the browser blocks storage), the course info the server
 * embedded, and a "progress changed" event. Kept small: it runs on every page.
 */
import { ProgressStore, type CourseInfo } from '../../storage/progress.ts';

/** The site's base path with a trailing slash: the same normalisation as the lab edits' keys. */
export const BASE = import.meta.env.BASE_URL.endsWith('/') ? import.meta.env.BASE_URL : `${import.meta.env.BASE_URL}/`;

/** Fired on window whenever this page changed the reader's progress. */
export const CHANGED = 'scale-lab:progress';

/** localStorage, or a memory stand-in where the browser refuses it (progress then lasts one page). */
export function browserStorage(): Storage {
  try {
    localStorage.getItem('');
    return localStorage;
  } catch {
    const m = new Map<string, string>();
    return {
      get length() {
        return m.size;
      },
      key: (i: number) => [...m.keys()][i] ?? null,
      getItem: (k: string) => m.get(k) ?? null,
      setItem: (k: string, v: string) => void m.set(k, String(v)),
      removeItem: (k: string) => void m.delete(k),
      clear: () => m.clear(),
    };
  }
}

let store: ProgressStore | undefined;
export const progressStore = (): ProgressStore => (store ??= new ProgressStore(browserStorage(), BASE));

export const changed = (): void => void dispatchEvent(new Event(CHANGED));

/** The course info embedded by the Sidebar (or a progress page) as JSON in #scale-lab-course. */
export function courseInfo(): (CourseInfo & { current?: string }) | undefined {
  const el = document.getElementById('scale-lab-course');
  try {
    return el ? { ...(JSON.parse(el.textContent!) as CourseInfo), current: el.dataset.current } : undefined;
  } catch {
    return undefined;
  }
}
