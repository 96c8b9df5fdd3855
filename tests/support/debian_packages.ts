/**
 * Real Debian packages for tests: a handful of small bookworm `.deb` files
 * downloaded with `apt-get download` into a cache folder that later runs
 * reuse, plus variants of one of them rebuilt with `dpkg-deb -Z` so that
 * every control-member compression is covered (Debian's archive has xz
 * control members; gzip, zstd and none are rebuilt).
 *
 * Tests that use it: `ignore: debianPackagesMissing`.
 *
 * @module
 */

import { commandOutput } from "../../tasks/lib/command.ts";
import { missingTools } from "./tools.ts";

/** The packages {@linkcode fetchDebianPackages} provides, as file paths. */
export interface DebianPackages {
  /** The cache folder. */
  dir: string;
  /** Every `.deb` below: downloaded ones first, then the rebuilt variants. */
  paths: string[];
  /** The downloaded ones only (unchanged Debian files). */
  downloaded: string[];
  /** An `Architecture: all` package (netbase). */
  archAll: string;
  /** A package whose version has an epoch (bsdutils, `1:…`). */
  epoch: string;
  /** A `lib*` package (libacl1). */
  library: string;
  /** A package with a `control.tar.xz` member, as Debian ships it (netbase). */
  xzControl: string;
  /** netbase rebuilt with `dpkg-deb -Zgzip`: `control.tar.gz`. */
  gzipControl: string;
  /**
   * netbase rebuilt with `dpkg-deb -Zzstd`: `control.tar.zst`. bookworm's
   * archive has no package with a zstd control member, hence the rebuild.
   */
  zstdControl: string;
  /** netbase rebuilt with `dpkg-deb -Znone`: plain `control.tar`. */
  noneControl: string;
}

/** Options of {@linkcode fetchDebianPackages}. */
export interface FetchDebianPackagesOptions {
  /** Where to keep the files. Default `.local/cache/debian-debs/` in the repository. */
  cacheDir?: string;
}

/** `ignore:` value for tests that need {@linkcode fetchDebianPackages}. */
export const debianPackagesMissing: boolean = missingTools(["apt-get", "dpkg-deb"]);

const ARCH_ALL = "netbase";
const EPOCH = "bsdutils";
const LIBRARY = "libacl1";
const DOWNLOADS = [ARCH_ALL, EPOCH, LIBRARY];
const REBUILT = ["gzip", "zstd", "none"] as const;

const defaultCacheDir = new URL("../../.local/cache/debian-debs/", import.meta.url).pathname;

function run(command: string, args: string[], cwd?: string): Promise<string> {
  return commandOutput(command, args, {
    ...(cwd !== undefined ? { cwd } : {}),
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
}

async function existing(dir: string, prefix: string): Promise<string | undefined> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.startsWith(`${prefix}_`) && entry.name.endsWith(".deb")) {
      names.push(entry.name);
    }
  }
  names.sort();
  return names.length > 0 ? `${dir}/${names[names.length - 1]}` : undefined;
}

async function aptListsPresent(): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir("/var/lib/apt/lists")) {
      if (entry.name.includes("_Packages")) return true;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return false;
}

/**
 * Makes sure the cache folder holds the packages (downloading and rebuilding
 * only what is missing; safe when several test processes call it at once:
 * files appear by atomic rename) and returns their paths.
 *
 * @throws when `apt-get download` or `dpkg-deb` fails.
 */
export async function fetchDebianPackages(
  options: FetchDebianPackagesOptions = {},
): Promise<DebianPackages> {
  const dir = (options.cacheDir ?? defaultCacheDir).replace(/\/+$/, "");
  await Deno.mkdir(dir, { recursive: true });
  const found = new Map<string, string>();
  const wanted: string[] = [];
  for (const name of DOWNLOADS) {
    const path = await existing(dir, name);
    if (path !== undefined) found.set(name, path);
    else wanted.push(name);
  }
  if (wanted.length > 0) {
    if (!await aptListsPresent()) await run("apt-get", ["update", "-qq"]);
    const work = await Deno.makeTempDir({ dir, prefix: ".download-" });
    try {
      try {
        await run("apt-get", ["download", "-qq", ...wanted], work);
      } catch {
        // Stale package lists name versions the mirror no longer has: refresh once.
        await run("apt-get", ["update", "-qq"]);
        await run("apt-get", ["download", "-qq", ...wanted], work);
      }
      for await (const entry of Deno.readDir(work)) {
        if (entry.name.endsWith(".deb")) {
          await Deno.rename(`${work}/${entry.name}`, `${dir}/${entry.name}`);
        }
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
    for (const name of wanted) {
      const path = await existing(dir, name);
      if (path === undefined) {
        throw new Error(`apt-get download ${name} left no ${name}_*.deb in ${dir}`);
      }
      found.set(name, path);
    }
  }
  const base = found.get(ARCH_ALL) as string;
  const baseName = base.slice(base.lastIndexOf("/") + 1, -".deb".length);
  const rebuilt = new Map<string, string>();
  for (const compression of REBUILT) {
    const target = `${dir}/rebuilt-${compression}/${baseName}.deb`;
    rebuilt.set(compression, target);
    try {
      await Deno.stat(target);
      continue;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await Deno.mkdir(`${dir}/rebuilt-${compression}`, { recursive: true });
    const work = await Deno.makeTempDir({ dir, prefix: ".rebuild-" });
    try {
      await run("dpkg-deb", ["--raw-extract", base, `${work}/tree`]);
      await run("dpkg-deb", [
        `-Z${compression}`,
        "--root-owner-group",
        "--build",
        `${work}/tree`,
        `${work}/out.deb`,
      ]);
      await Deno.rename(`${work}/out.deb`, target);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  }
  const downloaded = DOWNLOADS.map((name) => found.get(name) as string);
  const variants = REBUILT.map((compression) => rebuilt.get(compression) as string);
  return {
    dir,
    paths: [...downloaded, ...variants],
    downloaded,
    archAll: found.get(ARCH_ALL) as string,
    epoch: found.get(EPOCH) as string,
    library: found.get(LIBRARY) as string,
    xzControl: found.get(ARCH_ALL) as string,
    gzipControl: rebuilt.get("gzip") as string,
    zstdControl: rebuilt.get("zstd") as string,
    noneControl: rebuilt.get("none") as string,
  };
}
