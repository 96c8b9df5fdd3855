/**
 * The package router: one handler per configured package, chosen by
 * `source.type`.
 *
 * - `external_download` → {@linkcode ExternalDownloadHandler} (Kiro's feed)
 * - `github_release` → {@linkcode GitHubReleaseHandler}
 * - `build_script` → {@linkcode RecordedOnlyHandler}: the build task uploads and
 *   records each version itself; the scheduled run has nothing to fetch and
 *   publishes what is recorded.
 * - `upload` → {@linkcode RecordedOnlyHandler}: `deno task add-deb` records;
 *   nothing is scheduled.
 *
 * @module
 */

import type { LoadedPackageConfig } from "./config.ts";
import { ExternalDownloadHandler } from "./external_download.ts";
import { GitHubReleaseHandler } from "./github_release.ts";
import type { Candidate, HandlerDeps, SourceHandler } from "./handler_types.ts";
import type { IngestResult } from "./ingest.ts";

/** A source whose versions are recorded by a task, never fetched by the sync. */
export class RecordedOnlyHandler implements SourceHandler {
  readonly loaded: LoadedPackageConfig;
  readonly scheduled = false;

  constructor(loaded: LoadedPackageConfig) {
    this.loaded = loaded;
  }

  /** Always `undefined`: nothing to fetch. */
  checkNewVersion(): Promise<Candidate | undefined> {
    return Promise.resolve(undefined);
  }

  /** Never called by the sync; throws to say who records these versions. */
  acquire(_candidate: Candidate): Promise<IngestResult> {
    const who = this.loaded.config.source.type === "build_script"
      ? "deno task build-kiro-repo"
      : "deno task add-deb";
    return Promise.reject(
      new Error(
        `${this.loaded.config.package_name} (${this.loaded.file}) is recorded by ${who}, not fetched by the sync`,
      ),
    );
  }
}

/** The handler for one configured package. */
export function createSourceHandler(loaded: LoadedPackageConfig, deps: HandlerDeps): SourceHandler {
  const type = loaded.config.source.type;
  switch (type) {
    case "external_download":
      return new ExternalDownloadHandler(loaded, deps);
    case "github_release":
      return new GitHubReleaseHandler(loaded, deps);
    case "build_script":
    case "upload":
      return new RecordedOnlyHandler(loaded);
    default: {
      const unknown: never = type;
      throw new Error(`${loaded.file}: source.type ${String(unknown)} has no handler`);
    }
  }
}

/** One handler per configuration, in the configurations' order. */
export function createSourceHandlers(
  configs: readonly LoadedPackageConfig[],
  deps: HandlerDeps,
): SourceHandler[] {
  return configs.map((loaded) => createSourceHandler(loaded, deps));
}
