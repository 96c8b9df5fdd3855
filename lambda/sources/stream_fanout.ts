/**
 * A backpressured tee: one byte stream read once and delivered to several
 * consumers, reading the next chunk only when every consumer has asked for
 * one. Unlike `ReadableStream.prototype.tee`, whose faster branch makes the
 * slower one queue without limit, memory stays bounded by one chunk per branch
 * whatever the stream's length — the slowest consumer sets the pace.
 *
 * @module
 */

/** The branches of {@linkcode fanOut}, and a way to stop them all. */
export interface FanOut {
  /** One stream per consumer; each sees every chunk of the source. */
  branches: ReadableStream<Uint8Array>[];
  /** Errors every branch with `reason` and cancels the source (no-op once finished). */
  abort(reason: unknown): Promise<void>;
}

interface Branch {
  controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  active: boolean;
  /** Resolves the branch's pending pull. */
  waiting: (() => void) | undefined;
}

/**
 * Splits `source` into `count` streams that each see every chunk. Cancelling
 * one branch leaves the others running; cancelling every branch cancels the
 * source; an error of the source errors every branch.
 */
export function fanOut(
  source: ReadableStream<Uint8Array>,
  count: number,
): FanOut {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`fanOut needs at least one branch, got ${count}`);
  }
  const reader = source.getReader();
  const branches: Branch[] = [];
  const streams: ReadableStream<Uint8Array>[] = [];
  let reading = false;
  let finished = false;

  const active = () => branches.filter((branch) => branch.active);

  const finishAll = (error?: unknown) => {
    finished = true;
    for (const branch of active()) {
      try {
        if (error === undefined) branch.controller?.close();
        else branch.controller?.error(error);
      } catch {
        // The branch was already closed or errored by its consumer.
      }
      const resolve = branch.waiting;
      branch.waiting = undefined;
      resolve?.();
    }
  };

  const pump = async () => {
    const live = active();
    if (reading || finished || live.length === 0) return;
    if (!live.every((branch) => branch.waiting !== undefined)) return;
    reading = true;
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch (error) {
      reading = false;
      finishAll(error);
      return;
    }
    reading = false;
    if (result.done) {
      finishAll();
      return;
    }
    for (const branch of active()) {
      branch.controller?.enqueue(result.value);
      const resolve = branch.waiting;
      branch.waiting = undefined;
      resolve?.();
    }
  };

  for (let index = 0; index < count; index++) {
    const branch: Branch = { controller: undefined, active: true, waiting: undefined };
    branches.push(branch);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        branch.controller = controller;
      },
      pull() {
        if (finished) return;
        return new Promise<void>((resolve) => {
          branch.waiting = resolve;
          void pump();
        });
      },
      async cancel(reason) {
        branch.active = false;
        const resolve = branch.waiting;
        branch.waiting = undefined;
        resolve?.();
        if (active().length === 0 && !finished) {
          finished = true;
          await reader.cancel(reason);
        } else {
          void pump();
        }
      },
    }, new CountQueuingStrategy({ highWaterMark: 1 }));
    streams.push(stream);
  }
  return {
    branches: streams,
    async abort(reason: unknown) {
      if (finished) return;
      finishAll(reason);
      await reader.cancel(reason).catch(() => {});
    },
  };
}
