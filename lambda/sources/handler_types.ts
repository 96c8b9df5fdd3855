/**
 * The contract every source handler implements (`docs/design.md`, "Sources"):
 * find the newest version a source offers, then acquire it.
 *
 * @module
 */

import type { Logger } from "@aws-lambda-powertools/logger";
import type { ObjectStore } from "../aws/object_store.ts";
import type { LoadedPackageConfig } from "./config.ts";
import type { FetchBytesOptions } from "./fetch.ts";
import type { IngestResult, RecordStore } from "./ingest.ts";

/** A version a source offers, with what the handler needs to acquire it. */
export interface Candidate {
  version: string;
  /** Where the `.deb` is (for logs and summaries). */
  deb_url: string;
  /** Handler-specific details (feed entry, release asset, …). */
  detail: unknown;
}

/** One configured source. */
export interface SourceHandler {
  /** The package's configuration. */
  readonly loaded: LoadedPackageConfig;
  /**
   * Whether the scheduled sync asks this source for versions (`false` for
   * `build_script` and `upload`, whose versions are recorded by tasks).
   */
  readonly scheduled: boolean;
  /** The newest version the source offers, or `undefined` when it offers none. */
  checkNewVersion(): Promise<Candidate | undefined>;
  /** Downloads, verifies, stores and records the candidate. */
  acquire(candidate: Candidate): Promise<IngestResult>;
}

/** What the handlers need from the environment. */
export interface HandlerDeps {
  objects: ObjectStore;
  records: RecordStore;
  logger?: Logger;
  now?: () => Date;
  fetch?: typeof fetch;
  /**
   * Further attempts for the small files (feed, certificate, signature,
   * release list, checksums) after a transient failure. Default 2.
   */
  retries?: number;
  /** Wait before the first retry, doubled each time (ms). Default 1000. */
  retryDelayMs?: number;
  /** The architectures the repository publishes (stack output `architectures`). */
  architectures?: readonly string[] | undefined;
}

/** The retry options of the small fetches, from the deps. */
export function retryOptions(deps: HandlerDeps): { retries: number; retryDelayMs?: number } {
  return {
    retries: deps.retries ?? 2,
    ...(deps.retryDelayMs === undefined ? {} : { retryDelayMs: deps.retryDelayMs }),
  };
}

/** The download limits a network source's configuration may set. */
export interface SourceFetchLimits {
  max_size?: number;
  timeout_seconds?: number;
  deadline_seconds?: number;
  max_redirects?: number;
}

/**
 * Options shared by the network sources: limits from the config, in the units
 * fetch wants. The deadline is the `.deb` download's (`ingestDeb` applies it).
 */
export function fetchLimits(
  source: SourceFetchLimits,
): { maxBytes?: number; timeoutMs?: number; deadlineMs?: number; maxRedirects?: number } {
  return {
    ...(source.max_size === undefined ? {} : { maxBytes: source.max_size }),
    ...(source.timeout_seconds === undefined ? {} : { timeoutMs: source.timeout_seconds * 1000 }),
    ...(source.max_redirects === undefined ? {} : { maxRedirects: source.max_redirects }),
    ...(source.deadline_seconds === undefined
      ? {}
      : { deadlineMs: source.deadline_seconds * 1000 }),
  };
}

/**
 * The options of a network source's small fetches (feed, certificate,
 * signature, release list, checksums): the source's limits, the retries and
 * the injected `fetch` of the deps. Each call adds its own `what` and `maxBytes`.
 */
export function smallFetchOptions(
  source: SourceFetchLimits,
  deps: HandlerDeps,
): Omit<FetchBytesOptions, "what"> {
  const { deadlineMs: _deadline, ...limits } = fetchLimits(source);
  return {
    ...limits,
    ...retryOptions(deps),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
  };
}
