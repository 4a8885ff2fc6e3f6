/**
 * The TypeScript libraries the editor type-checks lab code against. Lab code runs in a Worker (or
 * Node), never in a page: the language and the worker's web APIs (fetch, Request, Response, URL,
 * timers), without the DOM. The build ships only these (and what they reference) to the editor's
 * TypeScript worker, which saves about 290 KB gzipped over Monaco's full set.
 */
export const EDITOR_TS_LIBS = ['es2023', 'webworker', 'webworker.iterable'] as const;
