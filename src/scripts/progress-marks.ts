/**
 * Runs on every page with a sidebar: a progress mark beside each chapter in the sidebar (with text for
 * screen readers), the "read" record of a chapter (the reader reached the end of the lesson, or
 * pressed "Mark as read"), and the notice when stored progress could not be read and was set aside.
 */
import { isLabNews, isNews, summarize } from '../storage/progress.ts';
import { BASE, CHANGED, changed, courseInfo, progressStore } from '../components/quiz/client.ts';

const info = courseInfo();
const store = progressStore();
const LABEL = { done: ['✓', 'done'], 'in-progress': ['◐', 'in progress'] } as const;
let noticeShown = false;

function render(): void {
  if (!info) return;
  const progress = store.load();
  for (const link of document.querySelectorAll<HTMLElement>('a[data-chapter]')) {
    const chapter = info.chapters.find((c) => c.id === link.dataset.chapter);
    if (!chapter) continue;
    const { state } = summarize(chapter, progress.chapters[chapter.id], info.pass);
    let mark = link.querySelector<HTMLElement>('.progress-mark');
    if (!mark) {
      mark = document.createElement('span');
      mark.className = 'progress-mark';
      mark.dataset.testid = 'progress-mark';
      link.append(mark);
    }
    mark.dataset.state = state;
    const label = state === 'not-started' ? undefined : LABEL[state];
    mark.innerHTML = label ? `<span aria-hidden="true">${label[0]}</span><span class="sr-only">, ${label[1]}</span>` : '';
  }
  // A lab the reader had finished that gained a step: say which step, and since when.
  for (const note of document.querySelectorAll<HTMLElement>('[data-added-step]')) note.hidden = !isNews(JSON.parse(note.dataset.addedStep!), progress.chapters[note.dataset.chapter!]?.steps);
  // A chapter the reader had finished that gained a whole lab: say so, and since when.
  for (const note of document.querySelectorAll<HTMLElement>('[data-added-lab]')) {
    const chapter = info.chapters.find((c) => c.id === note.dataset.addedLab);
    note.hidden = !chapter || !isLabNews(chapter, progress.chapters[chapter.id], info.pass);
  }
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-mark-read]')) {
    const read = progress.chapters[button.dataset.markRead!]?.read;
    button.hidden = false;
    button.textContent = read ? '✓ Read' : 'Mark as read';
    button.setAttribute('aria-disabled', String(!!read));
    button.title = read ? `Marked as read on ${new Date(read).toLocaleDateString()}` : '';
  }
  if (store.setAside && !noticeShown) {
    noticeShown = true;
    const notice = document.createElement('div');
    notice.className = 'progress-notice';
    notice.setAttribute('role', 'status');
    notice.dataset.testid = 'progress-notice';
    notice.innerHTML =
      '<p>Your saved progress in this browser could not be read, so you start clean. Nothing was deleted: it was set aside under the key <code></code>. If you have an export file, import it on the <a>Progress page</a>.</p><button type="button">Dismiss</button>';
    notice.querySelector('code')!.textContent = store.setAside;
    notice.querySelector('a')!.href = `${BASE}progress/`;
    notice.querySelector('button')!.onclick = () => notice.remove();
    (document.querySelector('main') ?? document.body).prepend(notice);
  }
}

function markRead(chapter: string): void {
  const saved = store.markRead(chapter);
  if (saved) changed();
  // The record did not reach storage (full or blocked): say so beside the button, until a press works.
  const failed = !saved && store.lastSaveFailed && !store.load().chapters[chapter]?.read;
  for (const note of document.querySelectorAll<HTMLElement>('[data-mark-read-failed]')) note.hidden = !failed;
}

render();
addEventListener(CHANGED, render);
addEventListener('storage', (e) => e.key === store.key && render());
document.addEventListener('click', (e) => {
  const button = (e.target as Element).closest?.<HTMLElement>('[data-mark-read]');
  if (button) markRead(button.dataset.markRead!);
});

// The end of the lesson: once its last element has been on screen, the chapter counts as read.
const chapter = info?.current;
const last = document.querySelector('.sl-markdown-content')?.lastElementChild;
if (chapter && last && !store.load().chapters[chapter]?.read && 'IntersectionObserver' in window) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      observer.disconnect();
      markRead(chapter);
    }
  });
  observer.observe(last);
}
