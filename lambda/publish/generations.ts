/**
 * Which by-hash index files to keep after a publish.
 *
 * A client that fetched an older `InRelease` (from a cache, or just before
 * the publish) asks for the by-hash files that Release names, so those must
 * outlive the Release that replaced it. The publisher keeps a small manifest
 * of the distinct by-hash sets it has published ("generations", newest
 * first, each with the time it went live) beside the Release files. A
 * generation is kept while it is one of the newest `keepGenerations`, or was
 * replaced less than `keepSeconds` ago; a by-hash file is deleted once no
 * kept generation names it. By-hash files the manifest never knew (a lost
 * manifest, an older publisher) are deleted once they are older than
 * `keepSeconds`.
 *
 * @module
 */

/** One published set of by-hash files. */
export interface Generation {
  /** When this set went live (the Release `Date`), ISO 8601. */
  published: string;
  /** The by-hash keys of the set, sorted. */
  keys: string[];
}

/** The manifest of generations, newest first. */
export interface GenerationManifest {
  version: 1;
  generations: Generation[];
}

/** How long by-hash files outlive the Release that named them. */
export interface RetentionOptions {
  /** Keep the newest this many generations (the live one included). Default 3. */
  keepGenerations?: number;
  /** Keep every generation replaced less than this long ago. Default 2 days. */
  keepSeconds?: number;
}

/** The default retention: the newest 3 generations, and all replaced in the last 2 days. */
export const DEFAULT_RETENTION: Required<RetentionOptions> = {
  keepGenerations: 3,
  keepSeconds: 2 * 24 * 60 * 60,
};

/** The key of the manifest for a distribution. */
export function manifestKey(distribution: string): string {
  return `dists/${distribution}/by-hash-generations.json`;
}

/**
 * Reads a manifest's bytes. A missing or unreadable manifest is an empty one
 * (stray by-hash files are then kept until they are `keepSeconds` old), and
 * `warn` is told why.
 */
export function parseManifest(
  bytes: Uint8Array | undefined,
  options: { warn?: (message: string) => void } = {},
): GenerationManifest {
  const empty: GenerationManifest = { version: 1, generations: [] };
  if (bytes === undefined) return empty;
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof value !== "object" || value === null) throw new Error("not an object");
    const generations = (value as { generations?: unknown }).generations;
    if (!Array.isArray(generations)) throw new Error("generations is not a list");
    const out: Generation[] = [];
    for (const item of generations) {
      const published = (item as { published?: unknown }).published;
      const keys = (item as { keys?: unknown }).keys;
      if (
        typeof published !== "string" || Number.isNaN(Date.parse(published)) ||
        !Array.isArray(keys) || !keys.every((key) => typeof key === "string")
      ) {
        throw new Error("a generation lacks published or keys");
      }
      out.push({ published, keys: [...keys as string[]].sort() });
    }
    return { version: 1, generations: out };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    options.warn?.(
      `Cannot read the by-hash generation manifest (${why}): starting a new one; ` +
        "unknown by-hash files are kept until they are old enough to prune",
    );
    return empty;
  }
}

/** The manifest's bytes (stable JSON). */
export function serializeManifest(manifest: GenerationManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
}

/**
 * The manifest with `keys` as its newest generation, published at
 * `published`. When the newest generation already has exactly these keys
 * the manifest is returned unchanged (same object).
 */
export function addGeneration(
  manifest: GenerationManifest,
  keys: Iterable<string>,
  published: Date,
): GenerationManifest {
  const sorted = [...new Set(keys)].sort();
  const newest = manifest.generations[0];
  if (newest !== undefined && sameKeys(newest.keys, sorted)) return manifest;
  return {
    version: 1,
    generations: [{ published: published.toISOString(), keys: sorted }, ...manifest.generations],
  };
}

/** What to prune: the manifest to keep and the by-hash keys to delete. */
export interface PrunePlan {
  manifest: GenerationManifest;
  /** By-hash keys to delete, sorted. */
  delete: string[];
  /** Whether the manifest lost generations (and must be written). */
  manifestChanged: boolean;
}

/** A by-hash object as listed. */
export interface ListedByHash {
  key: string;
  lastModified: Date;
}

/**
 * Decides which generations to keep and which by-hash files to delete, given
 * every by-hash object in the bucket (`listed`) and the time `now`.
 */
export function planPrune(
  manifest: GenerationManifest,
  listed: readonly ListedByHash[],
  options: RetentionOptions & { now: Date },
): PrunePlan {
  const keepGenerations = Math.max(1, options.keepGenerations ?? DEFAULT_RETENTION.keepGenerations);
  const keepMs = (options.keepSeconds ?? DEFAULT_RETENTION.keepSeconds) * 1000;
  const now = options.now.getTime();
  const kept: Generation[] = [];
  const known = new Set<string>();
  manifest.generations.forEach((generation, index) => {
    for (const key of generation.keys) known.add(key);
    const replacedBy = index === 0 ? undefined : manifest.generations[index - 1];
    const replacedAt = replacedBy === undefined ? now : Date.parse(replacedBy.published);
    if (index < keepGenerations || now - replacedAt < keepMs) kept.push(generation);
  });
  const keep = new Set(kept.flatMap((generation) => generation.keys));
  const remove = listed.filter((object) => {
    if (keep.has(object.key)) return false;
    if (known.has(object.key)) return true;
    return now - object.lastModified.getTime() >= keepMs;
  }).map((object) => object.key).sort();
  return {
    manifest: { version: 1, generations: kept },
    delete: remove,
    manifestChanged: kept.length !== manifest.generations.length,
  };
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, index) => key === b[index]);
}
