/**
 * Safe HTTP downloads for the sources: https only (plain http only to loopback
 * hosts, so that local fakes work), redirects followed up to a limit with the
 * scheme re-checked at every hop, a timeout for the response headers and for
 * every read of the body, an overall deadline for the whole download (a server
 * that drips bytes never trips the per-read timeout), a maximum size, and
 * truncation detection. Bodies are
 * streamed: nothing here holds a whole download in memory.
 *
 * @module
 */

import { readAllBytes } from "../bytes.ts";
import { redactUrl, redactUrls } from "../redact.ts";

/** A URL the sources refuse to fetch (scheme, host, or file name). */
export class UnsafeUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsafeUrlError";
  }
}

/** A download failed: HTTP status, network, timeout, truncation or size limit. */
export class FetchError extends Error {
  /** The HTTP status, when the server answered with an error status. */
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FetchError";
    this.status = options.status;
  }
}

/** A download is larger than allowed. */
export class SizeLimitError extends FetchError {
  constructor(message: string) {
    super(message);
    this.name = "SizeLimitError";
  }
}

/** Defaults of {@linkcode safeFetch}. */
export const FETCH_DEFAULTS = {
  maxRedirects: 5,
  timeoutMs: 60_000,
  /**
   * The whole download of a `.deb`, headers to last byte (`source.deadline_seconds`):
   * 600 MB at a slow but honest 1 MB/s, which leaves the Lambda (900 s) time
   * for the other sources and the publish.
   */
  deadlineMs: 600_000,
} as const;

const USER_AGENT = "kiro-apt-repo-manager (+https://kiro.dev)";

/** Whether `hostname` (as `URL.hostname` gives it) is a loopback address: 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === "[::1]" || hostname === "::1") return true;
  const match = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return match !== null && match.slice(1).every((part) => Number(part) <= 255);
}

/**
 * Parses `url` and checks that the sources may fetch it: `https:`, or `http:`
 * to a loopback host. `what` names the URL in messages ("feed", "the .deb").
 */
export function checkUrl(url: string, options: { what: string }): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsafeUrlError(`Refusing ${options.what} ${JSON.stringify(url)}: not a URL`);
  }
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname)) return parsed;
  if (parsed.protocol === "http:") {
    throw new UnsafeUrlError(
      `Refusing ${options.what} ${
        redactUrl(url)
      }: plain http:// is only allowed to loopback hosts; use https://`,
    );
  }
  throw new UnsafeUrlError(
    `Refusing ${options.what} ${
      redactUrl(url)
    }: scheme ${parsed.protocol} is not allowed; use https://`,
  );
}

/**
 * The `.deb` file name of a download URL: the last path segment, decoded. It
 * must end in `.deb` and hold no `/`, `\`, `..`, control characters or other
 * characters outside `[A-Za-z0-9._+~:%-]`.
 */
export function debFilename(url: string): string {
  const parsed = new URL(url);
  const raw = parsed.pathname.split("/").pop() ?? "";
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new UnsafeUrlError(
      `Refusing the .deb ${redactUrl(url)}: its file name is not valid percent-encoding`,
    );
  }
  if (name.includes("/") || name.includes("\\") || name.includes("..")) {
    throw new UnsafeUrlError(
      `Refusing the .deb ${redactUrl(url)}: its file name ${
        JSON.stringify(name)
      } contains a path (/, \\ or ..)`,
    );
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._+~:-]*\.deb$/.test(name)) {
    throw new UnsafeUrlError(
      `Refusing the .deb ${redactUrl(url)}: file name ${
        JSON.stringify(name)
      } must end in .deb and use only letters, digits and . _ + ~ : -`,
    );
  }
  return name;
}

