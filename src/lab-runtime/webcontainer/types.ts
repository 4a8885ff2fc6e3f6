/**
 * The part of `@webcontainer/api` the runtime uses, as plain interfaces: the real WebContainer
 * satisfies them (checked in boot.ts), and tests pass a fake without loading StackBlitz.
 */

/** Same shape as the API's FileSystemTree: `{ file: { contents } }` or `{ directory: { … } }`. */
export interface FileSystemTree {
  [name: string]: { file: { contents: string | Uint8Array } } | { directory: FileSystemTree };
}

export interface WebContainerProcessLike {
  /** Everything the process writes to stdout and stderr, through a terminal (so `\r\n` line ends). */
  readonly output: ReadableStream<string>;
  readonly exit: Promise<number>;
  kill(): void;
}

export interface SpawnOptionsLike {
  cwd?: string;
  env?: Record<string, string | number | boolean>;
  terminal?: { cols: number; rows: number };
}

export interface WebContainerLike {
  mount(tree: FileSystemTree, options?: { mountPoint?: string }): Promise<void>;
  spawn(command: string, args: string[], options?: SpawnOptionsLike): Promise<WebContainerProcessLike>;
  on(event: 'server-ready', listener: (port: number, url: string) => void): () => void;
  on(event: 'error', listener: (error: { message: string }) => void): () => void;
  teardown(): void;
  readonly fs: {
    writeFile(path: string, data: string | Uint8Array): Promise<void>;
    readFile(path: string, encoding: 'utf-8'): Promise<string>;
    mkdir(path: string, options: { recursive: true }): Promise<unknown>;
    rm(path: string, options?: { force?: boolean; recursive?: boolean }): Promise<void>;
  };
}
