/**
 * Makes the server-rendered quiz forms work: checks the answers, marks each question and shows
 * every option's explanation, announces the score (a live region), keeps the best score, and lets
 * the reader try again. Plain DOM, no framework: this runs on every chapter page.
 */
import { changed, progressStore } from './client.ts';

const pct = (score: number, total: number) => `${Math.round((score / total) * 100)} %`;

function enhance(root: HTMLElement): void {
  const chapter = root.dataset.quiz!;
  const pass = Number(root.dataset.pass);
  const form = root.querySelector('form')!;
  const questions = [...form.querySelectorAll<HTMLFieldSetElement>('.quiz-question')];
  const submit = form.querySelector<HTMLButtonElement>('[type="submit"]')!;
  const retry = form.querySelector<HTMLButtonElement>('.quiz-retry')!;
  const score = form.querySelector<HTMLElement>('.quiz-score')!;
  const inputs = [...form.querySelectorAll<HTMLInputElement>('input')];
  const total = questions.length;

  const bestText = () => {
    const best = progressStore().load().chapters[chapter]?.quiz;
    return best ? `Your best: ${best.score} of ${best.total} (${pct(best.score, best.total)})${best.score / best.total >= pass ? ', passed.' : `; ${pct(pass, 1)} passes.`}` : '';
  };

  const reset = () => {
    for (const q of questions) {
      delete q.dataset.result;
      q.querySelector<HTMLElement>('.quiz-verdict')!.hidden = true;
    }
    for (const input of inputs) {
      input.disabled = false;
      input.checked = false;
      input.removeAttribute('aria-describedby');
      const li = input.closest('li')!;
      delete li.dataset.mark;
      li.querySelector<HTMLElement>('.quiz-why')!.hidden = true;
    }
    submit.hidden = false;
    retry.hidden = true;
    score.textContent = bestText();
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const unanswered = questions.filter((q) => !q.querySelector('input:checked'));
    if (unanswered.length) {
      score.textContent = `Answer every question first: ${unanswered.length === 1 ? 'question' : 'questions'} ${unanswered.map((q) => questions.indexOf(q) + 1).join(', ')} ${unanswered.length === 1 ? 'has' : 'have'} no answer yet.`;
      unanswered[0]!.querySelector('input')!.focus();
      return;
    }
    let right = 0;
    for (const q of questions) {
      let ok = true;
      for (const li of q.querySelectorAll<HTMLElement>('li')) {
        const correct = li.hasAttribute('data-correct');
        const input = li.querySelector('input')!;
        const why = li.querySelector<HTMLElement>('.quiz-why')!;
        const chosen = input.checked;
        if (chosen !== correct) ok = false;
        li.dataset.mark = correct ? (chosen ? 'right' : 'missed') : chosen ? 'wrong' : 'other';
        why.querySelector('.quiz-tag')!.textContent = correct ? (chosen ? 'Right, you chose it.' : 'A right answer you did not choose.') : chosen ? 'Not right, you chose it.' : 'Not right.';
        why.hidden = false;
        input.setAttribute('aria-describedby', why.id);
      }
      if (ok) right++;
      q.dataset.result = ok ? 'right' : 'wrong';
      const verdict = q.querySelector<HTMLElement>('.quiz-verdict')!;
      verdict.dataset.result = q.dataset.result;
      verdict.textContent = ok ? 'Right.' : 'Not quite: see why under each answer.';
      verdict.hidden = false;
    }
    for (const input of inputs) input.disabled = true;
    progressStore().recordQuiz(chapter, right, total);
    changed();
    submit.hidden = true;
    retry.hidden = false;
    score.textContent = `You got ${right} of ${total} right (${pct(right, total)}). ${bestText()}`;
    retry.focus();
  });

  retry.addEventListener('click', () => {
    reset();
    inputs[0]?.focus();
  });

  reset();
}

export function enhanceQuizzes(): void {
  for (const root of document.querySelectorAll<HTMLElement>('[data-testid="quiz"]')) enhance(root);
}
