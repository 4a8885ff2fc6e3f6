/**
 * Driving virtual time: a test awaits work that waits on the cluster's clock, and the driver moves
 * the clock forward whenever every pending promise has settled and the work is still waiting.
 * One drive at a time: work started inside a drive joins it.
 */
import { settle, type VirtualClock } from './clock.ts';

export class Driver {
  readonly #clock: VirtualClock | undefined;
  readonly #maxRunTime: number;
  #driving = false;

  /** `clock` undefined means real time: work simply runs. */
  constructor(clock: VirtualClock | undefined, maxRunTime: number) {
    this.#clock = clock;
    this.#maxRunTime = maxRunTime;
  }

  /**
   * Runs `work` to completion, moving virtual time forward whenever every pending promise has
   * settled and the work is still waiting on a timer. Nested calls share the outer drive.
   */
  async run<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    const clock = this.#clock;
    if (!clock || this.#driving) return typeof work === 'function' ? work() : work;
    // Claim the drive before starting the work, so requests it starts join this drive.
    this.#driving = true;
    let promise: Promise<T>;
    try {
      promise = typeof work === 'function' ? work() : work;
    } catch (err) {
      this.#driving = false;
      throw err;
    }
    let done = false;
    promise.then(() => (done = true), () => (done = true));
    const deadline = clock.now() + this.#maxRunTime;
    try {
      let idle = 0;
      while (!done) {
        await settle();
        if (done) break;
        const due = clock.nextDue();
        if (due !== undefined) {
          if (due > deadline) {
            throw new Error(`Stopped after ${this.#maxRunTime / 1000} s of cluster time and the work was still not finished: does a request wait forever, or a loop never end?`);
          }
          clock.fireNext();
          idle = 0;
        } else if (++idle > 50) {
          throw new Error('The work is waiting on a promise that will never settle: nothing is scheduled on the clock and nothing else is pending.');
        }
      }
    } finally {
      this.#driving = false;
    }
    return promise;
  }

  /** Lets `ms` of time pass, firing timers on the way (inside a drive, just waits). */
  async sleep(ms: number, sleepOn: (ms: number) => Promise<void>): Promise<void> {
    if (!this.#clock || this.#driving) return sleepOn(ms);
    this.#driving = true;
    try {
      await this.#clock.advance(ms);
    } finally {
      this.#driving = false;
    }
  }
}
