/**
 * Kiro's release feed: parsing both shapes and choosing the release to ingest.
 *
 * The real feed is cumulative, newest first, with three entries per version
 * (the `.deb`, `certificate.pem`, `signature.bin`, in any order):
 *
 * ```json
 * { "currentRelease": "1.0.337",
 *   "releases": [ { "version": "1.0.337",
 *                   "updateTo": { "version": "1.0.337", "pub_date": "…", "notes": "…",
 *                                 "name": "…", "url": "https://…/kiro_1.0.337_amd64.deb" } },
 *                 … ] }
 * ```
 *
 * The simpler single-release object of the old `metadata.json` endpoint is
 * accepted too (`docs/design.md`, "Sources"):
 * `{ "version", "pub_date", "url" | "deb_url", "certificate_url", "signature_url", "notes" }`.
 *
 * @module
 */

import { redactUrl } from "../redact.ts";
import { compareVersions, isValidVersion } from "../domain/version.ts";

/** One version offered by the feed, with the URLs of its three files. */
export interface FeedRelease {
  version: string;
  pub_date: string;
  notes?: string;
  name?: string;
  /** The `.deb` (undefined when the feed lists none for this version). */
  deb_url?: string;
  certificate_url?: string;
  signature_url?: string;
}

/** A parsed feed: its current release (if it names one) and every release. */
export interface Feed {
  currentRelease?: string;
  /** Every version the feed lists, newest first (dpkg order). */
  releases: FeedRelease[];
}

/** The feed is unusable: not JSON, wrong shape, or nothing to download. */
export class FeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FeedError";
  }
}

type FileKind = "deb" | "certificate" | "signature";

