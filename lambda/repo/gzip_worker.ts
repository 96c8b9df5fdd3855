/**
 * The Web Worker of `lambda/repo/gzip_stream.ts`: deflates one file's slices
 * with `node:zlib` on its own thread and answers with the `.gz` bytes. Only
 * runtimes with Web Workers (Deno) start it; the Lambda's Node deflates on
 * its thread pool instead.
 *
 * @module
 */

import { type GzipWorkerRequest, serveGzipRequests } from "./gzip_stream.ts";

interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<GzipWorkerRequest>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const serve = serveGzipRequests((message, transfer) => scope.postMessage(message, transfer));
scope.onmessage = (event) => serve(event.data);
