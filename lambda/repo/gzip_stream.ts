/**
 * gzip fed in slices, so that a large index is compressed while it is still
 * being written (`lambda/repo/indexes.ts`), off the JavaScript thread.
 *
 * - In Node (the Lambda), a `node:zlib` stream: each slice is deflated on the
 *   libuv thread pool.
 * - Where the runtime has Web Workers (Deno: the `local` environment, the
 *   tests, the benchmarks), the same `node:zlib` stream runs in a worker
 *   (`lambda/repo/gzip_worker.ts`), since Deno's `node:zlib` deflates on the
 *   calling thread. A worker costs a few tens of milliseconds to start (on
 *   its own thread), so {@linkcode gzip} of `lambda/repo/compress.ts` uses
 *   one only for inputs of at least {@linkcode GZIP_SLICE} bytes.
 *
 * The output is the bytes of a one-shot gzip of the whole input, provided
 * every slice but the last is exactly {@linkcode GZIP_SLICE} bytes: Node's
 * deflate gives the same output however its input is cut, Deno's only when
 * the cuts fall on 64 KiB boundaries (`tests/unit/gzip_stream_test.ts` checks
 * both against the one-shot `gzip`).
 *
 * @module
 */

import { createGzip, type Gzip } from "node:zlib";

/** The size of every slice but the last: 1 MiB (a multiple of 64 KiB; see the module notes). */
export const GZIP_SLICE = 1024 * 1024;

/** A gzip compression fed in slices. */
export interface GzipStream {
  /**
   * Adds `slice`, which the caller must not change afterwards. Every slice
   * but the last must be {@linkcode GZIP_SLICE} bytes.
   */
  write(slice: Uint8Array): void;
  /** Ends the input and resolves to the whole `.gz` file. */
  finish(): Promise<Uint8Array>;
  /** Stops the compression and frees its thread; `finish` is not called after it. */
  abort(): void;
}

/** Options of {@linkcode gzipStream}. */
export interface GzipStreamOptions {
  /** The gzip level, 0–9. */
  level: number;
  /**
   * Where to deflate: `"auto"` (default) in a worker when the runtime has Web
   * Workers, otherwise with `node:zlib` (the thread pool, in Node);
   * `"zlib"` always with `node:zlib` (what the worker itself uses).
   */
  runner?: "auto" | "zlib";
}

/**
 * Starts a gzip compression at `options.level` (no file name, mtime 0): in
 * Node on the thread pool, elsewhere in a Web Worker when there is one (see
 * the module notes).
 *
 * @example
 * ```ts
 * const gz = gzipStream({ level: 6 });
 * for (const slice of slices) gz.write(slice);
 * const bytes = await gz.finish();
 * ```
 */
export function gzipStream(options: GzipStreamOptions): GzipStream {
  const runner = options.runner ?? "auto";
  if (runner === "auto" && typeof Worker === "function") return workerGzip(options.level);
  return zlibGzip(options.level);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** A `node:zlib` gzip stream, with output chunks of one slice (fewer trips from the thread pool). */
function zlibGzip(level: number): GzipStream {
  const stream: Gzip = createGzip({ level, chunkSize: GZIP_SLICE });
  const parts: Uint8Array[] = [];
  stream.on("data", (chunk: Uint8Array) => parts.push(chunk));
  const ended = new Promise<Uint8Array>((resolve, reject) => {
    stream.on("end", () => resolve(concat(parts)));
    stream.on("error", reject);
    // After "end" this changes nothing; before it, the stream was aborted.
    stream.on("close", () => reject(new Error("The gzip stream was aborted")));
  });
  // A stream nobody finishes (aborted) must not leave an unhandled rejection.
  ended.catch(() => {});
  return {
    write(slice) {
      stream.write(slice);
    },
    finish() {
      stream.end();
      return ended;
    },
    abort() {
      stream.destroy();
    },
  };
}

/** What the main thread sends to `lambda/repo/gzip_worker.ts`. */
export type GzipWorkerRequest =
  | { type: "start"; level: number }
  | { type: "write"; slice: Uint8Array }
  | { type: "end" };

/** What `lambda/repo/gzip_worker.ts` answers, once. */
export type GzipWorkerAnswer = { type: "done"; bytes: Uint8Array } | {
  type: "error";
  message: string;
};

/** The same `node:zlib` stream, in a Web Worker (Deno), which is ended after one file. */
function workerGzip(level: number): GzipStream {
  const worker = new Worker(new URL("./gzip_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const post = (request: GzipWorkerRequest, transfer: Transferable[] = []) =>
    worker.postMessage(request, transfer);
  const done = new Promise<Uint8Array>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<GzipWorkerAnswer>) => {
      worker.terminate();
      if (event.data.type === "done") resolve(event.data.bytes);
      else reject(new Error(`gzip failed in its worker: ${event.data.message}`));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      worker.terminate();
      reject(new Error(`gzip failed in its worker: ${event.message}`));
    };
  });
  done.catch(() => {});
  post({ type: "start", level });
  return {
    write(slice) {
      // A copy of its own, moved rather than cloned (cloning a view would
      // copy the whole buffer it views).
      const copy = slice.slice();
      post({ type: "write", slice: copy }, [copy.buffer]);
    },
    finish() {
      post({ type: "end" });
      return done;
    },
    abort() {
      worker.terminate();
    },
  };
}

/**
 * Runs {@linkcode gzipStream} with the `"zlib"` runner for the requests of
 * one worker (see `lambda/repo/gzip_worker.ts`): answers through `answer`
 * once the stream ends or fails.
 */
export function serveGzipRequests(
  answer: (message: GzipWorkerAnswer, transfer: Transferable[]) => void,
): (request: GzipWorkerRequest) => void {
  let stream: GzipStream | undefined;
  const fail = (error: unknown) =>
    answer({ type: "error", message: error instanceof Error ? error.message : String(error) }, []);
  return (request) => {
    try {
      if (request.type === "start") {
        stream = gzipStream({ level: request.level, runner: "zlib" });
      } else if (stream === undefined) {
        throw new Error(`gzip worker got "${request.type}" before "start"`);
      } else if (request.type === "write") {
        stream.write(request.slice);
      } else {
        stream.finish().then(
          (bytes) => answer({ type: "done", bytes }, [bytes.buffer as ArrayBuffer]),
          fail,
        );
      }
    } catch (error) {
      fail(error);
    }
  };
}
