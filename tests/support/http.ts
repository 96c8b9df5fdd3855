/**
 * A static file server on 127.0.0.1 for tests that point real clients (apt)
 * at a folder: decodes percent-encoded paths the way S3/CloudFront do (apt asks
 * for `%3a`, `%7e`, `%2b`), answers 404 for what is not a file, logs every
 * request, and lets a test change or replace any response (fault injection).
 *
 * @module
 */

/** One request the server answered. */
export interface ServedRequest {
  method: string;
  /** The path as the client sent it, e.g. `/pool/main/k/kiro/kiro_1%3a2.0_amd64.deb`. */
  rawPath: string;
  /** The decoded path, e.g. `/pool/main/k/kiro/kiro_1:2.0_amd64.deb`. */
  path: string;
  status: number;
}

/**
 * Changes what the server sends for a file: return other bytes, a whole
 * `Response` (e.g. `new Response(null, { status: 500 })`), or `undefined` to
 * send the file as it is. `path` is decoded and starts with `/`.
 */
export type ResponseTransform = (
  path: string,
  bytes: Uint8Array,
) => Uint8Array | Response | undefined | Promise<Uint8Array | Response | undefined>;

/** Options of {@linkcode serveDirectory}. */
export interface ServeDirectoryOptions {
  /** Applied to every file found (missing files are 404 before this). */
  transform?: ResponseTransform;
}

/** A running server; `close()` it (in a `finally`) when the test is done. */
export interface DirectoryServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  /** The decoded paths of the GET and HEAD requests, in order. */
  requests: string[];
  /** Every request, with its raw path and status. */
  log: ServedRequest[];
  /** Replaces (or, with `undefined`, removes) the response transform. */
  setTransform(transform: ResponseTransform | undefined): void;
  /** Stops the server and waits until it has stopped. */
  close(): Promise<void>;
}

/**
 * Serves the files under `root` on 127.0.0.1 at a free port.
 *
 * @example
 * ```ts
 * const server = serveDirectory(repoDir);
 * try { await aptUpdate({ repoUrl: server.url, … }); } finally { await server.close(); }
 * ```
 */
export function serveDirectory(root: string, options: ServeDirectoryOptions = {}): DirectoryServer {
  const base = root.replace(/\/+$/, "");
  let transform = options.transform;
  const requests: string[] = [];
  const log: ServedRequest[] = [];

  const answer = async (request: Request): Promise<Response> => {
    const rawPath = new URL(request.url).pathname;
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return new Response("Bad percent-encoding\n", { status: 400 });
    }
    const record = (status: number) => log.push({ method: request.method, rawPath, path, status });
    if (request.method !== "GET" && request.method !== "HEAD") {
      record(405);
      return new Response("Method not allowed\n", { status: 405, headers: { Allow: "GET, HEAD" } });
    }
    requests.push(path);
    if (path.includes("\0") || path.split("/").some((part) => part === "..")) {
      record(400);
      return new Response("Bad path\n", { status: 400 });
    }
    let bytes: Uint8Array;
    try {
      const info = await Deno.stat(base + path);
      if (!info.isFile) throw new Deno.errors.NotFound(path);
      bytes = await Deno.readFile(base + path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
      record(404);
      return new Response("Not found\n", { status: 404 });
    }
    const changed = transform === undefined ? undefined : await transform(path, bytes);
    if (changed instanceof Response) {
      record(changed.status);
      return changed;
    }
    const body = changed ?? bytes;
    record(200);
    return new Response(request.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(body.length),
      },
    });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, answer);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    log,
    setTransform(next) {
      transform = next;
    },
    async close() {
      await server.shutdown();
    },
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a server a child process starts). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
