/**
 * `external_download` (kiro): Kiro's release feed. The newest release is
 * chosen by `currentRelease` (dpkg order otherwise); its certificate is
 * checked (dates, optional SHA-256 pin) and the `.deb` is verified against
 * `signature.bin` while it streams into the bucket.
 *
 * @module
 */

import { checkCertificate, SignatureVerifier } from "./certificate.ts";
import type { ExternalDownloadSource, LoadedPackageConfig } from "./config.ts";
import { type FeedRelease, parseFeed, selectRelease } from "./feed.ts";
import { fetchBytes, FetchError } from "./fetch.ts";
import { redactUrl } from "../redact.ts";
import type { Candidate, HandlerDeps, SourceHandler } from "./handler_types.ts";
import { fetchLimits, smallFetchOptions } from "./handler_types.ts";
import { ingestDeb, type IngestResult } from "./ingest.ts";

/** Largest certificate or signature accepted. */
const SMALL_FILE_LIMIT = 1024 * 1024;

/** Largest feed accepted (it is cumulative: every release, with its notes). */
const FEED_LIMIT = 32 * 1024 * 1024;

/** The handler of an `external_download` source. */
export class ExternalDownloadHandler implements SourceHandler {
  readonly loaded: LoadedPackageConfig;
  readonly scheduled = true;
  readonly #source: ExternalDownloadSource;
  readonly #deps: HandlerDeps;

  constructor(loaded: LoadedPackageConfig, deps: HandlerDeps) {
    if (loaded.config.source.type !== "external_download") {
      throw new TypeError(`${loaded.file}: not an external_download source`);
    }
    this.loaded = loaded;
    this.#source = loaded.config.source;
    this.#deps = deps;
  }

  /** Fetches the feed and returns its current release. */
  async checkNewVersion(): Promise<Candidate> {
    const url = this.#source.feed_url;
    const limits = smallFetchOptions(this.#source, this.#deps);
    const fetched = await fetchBytes(url, {
      what: "feed",
      ...limits,
      maxBytes: FEED_LIMIT,
      headers: { accept: "application/json" },
    });
    const body = new TextDecoder().decode(fetched.bytes);
    const feed = parseFeed(body, {
      url: fetched.url,
      contentType: fetched.headers.get("content-type"),
    });
    const release = selectRelease(feed, { url });
    return { version: release.version, deb_url: release.deb_url as string, detail: release };
  }

  /** Downloads the certificate and signature, then ingests the `.deb` verifying both. */
  async acquire(candidate: Candidate): Promise<IngestResult> {
    const release = candidate.detail as FeedRelease;
    const name = this.loaded.config.package_name;
    if (release.certificate_url === undefined || release.signature_url === undefined) {
      throw new FetchError(
        `Feed ${redactUrl(this.#source.feed_url)} gives no ${
          release.certificate_url === undefined ? "certificate.pem" : "signature.bin"
        } for ${name} ${release.version}: refusing an unsigned .deb`,
      );
    }
    const limits = smallFetchOptions(this.#source, this.#deps);
    const [certificate, signature] = await Promise.all([
      fetchBytes(release.certificate_url, {
        what: "certificate",
        ...limits,
        maxBytes: SMALL_FILE_LIMIT,
      }),
      fetchBytes(release.signature_url, {
        what: "signature",
        ...limits,
        maxBytes: SMALL_FILE_LIMIT,
      }),
    ]);
    const x509 = checkCertificate(certificate.bytes, {
      url: release.certificate_url,
      ...(this.#source.certificate_sha256 === undefined
        ? {}
        : { pinnedSha256: this.#source.certificate_sha256 }),
      ...(this.#deps.now === undefined ? {} : { now: this.#deps.now() }),
    });
    const verifier = new SignatureVerifier(x509, signature.bytes, {
      what: `${name} ${release.version} (${redactUrl(release.deb_url as string)})`,
    });
    return await ingestDeb({
      config: this.loaded.config,
      release: {
        version: release.version,
        deb_url: release.deb_url as string,
        pub_date: release.pub_date,
        ...(release.notes === undefined ? {} : { notes: release.notes }),
        certificate_url: release.certificate_url,
        signature_url: release.signature_url,
      },
      checks: { signature: verifier },
      ...fetchLimits(this.#source),
    }, this.#deps);
  }
}
