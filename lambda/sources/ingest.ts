/**
 * Streaming ingest of one `.deb`: download → size, MD5, SHA1, SHA256, detached
 * signature check and control paragraph → upload into the bucket, all in one
 * pass over the bytes, with memory independent of the file's size.
 *
 * ```
 * fetch body ─ size limit, read timeout, truncation ─ signature verifier ─┬─ upload to staging/ingest/…
 *                                                                       └─ readDeb (hashes + control)
 * ```
 *
 * The two consumers share one backpressured fan-out ({@linkcode fanOut}), so
 * the slower one sets the pace and nothing queues up.
 *
 * **Temporary key, then copy.** The bytes go to a temporary key under
 * `staging/ingest/`, never straight to the pool: the pool is what CloudFront
 * serves and what the publisher lists, and the signature, the hashes and the
 * control paragraph are only known to be right once the last byte has gone
 * through. Uploading directly would leave a window (between the upload
 * completing and a failed check deleting it) in which a reader could fetch an
 * unverified object at a pool key, and a crash in that window would leave it
 * there for good. With the temporary key, an object appears at the pool key
 * only by a server-side copy after every check has passed; a crash leaves at
 * most a temporary object, which the bucket's `staging/` lifecycle rule
 * expires. The cost is one server-side copy (no bytes through the Lambda),
 * which limits a `.deb` to 5 GiB (CopyObject's limit, enforced by the schema).
 *
 * Once the download's own checks pass, the staged bytes go through the one
 * intake (`lambda/store/intake.ts`): the copy to the pool key, the
 * conditional record, and the clean-up on failure, so a failure leaves
 * neither object nor record.
 *
 * @module
 */

import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { wholeMilliseconds } from "../observability/logger.ts";
import type { PackageRecord, PackageType } from "../domain/package_record.ts";
import { poolKey } from "../domain/pool_path.ts";
import { recordFromDeb } from "../domain/record_from_deb.ts";
import { readDeb } from "../deb/deb_reader.ts";
import { DEB_CONTENT_TYPE } from "../aws/object_headers.ts";
import { admitStaged, type RecordStore } from "../store/intake.ts";
import type { ObjectStore } from "../aws/object_store.ts";
import type { SignatureVerifier } from "./certificate.ts";
import type { PackageConfig } from "./config.ts";
import { debFilename, FETCH_DEFAULTS, safeFetch } from "./fetch.ts";
import { redactUrl } from "../redact.ts";
import { fanOut } from "./stream_fanout.ts";

/** Where downloads wait for their checks (expired by the bucket's staging/ lifecycle rule). */
export const INGEST_STAGING_PREFIX = "staging/ingest/";

/** The `.deb` was downloaded but is not what the feed and the config say. */
export class IngestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IngestError";
  }
}

export type { RecordStore } from "../store/intake.ts";

/** One release to ingest. */
export interface IngestRelease {
  /** The version the source announces; the `.deb`'s control `Version` must equal it. */
  version: string;
  deb_url: string;
  pub_date?: string;
  notes?: string;
  certificate_url?: string;
  signature_url?: string;
}

/** What the downloaded bytes are checked against, besides the control paragraph. */
export interface IngestChecks {
  /** A verifier for the detached signature, fed every byte. */
  signature?: SignatureVerifier;
  /** The SHA-256 the source publishes for the file (lowercase hex). */
  sha256?: string;
}

/** One ingest: which package, which release, how to check it. */
export interface IngestRequest {
  config: PackageConfig;
  release: IngestRelease;
  checks: IngestChecks;
  /** Download limits. */
  maxBytes?: number;
  timeoutMs?: number;
  /** The whole download's deadline (default `FETCH_DEFAULTS.deadlineMs`). */
  deadlineMs?: number;
  maxRedirects?: number;
}

/** What {@linkcode ingestDeb} needs. */
export interface IngestDeps {
  objects: ObjectStore;
  records: RecordStore;
  logger?: Logger;
  /** The clock (default: the real one). */
  now?: () => Date;
  /** The fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** The architectures the repository publishes (stack output `architectures`). */
  architectures?: readonly string[] | undefined;
}