/** Options of {@linkcode safeFetch}. */
export interface SafeFetchOptions {
  /** What is fetched, for messages ("feed", ".deb", "certificate"). */
  what: string;
  /** Largest body accepted, in bytes (default: unlimited). */
  maxBytes?: number;
  /** Timeout for the response headers and for every body read (ms). */
  timeoutMs?: number;
  /** Deadline for the whole download, headers to last byte (ms). Default: none. */
  deadlineMs?: number;
  maxRedirects?: number;
  headers?: Record<string, string>;
  /** The fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** A successful response whose body is guarded by the size limit and the read timeout. */
export interface FetchedBody {
  /** The URL that answered (after redirects). */
  url: string;
  status: number;
  headers: Headers;
  /** The declared length, when the server sent one for an unencoded body. */
  contentLength: number | undefined;
  /** The body; read it to the end or cancel it. */
  body: ReadableStream<Uint8Array>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const NETWORK_CAUSES: readonly { pattern: RegExp; cause: string }[] = [
  {
    pattern:
      /ENOTFOUND|EAI_AGAIN|EAI_NONAME|dns error|failed to lookup|name or service not known|name resolution/i,
    cause: "the host name was not resolved (DNS); check the URL's host and the network",
  },
  {
    pattern: /ECONNREFUSED|connection refused/i,
    cause: "the connection was refused; check that the server is up and the port is right",
  },
  {
    pattern: /CERT|ERR_TLS|ERR_SSL|tls|ssl|certificate|handshake/i,
    cause: "the TLS connection failed (certificate or handshake); check the server's certificate",
  },
  {
    pattern: /ETIMEDOUT|timed out|timeout/i,
    cause: "the connection timed out; check the network",
  },
  {
    pattern: /ECONNRESET|EPIPE|connection reset|connection closed|broken pipe/i,
    cause: "the server closed the connection",
  },
  {
    pattern: /ENETUNREACH|EHOSTUNREACH|network is unreachable|no route to host/i,
    cause: "the network is unreachable; check the machine's connection",
  },
];

/**
 * What a network error was, in words an operator can act on (name not
 * resolved, connection refused, TLS, timeout, …), with the runtime's own
 * detail: Node says only "fetch failed" and keeps the reason in `cause`.
 */
export function networkCause(error: unknown): string {
  const details: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      details.push(typeof code === "string" ? `${code} ${current.message}` : current.message);
      current = current.cause;
    } else {
      details.push(String(current));
      break;
    }
  }
  const text = details.join(": ");
  const detail = redactUrls(details.at(-1) ?? "");
  const known = NETWORK_CAUSES.find((candidate) => candidate.pattern.test(text));
  return known === undefined ? `network error (${detail})` : `${known.cause} (${detail})`;
}

/**
 * Fetches `url` (GET) following redirects safely; resolves when a 2xx response
 * arrives, with its body wrapped so that reading it enforces `maxBytes`, the
 * read timeout, and the declared `Content-Length`. Throws {@linkcode FetchError}
 * for error statuses, network errors and timeouts, {@linkcode UnsafeUrlError}
 * for a refused URL.
 */
export async function safeFetch(url: string, options: SafeFetchOptions): Promise<FetchedBody> {
  const timeoutMs = options.timeoutMs ?? FETCH_DEFAULTS.timeoutMs;
  const maxRedirects = options.maxRedirects ?? FETCH_DEFAULTS.maxRedirects;
  const current = checkUrl(url, { what: options.what });
  const deadline = new Deadline(options.deadlineMs);
  try {
    return await fetchWithin(url, current, deadline, { ...options, timeoutMs, maxRedirects });
  } catch (error) {
    deadline.clear();
    throw error;
  }
}

/** The whole-download deadline: aborts whatever request or read is in progress. */
class Deadline {
  readonly ms: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort: AbortController | undefined;
  hit = false;

  constructor(ms: number | undefined) {
    this.ms = ms;
    if (ms === undefined) return;
    this.#timer = setTimeout(() => {
      this.hit = true;
      this.#abort?.abort();
    }, ms);
  }

  /** Makes `abort` the one the deadline aborts. */
  watch(abort: AbortController): void {
    this.#abort = abort;
    if (this.hit) abort.abort();
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The message of a download the deadline stopped. */
  message(what: string): string {
    return `Download of ${what} did not finish within its deadline of ${
      (this.ms ?? 0) / 1000
    } s (source.deadline_seconds): the server is too slow; try again later or raise the deadline`;
  }
}

