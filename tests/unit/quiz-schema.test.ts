import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseQuiz, QUIZ_PASS_RATIO } from '../../src/schemas/quiz.ts';

const option = (id: string, correct: boolean) => ({ id, text: `Answer ${id}`, correct, explanation: `Why ${id}.` });
const question = (id: string) => ({ id, kind: 'single', prompt: `Question ${id}?`, options: [option('yes', true), option('no', false)] });

/** A valid quiz of six questions, to break one field at a time. */
function validQuiz() {
  return { chapter: '01-clones', questions: ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => question(`q-${id}`)) };
}

function messageOf(data: unknown, file = 'src/content/quizzes/01-clones.json'): string {
  try {
    parseQuiz(data, file);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the quiz to be refused');
}

describe('parseQuiz', () => {
  test('accepts a valid quiz', () => {
    expect(parseQuiz(validQuiz(), 'x.json').questions).toHaveLength(6);
    expect(QUIZ_PASS_RATIO).toBe(0.8);
  });

  test('a quiz holds the chapter and its lab: up to 14 questions, not 15', () => {
    const quiz = validQuiz();
    quiz.questions = Array.from({ length: 14 }, (_, i) => question(`q-${i}`));
    expect(parseQuiz(quiz, 'x.json').questions).toHaveLength(14);
    quiz.questions.push(question('q-14'));
    expect(messageOf(quiz)).toBe('src/content/quizzes/01-clones.json is not a valid quiz:\n  - questions: a quiz has at most 14 questions');
  });

  test('a question with no correct option names the file, the field and the question', () => {
    const quiz = validQuiz();
    quiz.questions[2]!.options = [option('yes', false), option('no', false)];
    expect(messageOf(quiz)).toBe('src/content/quizzes/01-clones.json is not a valid quiz:\n  - questions.2.options: question "q-c" has no correct option');
  });

  test('a duplicate question id names the second one', () => {
    const quiz = validQuiz();
    quiz.questions[4]!.id = 'q-a';
    expect(messageOf(quiz)).toBe('src/content/quizzes/01-clones.json is not a valid quiz:\n  - questions.4.id: duplicate question id "q-a"');
  });

  test('a duplicate option id names the option and its question', () => {
    const quiz = validQuiz();
    quiz.questions[1]!.options[1]!.id = 'yes';
    expect(messageOf(quiz)).toBe('src/content/quizzes/01-clones.json is not a valid quiz:\n  - questions.1.options.1.id: duplicate option id "yes" in question "q-b"');
  });

  test('a missing explanation names the option', () => {
    const quiz = validQuiz();
    delete (quiz.questions[0]!.options[1] as Partial<ReturnType<typeof option>>).explanation;
    expect(messageOf(quiz)).toBe('src/content/quizzes/01-clones.json is not a valid quiz:\n  - questions.0.options.1.explanation: every option needs an explanation');
  });

  test('every problem is listed, not only the first', () => {
    const quiz = validQuiz();
    quiz.questions[0]!.options = [option('yes', false), option('no', false)];
    (quiz.questions[3]!.options[0] as { explanation: string }).explanation = '';
    const message = messageOf(quiz);
    expect(message).toContain('questions.0.options: question "q-a" has no correct option');
    expect(message).toContain('questions.3.options.0.explanation: every option needs an explanation');
  });

  test('a predict question needs a scenario, and a single question only one right option', () => {
    const quiz = validQuiz();
    quiz.questions[0]!.kind = 'predict';
    quiz.questions[1]!.options = [option('yes', true), option('no', true)];
    const message = messageOf(quiz);
    expect(message).toContain('questions.0.scenario: question "q-a" is "predict" and needs a scenario');
    expect(message).toContain('questions.1.options: question "q-b" is "single" but has 2 correct options; use "multiple"');
  });

  test('too few questions', () => {
    const quiz = validQuiz();
    quiz.questions.length = 3;
    expect(messageOf(quiz)).toContain('questions: a quiz has at least 6 questions');
  });
});

describe('the course quizzes', () => {
  const dir = new URL('../../src/content/quizzes/', import.meta.url);
  const chapters = readdirSync(new URL('../../src/content/docs/chapters/', import.meta.url)).map((f) => f.replace(/\.mdx?$/, ''));

  test('every chapter has a quiz, and every quiz is valid and names its chapter', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([...chapters].sort());
    for (const file of files) {
      const quiz = parseQuiz(JSON.parse(readFileSync(new URL(file, dir), 'utf8')), `src/content/quizzes/${file}`);
      expect(quiz.chapter).toBe(file.replace(/\.json$/, ''));
    }
  });
});