/** The outcome of an ingest. */
export interface IngestResult {
  record: PackageRecord;
  /** `created`, or `unchanged` when the same bytes were already recorded. */
  outcome: "created" | "unchanged";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Downloads, verifies, stores and records one `.deb`. On any failure nothing
 * is left at the pool key and nothing is recorded; the error says what failed.
 */
export async function ingestDeb(request: IngestRequest, deps: IngestDeps): Promise<IngestResult> {
  const { config, release, checks } = request;
  const name = config.package_name;
  const filename = debFilename(release.deb_url);
  const key = poolKey({ name, version: release.version, architecture: config.architecture });
  const tempKey = `${INGEST_STAGING_PREFIX}${name}/${randomUUID()}/${filename}`;
  const log = deps.logger;
  const started = performance.now();

  const fetched = await safeFetch(release.deb_url, {
    what: `the .deb of ${name} ${release.version}`,
    ...(request.maxBytes === undefined ? {} : { maxBytes: request.maxBytes }),
    ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
    deadlineMs: request.deadlineMs ?? FETCH_DEFAULTS.deadlineMs,
    ...(request.maxRedirects === undefined ? {} : { maxRedirects: request.maxRedirects }),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
  });
  log?.info("Downloading", {
    package: name,
    version: release.version,
    url: redactUrl(fetched.url),
    contentLength: fetched.contentLength,
  });

  let counted = 0;
  const verified = fetched.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        counted += chunk.byteLength;
        checks.signature?.update(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        // Throwing here errors both consumers before either sees the end of
        // the stream: the upload is abandoned, readDeb fails.
        checks.signature?.verify();
      },
    }),
  );
  const split = fanOut(verified, 2);
  const [uploadBranch, readBranch] = split.branches as [
    ReadableStream<Uint8Array>,
    ReadableStream<Uint8Array>,
  ];

  let staged = true;
  try {
    const fail = (error: unknown): never => {
      void split.abort(error);
      throw error;
    };
    const [uploaded, info] = await Promise.allSettled([
      deps.objects.put(tempKey, uploadBranch, {
        contentType: DEB_CONTENT_TYPE,
        cacheControl: "no-store",
      }).catch(fail),
      readDeb(readBranch, { name: filename }).catch(fail),
    ]);
    if (info.status === "rejected") throw info.reason;
    if (uploaded.status === "rejected") throw uploaded.reason;
    const deb = info.value;

    if (deb.size !== counted) {
      throw new IngestError(
        `The .deb ${
          redactUrl(release.deb_url)
        } was read as ${deb.size} bytes but ${counted} were downloaded`,
      );
    }
    checkControl(deb.control, { config, release });
    if (checks.sha256 !== undefined && checks.sha256.toLowerCase() !== deb.sha256) {
      throw new IngestError(
        `The .deb ${
          redactUrl(release.deb_url)
        } has SHA-256 ${deb.sha256}, but its source publishes ${checks.sha256.toLowerCase()}: the download is corrupt or was tampered with`,
      );
    }

    const record = recordFromDeb(deb, {
      packageType: config.source.type as PackageType,
      // The record keeps the origin without its credentials (pre-signed URLs).
      debUrl: redactUrl(release.deb_url),
      fileName: filename,
      processedAt: (deps.now ?? (() => new Date()))(),
      ...(release.pub_date === undefined ? {} : { pubDate: release.pub_date }),
      defaults: {
        section: config.section,
        priority: config.priority,
        maintainer: config.maintainer,
        homepage: config.homepage,
        description: config.description,
        ...(config.depends === undefined ? {} : { depends: config.depends }),
      },
      ...(release.certificate_url === undefined
        ? {}
        : { certificateUrl: redactUrl(release.certificate_url) }),
      ...(release.signature_url === undefined
        ? {}
        : { signatureUrl: redactUrl(release.signature_url) }),
      ...(release.notes === undefined ? {} : { notes: release.notes }),
      ...(config.channel === undefined ? {} : { channel: config.channel }),
      architectures: deps.architectures,
    });

    const result = await admitStaged({ stagingKey: tempKey, record }, {
      objects: deps.objects,
      records: deps.records,
      onWarning: (message) => log?.warn(message),
    });
    staged = false;
    if (result.outcome === "unchanged") {
      log?.info("Already recorded with the same bytes", {
        package: name,
        version: release.version,
      });
    } else {
      log?.info("Ingested", {
        package: name,
        version: release.version,
        poolKey: key,
        size: deb.size,
        sha256: deb.sha256,
        // Download, verify, store and record: whole milliseconds (lambda/observability/logger.ts).
        duration_ms: wholeMilliseconds(performance.now() - started),
      });
    }
    return result;
  } catch (error) {
    await split.abort(error);
    throw error;
  } finally {
    // The intake deletes the staging object; before it runs, this does.
    if (staged) await removeQuietly(deps, tempKey, log);
  }
}

async function removeQuietly(deps: IngestDeps, key: string, log: Logger | undefined) {
  try {
    await deps.objects.delete(key);
  } catch (error) {
    log?.warn("Cannot delete a leftover object", { key, error: describe(error) });
  }
}

/**
 * Checks that the `.deb`'s control paragraph names the package, version and
 * architecture the feed and the config say; throws {@linkcode IngestError}.
 */
export function checkControl(
  control: Record<string, string>,
  options: { config: PackageConfig; release: { version: string; deb_url: string } },
): void {
  const expected: Record<string, string> = {
    Package: options.config.package_name,
    Version: options.release.version,
    Architecture: options.config.architecture,
  };
  for (const [field, value] of Object.entries(expected)) {
    const actual = control[field];
    if (actual !== value) {
      const from = field === "Version" ? "the feed" : "the config";
      throw new IngestError(
        `The .deb ${redactUrl(options.release.deb_url)} has ${field} ${
          actual === undefined ? "(missing)" : JSON.stringify(actual)
        } but ${from} says ${JSON.stringify(value)}: refusing it`,
      );
    }
  }
}
