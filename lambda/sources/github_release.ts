/**
 * `github_release` (kiro-cli): the newest release of a GitHub repository.
 *
 * Reads the releases API (`GET {api_url}/repos/{owner}/{name}/releases`, a
 * list), skips drafts and prereleases, orders the rest by the dpkg order of
 * their tag (a leading `v` stripped), and takes the newest one's `.deb` asset
 * whose name matches `asset_pattern` — and, when `checksum_asset_pattern` is
 * set, the SHA-256 a `SHA256SUMS`-style asset gives for it.
 *
 * @module
 */

import { redactUrl } from "../redact.ts";
import { compareVersions, isValidVersion } from "../domain/version.ts";
import type { GitHubReleaseSource, LoadedPackageConfig } from "./config.ts";
import { FeedError } from "./feed.ts";
import { fetchBytes } from "./fetch.ts";
import type { Candidate, HandlerDeps, SourceHandler } from "./handler_types.ts";
import { fetchLimits, smallFetchOptions } from "./handler_types.ts";
import { ingestDeb, type IngestResult } from "./ingest.ts";

/** The GitHub API when the config names none. */
export const DEFAULT_GITHUB_API = "https://api.github.com";

const SMALL_FILE_LIMIT = 8 * 1024 * 1024;

/** One asset of a GitHub release (the fields used). */
export interface GitHubAsset {
  name: string;
  browser_download_url: string;
  size?: number;
}

/** One GitHub release (the fields used). */
export interface GitHubRelease {
  tag_name: string;
  name?: string | null;
  draft: boolean;
  prerelease: boolean;
  published_at?: string | null;
  body?: string | null;
  assets: GitHubAsset[];
}

/** The release and asset chosen for ingest. */
export interface ChosenRelease {
  version: string;
  release: GitHubRelease;
  asset: GitHubAsset;
  checksumAsset?: GitHubAsset;
}

/** A glob (`*`, `?`) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const source = [...glob].map((c) =>
    c === "*" ? "[^/]*" : c === "?" ? "[^/]" : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${source}$`);
}

/** `v1.2.3` → `1.2.3`; `undefined` when the tag is not a Debian version. */
export function versionOfTag(tag: string): string | undefined {
  const version = /^v\d/i.test(tag) ? tag.slice(1) : tag;
  return isValidVersion(version) ? version : undefined;
}

function parseReleases(body: string, url: string): GitHubRelease[] {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new FeedError(`GitHub releases ${redactUrl(url)} is not valid JSON (${error.message})`);
  }
  if (!Array.isArray(data)) {
    const message = typeof data === "object" && data !== null && "message" in data
      ? `: ${String((data as { message: unknown }).message)}`
      : "";
    throw new FeedError(`GitHub releases ${redactUrl(url)} is not a list of releases${message}`);
  }
  return data.filter((item): item is GitHubRelease =>
    typeof item === "object" && item !== null && typeof item.tag_name === "string" &&
    Array.isArray(item.assets)
  );
}

/**
 * The newest non-draft, non-prerelease release (dpkg order of the tag) with
 * its `.deb` asset; throws {@linkcode FeedError} when there is none, or when
 * the pattern matches several assets of that release.
 */