async function fetchWithin(
  url: string,
  first: URL,
  deadline: Deadline,
  options: SafeFetchOptions & { timeoutMs: number; maxRedirects: number },
): Promise<FetchedBody> {
  const fetchFn = options.fetch ?? fetch;
  const { timeoutMs, maxRedirects } = options;
  let current = first;
  for (let hop = 0;; hop++) {
    const abort = new AbortController();
    deadline.watch(abort);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    let response: Response;
    try {
      response = await fetchFn(current.href, {
        redirect: "manual",
        signal: abort.signal,
        headers: { "user-agent": USER_AGENT, ...options.headers },
      });
    } catch (error) {
      throw new FetchError(
        deadline.hit
          ? deadline.message(`${options.what} ${redactUrl(current.href)}`)
          : timedOut
          ? `Cannot fetch ${options.what} ${redactUrl(current.href)}: no response within ${
            timeoutMs / 1000
          } s (timeout); check the server or raise source.timeout_seconds`
          : `Cannot fetch ${options.what} ${redactUrl(current.href)}: ${networkCause(error)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
    if (REDIRECTS.has(response.status)) {
      await response.body?.cancel();
      const location = response.headers.get("location");
      if (location === null) {
        throw new FetchError(
          `Cannot fetch ${options.what} ${
            redactUrl(current.href)
          }: HTTP ${response.status} without a Location`,
          { status: response.status },
        );
      }
      if (hop >= maxRedirects) {
        throw new FetchError(
          `Cannot fetch ${options.what} ${redactUrl(url)}: more than ${maxRedirects} redirects`,
        );
      }
      current = checkUrl(new URL(location, current).href, {
        what: `${options.what} (redirected from ${redactUrl(current.href)})`,
      });
      continue;
    }
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel();
      throw new FetchError(
        `Cannot fetch ${options.what} ${
          redactUrl(current.href)
        }: HTTP ${response.status} ${response.statusText}`
          .trimEnd(),
        { status: response.status },
      );
    }
    const declared = response.headers.get("content-length");
    const encoded = (response.headers.get("content-encoding") ?? "identity") !== "identity";
    const contentLength = declared !== null && !encoded && /^\d+$/.test(declared)
      ? Number(declared)
      : undefined;
    if (
      options.maxBytes !== undefined && contentLength !== undefined &&
      contentLength > options.maxBytes
    ) {
      await response.body?.cancel();
      throw new SizeLimitError(
        `Refusing ${options.what} ${
          redactUrl(current.href)
        }: ${contentLength} bytes is over the limit of ${options.maxBytes} bytes (source.max_size)`,
      );
    }
    return {
      url: current.href,
      status: response.status,
      headers: response.headers,
      contentLength,
      body: guardBody(response, abort, {
        what: `${options.what} ${redactUrl(current.href)}`,
        timeoutMs,
        deadline,
        contentLength,
        ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      }),
    };
  }
}

function guardBody(
  response: Response,
  abort: AbortController,
  options: {
    what: string;
    timeoutMs: number;
    deadline: Deadline;
    contentLength: number | undefined;
    maxBytes?: number;
  },
): ReadableStream<Uint8Array> {
  const { deadline } = options;
  if (response.body === null) {
    deadline.clear();
    return new ReadableStream({
      start(controller) {
        if (options.contentLength !== undefined && options.contentLength > 0) {
          controller.error(new FetchError(`Download of ${options.what} is truncated: no body`));
        } else controller.close();
      },
    });
  }
  const reader = response.body.getReader();
  let received = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const finish = () => {
    stop();
    deadline.clear();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, options.timeoutMs);
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        finish();
        throw new FetchError(
          deadline.hit
            ? deadline.message(options.what)
            : timedOut
            ? `Download of ${options.what} stalled: no data for ${
              options.timeoutMs / 1000
            } s (timeout); try again later or raise source.timeout_seconds`
            : `Download of ${options.what} failed after ${received} bytes: ${networkCause(error)}`,
          { cause: error },
        );
      } finally {
        stop();
      }
      if (result.done) {
        finish();
        if (options.contentLength !== undefined && received !== options.contentLength) {
          throw new FetchError(
            `Download of ${options.what} is truncated: got ${received} of ${options.contentLength} bytes`,
          );
        }
        controller.close();
        return;
      }
      received += result.value.byteLength;
      if (options.maxBytes !== undefined && received > options.maxBytes) {
        finish();
        await reader.cancel().catch(() => {});
        throw new SizeLimitError(
          `Refusing ${options.what}: it is over the limit of ${options.maxBytes} bytes (source.max_size)`,
        );
      }
      controller.enqueue(result.value);
    },
    async cancel(reason) {
      finish();
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Options of {@linkcode fetchBytes}. */
export interface FetchBytesOptions extends SafeFetchOptions {
  /** Further attempts after a network error, a timeout, HTTP 429 or 5xx. Default 0. */
  retries?: number;
  /** Wait before the first retry, doubled for each next one (ms). Default 1000. */
  retryDelayMs?: number;
}

/** Whether a failed fetch may succeed if tried again. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof FetchError) || error instanceof SizeLimitError) return false;
  return error.status === undefined || error.status === 429 || error.status >= 500;
}

async function readWhole(url: string, options: SafeFetchOptions): Promise<FetchedBytes> {
  const fetched = await safeFetch(url, { maxBytes: 1024 * 1024, ...options });
  return { url: fetched.url, headers: fetched.headers, bytes: await readAllBytes(fetched.body) };
}

/**
 * Reads a whole (small) body, guarded by `maxBytes` (default 1 MiB), trying
 * again after transient failures ({@linkcode isTransient}) when `retries` is set.
 */
export async function fetchBytes(url: string, options: FetchBytesOptions): Promise<FetchedBytes> {
  const { retries = 0, retryDelayMs = 1000, ...fetchOptions } = options;
  for (let attempt = 0;; attempt++) {
    try {
      return await readWhole(url, fetchOptions);
    } catch (error) {
      if (attempt >= retries || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs * 2 ** attempt));
    }
  }
}

/** A small body read whole. */
export interface FetchedBytes {
  url: string;
  headers: Headers;
  bytes: Uint8Array;
}