/** What a feed URL points to, from the last segment of its path. */
export function feedFileKind(url: string): FileKind | undefined {
  let last: string;
  try {
    last = new URL(url).pathname.split("/").pop() ?? "";
  } catch {
    return undefined;
  }
  const name = last.toLowerCase();
  if (name.endsWith(".deb")) return "deb";
  if (name.endsWith("certificate.pem")) return "certificate";
  if (name.endsWith("signature.bin")) return "signature";
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(
  object: Record<string, unknown>,
  key: string,
  where: string,
): string | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new FeedError(`${where}: ${key} must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function requiredString(object: Record<string, unknown>, key: string, where: string): string {
  const value = optionalString(object, key, where);
  if (value === undefined || value === "") throw new FeedError(`${where}: ${key} is missing`);
  return value;
}

function checkVersion(version: string, where: string): string {
  if (!isValidVersion(version)) {
    throw new FeedError(`${where}: version ${JSON.stringify(version)} is not a Debian version`);
  }
  return version;
}

function resolveUrl(url: string, base: string, where: string): string {
  try {
    return new URL(url, base).href;
  } catch {
    throw new FeedError(`${where}: ${JSON.stringify(url)} is not a URL`);
  }
}

function parseCumulative(data: Record<string, unknown>, feedUrl: string): Feed {
  const where = `Feed ${redactUrl(feedUrl)}`;
  const current = optionalString(data, "currentRelease", where);
  const entries = data.releases;
  if (!Array.isArray(entries)) throw new FeedError(`${where}: releases must be a list`);
  const byVersion = new Map<string, FeedRelease>();
  entries.forEach((entry, index) => {
    const at = `${where}: releases[${index}]`;
    if (!isObject(entry)) throw new FeedError(`${at} must be an object`);
    const update = entry.updateTo;
    if (!isObject(update)) throw new FeedError(`${at}.updateTo must be an object`);
    const version = checkVersion(
      optionalString(update, "version", `${at}.updateTo`) ??
        requiredString(entry, "version", at),
      at,
    );
    const outer = optionalString(entry, "version", at);
    if (outer !== undefined && outer !== version) {
      throw new FeedError(`${at}: version ${outer} differs from updateTo.version ${version}`);
    }
    const url = resolveUrl(requiredString(update, "url", `${at}.updateTo`), feedUrl, at);
    const release = byVersion.get(version) ?? { version, pub_date: "" };
    const pubDate = optionalString(update, "pub_date", `${at}.updateTo`);
    if (pubDate !== undefined && release.pub_date === "") release.pub_date = pubDate;
    const notes = optionalString(update, "notes", `${at}.updateTo`);
    if (notes !== undefined && release.notes === undefined) release.notes = notes;
    const name = optionalString(update, "name", `${at}.updateTo`);
    if (name !== undefined && release.name === undefined) release.name = name;
    const kind = feedFileKind(url);
    const slot = kind === "deb"
      ? "deb_url"
      : kind === "certificate"
      ? "certificate_url"
      : kind === "signature"
      ? "signature_url"
      : undefined;
    if (slot !== undefined) {
      const existing = release[slot];
      if (existing !== undefined && existing !== url) {
        throw new FeedError(
          `${at}: version ${version} lists two ${kind} files (${redactUrl(existing)}, ${
            redactUrl(url)
          })`,
        );
      }
      release[slot] = url;
    }
    byVersion.set(version, release);
  });
  const releases = [...byVersion.values()].sort((a, b) => compareVersions(b.version, a.version));
  const feed: Feed = { releases };
  if (current !== undefined) {
    feed.currentRelease = checkVersion(current, `${where}: currentRelease`);
  }
  return feed;
}

function parseSingle(data: Record<string, unknown>, feedUrl: string): Feed {
  const where = `Feed ${redactUrl(feedUrl)}`;
  const version = checkVersion(requiredString(data, "version", where), where);
  const deb = optionalString(data, "url", where) ?? optionalString(data, "deb_url", where);
  if (deb === undefined) throw new FeedError(`${where}: url (or deb_url) is missing`);
  const release: FeedRelease = {
    version,
    pub_date: optionalString(data, "pub_date", where) ?? "",
    deb_url: resolveUrl(deb, feedUrl, where),
  };
  const certificate = optionalString(data, "certificate_url", where);
  if (certificate !== undefined) release.certificate_url = resolveUrl(certificate, feedUrl, where);
  const signature = optionalString(data, "signature_url", where);
  if (signature !== undefined) release.signature_url = resolveUrl(signature, feedUrl, where);
  const notes = optionalString(data, "notes", where);
  if (notes !== undefined) release.notes = notes;
  return { currentRelease: version, releases: [release] };
}

/**
 * Parses a feed body (either shape). `contentType` helps name an HTML error
 * page; the body is checked for JSON either way.
 */
export function parseFeed(
  body: string,
  options: { url: string; contentType?: string | null },
): Feed {
  const where = `Feed ${redactUrl(options.url)}`;
  const trimmed = body.trimStart();
  if (/^text\/html/i.test(options.contentType ?? "") || trimmed.startsWith("<")) {
    throw new FeedError(
      `${where} is an HTML page, not the JSON release feed: check source.feed_url`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new FeedError(`${where} is not valid JSON (${error.message})`);
  }
  if (!isObject(data)) throw new FeedError(`${where} must be a JSON object`);
  if ("releases" in data || "currentRelease" in data) return parseCumulative(data, options.url);
  if ("version" in data) return parseSingle(data, options.url);
  throw new FeedError(
    `${where} has neither currentRelease/releases nor version/url: not a Kiro release feed`,
  );
}

/**
 * The release to ingest: `currentRelease` when the feed names it, otherwise the
 * newest version (dpkg order) that has a `.deb`. Throws when that release has
 * no `.deb`.
 */
export function selectRelease(feed: Feed, options: { url: string }): FeedRelease {
  const where = `Feed ${redactUrl(options.url)}`;
  if (feed.currentRelease !== undefined) {
    const current = feed.releases.find((release) =>
      compareVersions(release.version, feed.currentRelease as string) === 0
    );
    if (current === undefined) {
      throw new FeedError(`${where}: currentRelease ${feed.currentRelease} is not in releases`);
    }
    if (current.deb_url === undefined) {
      throw new FeedError(
        `${where}: currentRelease ${feed.currentRelease} has no .deb entry (only ${
          [current.certificate_url, current.signature_url].filter((u) => u !== undefined).join(
            ", ",
          ) || "nothing"
        })`,
      );
    }
    return current;
  }
  const newest = feed.releases.find((release) => release.deb_url !== undefined);
  if (newest === undefined) throw new FeedError(`${where} lists no .deb`);
  return newest;
}