export function chooseRelease(
  releases: readonly GitHubRelease[],
  source: Pick<GitHubReleaseSource, "asset_pattern" | "checksum_asset_pattern" | "repository">,
): ChosenRelease {
  const candidates = releases
    .filter((release) => !release.draft && !release.prerelease)
    .map((release) => ({ release, version: versionOfTag(release.tag_name) }))
    .filter((item): item is { release: GitHubRelease; version: string } =>
      item.version !== undefined
    )
    .sort((a, b) => compareVersions(b.version, a.version));
  const newest = candidates[0];
  if (newest === undefined) {
    throw new FeedError(
      `GitHub repository ${source.repository} has no published (non-draft, non-prerelease) release with a version tag`,
    );
  }
  const pattern = globToRegExp(source.asset_pattern);
  const matches = newest.release.assets.filter((asset) => pattern.test(asset.name));
  if (matches.length !== 1) {
    throw new FeedError(
      `GitHub release ${newest.release.tag_name} of ${source.repository} has ${matches.length} assets matching ${source.asset_pattern} (${
        newest.release.assets.map((asset) => asset.name).join(", ") || "no assets"
      }); exactly one is needed`,
    );
  }
  const chosen: ChosenRelease = {
    version: newest.version,
    release: newest.release,
    asset: matches[0] as GitHubAsset,
  };
  if (source.checksum_asset_pattern !== undefined) {
    const checksumPattern = globToRegExp(source.checksum_asset_pattern);
    const checksum = newest.release.assets.find((asset) => checksumPattern.test(asset.name));
    if (checksum === undefined) {
      throw new FeedError(
        `GitHub release ${newest.release.tag_name} of ${source.repository} has no checksum asset matching ${source.checksum_asset_pattern}`,
      );
    }
    chosen.checksumAsset = checksum;
  }
  return chosen;
}

/**
 * The SHA-256 a `SHA256SUMS`-style file gives for `name` (lines `<hex>  <name>`
 * or `<hex> *<name>`); throws {@linkcode FeedError} when it gives none.
 */
export function checksumFor(text: string, name: string, options: { url: string }): string {
  for (const line of text.split(/\r?\n/)) {
    const match = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line.trim());
    if (match && match[2] === name) return (match[1] as string).toLowerCase();
  }
  throw new FeedError(`Checksum file ${redactUrl(options.url)} has no SHA-256 line for ${name}`);
}

/** The handler of a `github_release` source. */
export class GitHubReleaseHandler implements SourceHandler {
  readonly loaded: LoadedPackageConfig;
  readonly scheduled = true;
  readonly #source: GitHubReleaseSource;
  readonly #deps: HandlerDeps;

  constructor(loaded: LoadedPackageConfig, deps: HandlerDeps) {
    if (loaded.config.source.type !== "github_release") {
      throw new TypeError(`${loaded.file}: not a github_release source`);
    }
    this.loaded = loaded;
    this.#source = loaded.config.source;
    this.#deps = deps;
  }

  /** The releases API URL. */
  get releasesUrl(): string {
    const base = (this.#source.api_url ?? DEFAULT_GITHUB_API).replace(/\/+$/, "");
    return `${base}/repos/${this.#source.repository}/releases?per_page=100`;
  }

  /** Reads the releases list and returns the newest release's asset. */
  async checkNewVersion(): Promise<Candidate> {
    const url = this.releasesUrl;
    const fetched = await fetchBytes(url, {
      what: "GitHub releases",
      ...smallFetchOptions(this.#source, this.#deps),
      maxBytes: SMALL_FILE_LIMIT,
      headers: { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" },
    });
    const releases = parseReleases(new TextDecoder().decode(fetched.bytes), url);
    const chosen = chooseRelease(releases, this.#source);
    return { version: chosen.version, deb_url: chosen.asset.browser_download_url, detail: chosen };
  }

  /** Downloads the checksum asset (when configured) and ingests the `.deb`. */
  async acquire(candidate: Candidate): Promise<IngestResult> {
    const chosen = candidate.detail as ChosenRelease;
    let sha256: string | undefined;
    if (chosen.checksumAsset !== undefined) {
      const url = chosen.checksumAsset.browser_download_url;
      const fetched = await fetchBytes(url, {
        what: "checksum file",
        ...smallFetchOptions(this.#source, this.#deps),
        maxBytes: SMALL_FILE_LIMIT,
      });
      sha256 = checksumFor(new TextDecoder().decode(fetched.bytes), chosen.asset.name, { url });
    }
    return await ingestDeb({
      config: this.loaded.config,
      release: {
        version: chosen.version,
        deb_url: chosen.asset.browser_download_url,
        pub_date: chosen.release.published_at ?? "",
        ...(chosen.release.body ? { notes: chosen.release.body } : {}),
      },
      checks: sha256 === undefined ? {} : { sha256 },
      ...fetchLimits(this.#source),
    }, this.#deps);
  }
}
