/**
 * What the chapter and the Progress page say when a chapter the reader had finished shows as in
 * progress again. Apart from progress.ts, which every page loads: the chapter renders these at build
 * time and only the Progress page writes them in the browser.
 */
import type { AddedStep, ChapterInfo } from './progress.ts';

/** A step added to a lab the reader had finished. */
export const addedStepMessage = (step: AddedStep): string =>
  `Step ${step.number} “${step.title}” was added on ${step.on}, after you had finished this lab: the chapter shows as in progress until you pass it.`;

/** A lab added to a chapter the reader had finished by reading it and passing its quiz. */
export const addedLabMessage = (info: ChapterInfo): string =>
  `New since you finished this chapter: a lab with ${info.steps.length} ${info.steps.length === 1 ? 'step' : 'steps'}, added on ${info.labAdded?.on}. The chapter shows as in progress until you pass ${info.steps.length === 1 ? 'it' : 'them'}.`;
