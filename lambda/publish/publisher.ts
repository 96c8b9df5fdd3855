/**
 * Publishing the repository: from the package records (and nothing else) to
 * every object under `dists/CHANNEL/` of every channel, the keyring,
 * `/kiro-repo.deb` and `/index.html`, written so that an `apt-get update` at
 * any moment sees either the old repository or the new one (`docs/design.md`,
 * "Repository layout and publishing"). What each channel's index lists is
 * `channelIndex` (`lambda/domain/channels.ts`): its published members, less
 * what `keep_versions` retains out. All channels share one pool.
 *
 * 1. the pool objects are already there: each listed record's that no
 *    channel's live generation lists (every listed record's once a day, or
 *    without a history) is checked (exists, size, MD5 via a single-part ETag
 *    or SHA-256 via metadata; `planPoolCheck` in `pool_check.ts`), or
 *    nothing is published (the check's requests run while the indexes are
 *    generated and signed, which write nothing);
 * 2. by-hash index files (content-addressed, so old clients keep theirs);
 * 3. the by-hash generation manifest (what to keep when pruning);
 * 4. the canonical index names (`Packages`, `.gz`, `.xz`);
 * 5. `Release.gpg`, then `Release`, then `InRelease` (what apt reads first);
 * 6. the keyring, the `kiro-repo.deb` convenience copy, `index.html`;
 * 7. one publish history entry per channel (what entered and left its
 *    index), when a history is given;
 * 8. one CDN invalidation of the mutable paths that changed;
 * 9. pruning of by-hash files no kept generation names.

 * Each phase is written for every channel before the next one starts, so
 * each channel's own order holds.
 *
 * Objects whose content is already there (SHA-256 in the object's metadata,
 * read with HEAD; for by-hash keys the key itself names the hash) are not
 * written again. `Date` never goes backwards: it is at least one second
 * after the live Release's.
 *
 * @module
 */

import {
  channelIndexes,
  DEFAULT_CHANNELS,
  identityLabel,
  type KeepVersions,
} from "../domain/channels.ts";
import type { PackageRecord } from "../domain/package_record.ts";
import type {
  HistoryEntry,
  HistoryRecorder,
  LiveGeneration,
  PoolCheckScope,
} from "../store/history.ts";
import { compareVersions } from "../domain/version.ts";
import { type GeneratedIndexes, generateIndexes, type IndexOptions } from "../repo/indexes.ts";
import { parseRelease, type ReleaseFileLine } from "../repo/release.ts";
import type { SigningKey } from "../signing/keys.ts";
import { keyFingerprints, publicKeyring } from "../signing/keys.ts";
import { signRelease } from "../signing/sign.ts";
import {
  addGeneration,
  type GenerationManifest,
  manifestKey,
  parseManifest,
  planPrune,
  type RetentionOptions,
  serializeManifest,
} from "./generations.ts";
import { channelListing, indexHtml, KEYRING_NAME, type PackageSummary } from "./index_html.ts";
import { type CdnInvalidator, invalidationPaths } from "../aws/invalidation.ts";
import { headersFor, isByHashKey } from "../aws/object_headers.ts";
import type { ObjectStore } from "../aws/object_store.ts";
import { sha256Hex } from "../hashing.ts";
import { planPoolCheck, type PoolCheckStrategy, verifyPool } from "./pool_check.ts";
import { mapLimit } from "./limit.ts";
import { nextReleaseDate, releaseDateOf } from "./release_date.ts";

/** The key of the convenience copy of the latest `kiro-repo`. */
export const KIRO_REPO_DEB_KEY = "kiro-repo.deb";

/** The package whose latest version is copied to {@linkcode KIRO_REPO_DEB_KEY}. */
export const KIRO_REPO_PACKAGE = "kiro-repo";

/** The key of the index page. */
export const INDEX_HTML_KEY = "index.html";

/** The Release fields that describe the repository. */
export interface ReleaseFields {
  origin: string;
  label: string;
  description: string;
  /** The repository's version (`""` leaves the field out). */
  version: string;
}

/** The default Release fields. */
export const DEFAULT_RELEASE_FIELDS: ReleaseFields = {
  origin: "Kiro",
  label: "Kiro",
  description: "Kiro packages for Debian and Ubuntu",
  version: "1.0",
};

/** A progress event of a publish. */
export interface PublishProgress {
  phase: "verify" | "generate" | "sign" | "compare" | "upload" | "invalidate" | "prune";
  message: string;
}

/** The shape of the published repository: what a publish writes and a verify expects. */
export interface RepositoryLayoutOptions {
  /**
   * The channels (suites/codenames), the default one first: it decides
   * `/kiro-repo.deb`. Default {@linkcode DEFAULT_CHANNELS}.
   */
  channels?: readonly string[];
  /** Package name → how many newest versions each channel's index keeps per architecture. */
  keepVersions?: KeepVersions;
  /** The component. Default `main`. */
  component?: string;
  /**
   * The architectures that always get a `binary-*` index, even when empty.
   * Default `["amd64", "arm64"]`; every architecture of a record is added.
   */
  architectures?: readonly string[];
  /** The Release's descriptive fields (defaults: {@linkcode DEFAULT_RELEASE_FIELDS}). */
  releaseFields?: Partial<ReleaseFields>;
}

/** Options of {@linkcode publishRepository}. */
export interface PublishOptions extends RepositoryLayoutOptions {
  /** Where the repository lives. */
  objects: ObjectStore;
  /** The signing keys (every one signs; the keyring holds them all). */
  keys: readonly SigningKey[];
  /** The repository's public URL (for index.html). */
  repoUrl: string;
  /** The current time. Default: now. */
  now?: Date;
  /** `Valid-Until` is `Date` plus this many days. Default 7. */
  validUntilDays?: number;
  /** The CDN to invalidate (absent: no CDN, as locally). */
  invalidator?: CdnInvalidator;
  /** How long old by-hash files are kept. */
  retention?: RetentionOptions;
  /** Parallel requests to the object store. Default 16. */
  concurrency?: number;
  /**
   * How the pool objects are read (default: a HEAD each for at most 100
   * records, else listings of their folders).
   */
  poolCheck?: PoolCheckStrategy;
  /**
   * Which pool objects are checked: `changed` (default) those of the
   * identities no channel's live generation lists (read from `history`), and
   * every listed one when the last full check is `fullPoolCheckEveryMs` old;
   * `full` every listed one.
   */
  poolCheckScope?: PoolCheckScope;
  /** How old the last full pool check may be before `changed` checks everything (default one day). */
  fullPoolCheckEveryMs?: number;
  /** Told what is happening. */
  onProgress?: (event: PublishProgress) => void;
  /** Told about things that are wrong but do not stop the publish. */
  onWarning?: (message: string) => void;
  /** Where each channel's publication is recorded (absent: not recorded). */
  history?: HistoryRecorder;
  /** Who or what started the publish, for the history (default `unknown`). */
  startedBy?: string;
  /**
   * Wait, before replacing the Release files, until the clock is past the
   * second in which the live ones were written (default true). apt
   * revalidates InRelease with If-Modified-Since, and Last-Modified has
   * one-second resolution: a Release replaced within the second it was
   * written would look unmodified to a client that fetched it.
   */
  sameSecondGuard?: boolean;
  /**
   * When aborted (the publisher lease was lost), no further write starts and
   * the publish throws the abort reason.
   */
  signal?: AbortSignal;
}

/** Milliseconds spent in each part of a publish. */
export interface PublishTimings {
  verify: number;
  generate: number;
  sign: number;
  compare: number;
  upload: number;
  invalidate: number;
  prune: number;
}

/** What a publish did to one channel. */
export interface ChannelPublishResult {
  channel: string;
  /** How many records its index lists. */
  packages: number;
  /** Its Release `Date` and `Valid-Until`. */
  date: Date;
  validUntil: Date;
  /** The SHA-256 of its Release. */
  releaseSha256: string;
  /** The history entry recorded for it, when a history was given. */
  history?: HistoryEntry;
}

/** What a publish did. */
export interface PublishResult {
  /** How many records were published (in at least one channel's index). */
  packages: number;
  /** Each channel's publication, in the order of the channels. */
  channels: ChannelPublishResult[];
  /** Keys written (put or copied), in write order. */
  written: string[];
  /** How many desired objects were already there with the same content. */
  skipped: number;
  /** By-hash keys deleted. */
  pruned: string[];
  /** The default channel's Release `Date`. */
  date: Date;
  /** The default channel's Release `Valid-Until`. */
  validUntil: Date;
  /** The CDN invalidation, when one was made. */
  invalidation?: { id: string; paths: string[] };
  timings: PublishTimings;
}

/** A record's pool object is missing or is not the file the record describes. */
export class PoolVerificationError extends Error {
  /** One line per problem. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    const shown = problems.slice(0, 10).join("; ");
    const more = problems.length > 10 ? ` (and ${problems.length - 10} more)` : "";
    super(
      `Refusing to publish: ${problems.length} pool object(s) do not match their records: ` +
        `${shown}${more}; upload the files again (deno task add-deb) or fix the records`,
    );
    this.name = "PoolVerificationError";
    this.problems = problems;
  }
}

/**
 * Resolves once the clock is in a later second than every time in `times`
 * (at most about one second from now; at once when they are older).
 */
async function nextSecondAfter(times: readonly Date[]): Promise<void> {
  const latest = Math.max(0, ...times.map((time) => time.getTime()));
  const due = (Math.floor(latest / 1000) + 1) * 1000 + 20;
  const wait = Math.min(due - Date.now(), 1100);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/** One object the publish wants in the store. */
interface Desired {
  key: string;
  /** The phase it is written in (lower first). */
  phase: number;
  sha256: string;
  size: number;
  contentType: string;
  cacheControl: string;
  /** The bytes, or for a copy the key to copy from. */
  body: { bytes: Uint8Array } | { copyFrom: string };
}

const PHASE = {
  byHash: 1,
  manifest: 2,
  indexes: 3,
  releaseGpg: 4,
  release: 5,
  inRelease: 6,
  extras: 7,
} as const;

/**
 * Publishes `records` (every record of the table: what each channel's index
 * lists is chosen from them) to `options.objects`, in the crash-safe order
 * of the module docs.
 *
 * Throws {@linkcode PoolVerificationError} (before writing anything) when a
 * record's pool object is missing or different.
 */
export async function publishRepository(
  records: readonly PackageRecord[],
  options: PublishOptions,
): Promise<PublishResult> {
  const objects = options.objects;
  const channels = options.channels ?? DEFAULT_CHANNELS;
  const component = options.component ?? "main";
  const concurrency = options.concurrency ?? 16;
  const progress = options.onProgress ?? (() => {});
  const warn = options.onWarning ?? (() => {});
  const timings: PublishTimings = {
    verify: 0,
    generate: 0,
    sign: 0,
    compare: 0,
    upload: 0,
    invalidate: 0,
    prune: 0,
  };
  const time = async <T>(part: keyof PublishTimings, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      timings[part] += performance.now() - start;
    }
  };
  if (options.keys.length === 0) {
    throw new Error("Cannot publish: no signing key given (load the key from its secret first)");
  }
  if (channels.length === 0) throw new Error("Cannot publish: no channel is configured");
  const validUntilDays = options.validUntilDays ?? 7;
  if (!(validUntilDays > 0)) {
    throw new Error(`Cannot publish: validUntilDays must be positive (got ${validUntilDays})`);
  }

  const selections = channelIndexes(records, {
    channels,
    ...(options.keepVersions === undefined ? {} : { keepVersions: options.keepVersions }),
  });
  const indexed = [
    ...new Map(
      [...selections.values()].flatMap((selection) => selection.listed)
        .map((record) => [record.pool_key, record]),
    ).values(),
  ];
  const now = options.now ?? new Date();
  const history = options.history;
  const live = history?.live === undefined ? undefined : await time(
    "verify",
    (): Promise<LiveGeneration[]> => Promise.all(channels.map((channel) => history.live!(channel))),
  );
  const check = planPoolCheck(indexed, live, {
    now,
    ...(options.poolCheckScope === undefined ? {} : { scope: options.poolCheckScope }),
    ...(options.fullPoolCheckEveryMs === undefined
      ? {}
      : { fullEveryMs: options.fullPoolCheckEveryMs }),
    ...(options.poolCheck === undefined ? {} : { strategy: options.poolCheck }),
  });
  progress({
    phase: "verify",
    message: `Checking the pool objects of ${check.records.length} of ${indexed.length} ` +
      `records (${check.scope}: ${check.reason})`,
  });
  // What is live (the by-hash files, each channel's Release and manifest, the
  // index files an unchanged index may reuse) is read first: generation needs
  // it, and it is a few requests, which at a store that serves one request at
  // a time (the local stand-in) would otherwise wait behind the pool check's
  // listings (a page per 1,000 objects). On S3 this delays the check by one
  // round trip.
  const liveState = time("compare", () => readLiveState(channels, objects));
  // The pool check (requests to the store) then runs while the indexes are
  // generated and signed (CPU, read-only): nothing is written until both are
  // done and the check found nothing wrong.
  const checking = liveState.then(() =>
    time(
      "verify",
      () => verifyPool(check.records, objects, { concurrency, strategy: check.strategy }),
    )
  );
  const desired: Desired[] = [];
  const add = (key: string, phase: number, bytes: Uint8Array, canonicalName?: string) => {
    desired.push({
      key,
      phase,
      sha256: sha256Hex(bytes),
      size: bytes.byteLength,
      ...headersFor(key, canonicalName === undefined ? {} : { canonicalName }),
      body: { bytes },
    });
  };
  const encode = (text: string) => new TextEncoder().encode(text);

  /** What the publish does to one channel. */
  interface ChannelPlan {
    channel: string;
    listed: PackageRecord[];
    date: Date;
    validUntil: Date;
    release: string;
    byHashKeys: string[];
    manifest: GenerationManifest;
  }
  const planChannels = async (): Promise<ChannelPlan[]> => {
    const state = await liveState;
    const plans: ChannelPlan[] = [];
    for (const channel of channels) {
      const listed = selections.get(channel)?.listed ?? [];
      const distsPrefix = `dists/${channel}/`;
      const releaseKey = `${distsPrefix}Release`;
      const { release: liveRelease, manifest: manifestBytes, live } = state.channels.get(channel)!;
      const liveDate = releaseDateOf(liveRelease);
      const date = nextReleaseDate(now, liveDate);
      if (liveDate !== undefined && date.getTime() < liveDate.getTime()) {
        warn(
          `The live ${releaseKey} is dated ${liveDate.toISOString()}, more than an hour ahead of ` +
            `the clock (${now.toISOString()}): dating the new Release ${date.toISOString()} instead`,
        );
      }
      const validUntil = new Date(date.getTime() + validUntilDays * 86_400_000);

      progress({ phase: "generate", message: `Generating the indexes of ${channel}` });
      const indexes = await time("generate", () =>
        generateRepositoryIndexes(listed, {
          date,
          validUntil,
          distribution: channel,
          component,
          live,
          ...(options.architectures === undefined ? {} : { architectures: options.architectures }),
          ...(options.releaseFields === undefined ? {} : { releaseFields: options.releaseFields }),
        }));

      progress({
        phase: "sign",
        message: `Signing the Release of ${channel} with ${options.keys.length} key(s)`,
      });
      const signatures = await time("sign", () => signRelease(indexes.release, options.keys));
      const byHashKeys: string[] = [];
      for (const file of indexes.files) {
        if (file.kind === "by-hash") {
          add(file.path, PHASE.byHash, file.bytes, file.canonicalName);
          byHashKeys.push(file.path);
        } else {
          add(file.path, PHASE.indexes, file.bytes);
        }
      }
      // An unchanged index's compressed files are live: named, not written.
      for (const file of indexes.reused) if (file.kind === "by-hash") byHashKeys.push(file.path);
      add(`${distsPrefix}Release.gpg`, PHASE.releaseGpg, encode(signatures.releaseGpg));
      add(indexes.releasePath, PHASE.release, encode(indexes.release));
      add(`${distsPrefix}InRelease`, PHASE.inRelease, encode(signatures.inRelease));

      // The generation manifest: written before the indexes, so that a by-hash
      // file is known (and kept) before any Release names it.
      const manifest = parseManifest(manifestBytes, { warn });
      const withNew = addGeneration(manifest, byHashKeys, date);
      if (withNew !== manifest) {
        add(manifestKey(channel), PHASE.manifest, serializeManifest(withNew));
      }
      plans.push({
        channel,
        listed,
        date,
        validUntil,
        release: indexes.release,
        byHashKeys,
        manifest: withNew,
      });
    }
    return plans;
  };
  const [problems, plans] = await Promise.all([checking, planChannels()]);
  if (problems.length > 0) throw new PoolVerificationError(problems);
  const listedByHash = (await liveState).byHash;

  add(KEYRING_NAME, PHASE.extras, publicKeyring(options.keys));
  // The convenience copy follows the default channel.
  const kiroRepo = latestRecord(plans[0]?.listed ?? [], KIRO_REPO_PACKAGE);
  if (kiroRepo !== undefined) {
    desired.push({
      key: KIRO_REPO_DEB_KEY,
      phase: PHASE.extras,
      sha256: kiroRepo.sha256_hash,
      size: kiroRepo.file_size,
      ...headersFor(KIRO_REPO_DEB_KEY),
      body: { copyFrom: kiroRepo.pool_key },
    });
  }
  add(
    INDEX_HTML_KEY,
    PHASE.extras,
    encode(indexHtml({
      repoUrl: options.repoUrl,
      listings: plans.map((plan) =>
        channelListing(plan.channel, plan.listed, {
          lastPublished: plan.manifest.generations[0]?.published,
        })
      ),
      component,
      fingerprints: keyFingerprints(options.keys),
      hasKiroRepoDeb: kiroRepo !== undefined,
    })),
  );

  progress({ phase: "compare", message: `Comparing ${desired.length} objects with the store` });
  const liveModified = new Map<string, Date>();
  const changed = await time("compare", () =>
    mapLimit(desired, concurrency, async (object) => {
      if (isByHashKey(object.key)) {
        // The key names the content's hash: present with the right size is unchanged.
        return listedByHash.get(object.key)?.size !== object.size ||
          !object.key.endsWith(`/${object.sha256}`);
      }
      const head = await objects.head(object.key);
      if (head?.lastModified !== undefined) liveModified.set(object.key, head.lastModified);
      return head?.sha256 !== object.sha256 || head.size !== object.size ||
        head.contentType !== object.contentType || head.cacheControl !== object.cacheControl;
    }));
  const toWrite = desired.filter((_, index) => changed[index]);
  const skipped = desired.length - toWrite.length;

  progress({
    phase: "upload",
    message: `Writing ${toWrite.length} objects (${skipped} unchanged)`,
  });
  const written: string[] = [];
  await time("upload", async () => {
    const phases = [...new Set(toWrite.map((object) => object.phase))].sort((a, b) => a - b);
    for (const phase of phases) {
      if (phase === PHASE.releaseGpg && options.sameSecondGuard !== false) {
        await nextSecondAfter(
          [...liveModified.entries()]
            .filter(([key]) => /^dists\/[^/]+\/(In)?Release(\.gpg)?$/.test(key))
            .map(([, modified]) => modified),
        );
      }
      options.signal?.throwIfAborted();
      const batch = toWrite.filter((object) => object.phase === phase);
      await mapLimit(batch, concurrency, async (object) => {
        const headers = {
          contentType: object.contentType,
          cacheControl: object.cacheControl,
          sha256: object.sha256,
        };
        if ("bytes" in object.body) await objects.put(object.key, object.body.bytes, headers);
        else await objects.copy(object.body.copyFrom, object.key, headers);
        written.push(object.key);
      });
    }
  });

  // No kiro-repo is published (the only one was withdrawn): the convenience
  // copy must not keep serving it.
  const removed: string[] = [];
  if (kiroRepo === undefined && await objects.head(KIRO_REPO_DEB_KEY) !== undefined) {
    options.signal?.throwIfAborted();
    progress({
      phase: "upload",
      message: `Deleting ${KIRO_REPO_DEB_KEY}: no kiro-repo is published`,
    });
    await objects.delete(KIRO_REPO_DEB_KEY);
    removed.push(KIRO_REPO_DEB_KEY);
  }

  const channelResults: ChannelPublishResult[] = [];
  for (const plan of plans) {
    const releaseSha256 = sha256Hex(encode(plan.release));
    const result: ChannelPublishResult = {
      channel: plan.channel,
      packages: plan.listed.length,
      date: plan.date,
      validUntil: plan.validUntil,
      releaseSha256,
    };
    if (options.history !== undefined) {
      result.history = await options.history.record(plan.channel, {
        listed: plan.listed.map(identityLabel),
        published_at: plan.date.toISOString(),
        started_by: options.startedBy ?? "unknown",
        release_sha256: releaseSha256,
        pool_check: check.scope,
      });
    }
    channelResults.push(result);
  }

  let invalidation: PublishResult["invalidation"];
  const paths = invalidationPaths([...written, ...removed]);
  if (options.invalidator !== undefined && paths.length > 0) {
    const invalidator = options.invalidator;
    progress({ phase: "invalidate", message: `Invalidating ${paths.join(", ")}` });
    const id = await time("invalidate", () => invalidator.invalidate(paths));
    invalidation = { id, paths };
  }

  options.signal?.throwIfAborted();
  progress({ phase: "prune", message: "Pruning by-hash files that no kept generation names" });
  const pruned = await time("prune", async () => {
    const doomed: string[] = [];
    for (const plan of plans) {
      const prefix = `dists/${plan.channel}/`;
      const listed = [...listedByHash]
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, value]) => ({ key, lastModified: value.lastModified }));
      const prunePlan = planPrune(plan.manifest, listed, {
        ...options.retention,
        now: options.now ?? new Date(),
      });
      // Never delete what this publish names, whatever the manifest says.
      const live = new Set(plan.byHashKeys);
      doomed.push(...prunePlan.delete.filter((key) => !live.has(key)));
      if (prunePlan.manifestChanged) {
        const bytes = serializeManifest(prunePlan.manifest);
        await objects.put(manifestKey(plan.channel), bytes, {
          ...headersFor(manifestKey(plan.channel)),
          sha256: sha256Hex(bytes),
        });
      }
    }
    await mapLimit(doomed, concurrency, (key) => objects.delete(key));
    return doomed;
  });

  const first = channelResults[0] as ChannelPublishResult;
  return {
    packages: indexed.length,
    channels: channelResults,
    written,
    skipped,
    pruned,
    date: first.date,
    validUntil: first.validUntil,
    ...(invalidation === undefined ? {} : { invalidation }),
    timings,
  };
}

/** The default architectures: each always gets a `binary-*` index. */
export const DEFAULT_ARCHITECTURES: readonly string[] = ["amd64", "arm64"];

/**
 * The index files and Release text the publisher writes for `records`, with
 * the given `Date` and `Valid-Until` (the verifier calls this with the live
 * Release's, to compare byte for byte).
 */
export function generateRepositoryIndexes(
  records: readonly PackageRecord[],
  options: {
    date: Date;
    validUntil: Date;
    distribution: string;
    component: string;
    architectures?: readonly string[];
    releaseFields?: Partial<ReleaseFields>;
    /** Which compressed variants to write (default both; `[]` for the plain `Packages` only). */
    compression?: readonly ("gzip" | "xz")[];
    /** Live files an unchanged index reuses (`liveIndexFiles`; see `generateIndexes`). */
    live?: IndexOptions["live"];
  },
): Promise<GeneratedIndexes> {
  const architectures = [
    ...new Set([
      ...(options.architectures ?? DEFAULT_ARCHITECTURES),
      ...records.map((record) => record.architecture).filter((arch) => arch !== "all"),
    ]),
  ].sort();
  return generateIndexes(records, {
    ...DEFAULT_RELEASE_FIELDS,
    ...options.releaseFields,
    suite: options.distribution,
    codename: options.distribution,
    components: [options.component],
    architectures,
    date: options.date,
    validUntil: options.validUntil,
    strict: true,
    ...(options.compression === undefined ? {} : { compression: options.compression }),
    ...(options.live === undefined ? {} : { live: options.live }),
  });
}

/** What is live before a publish ({@linkcode readLiveState}). */
interface LiveState {
  /**
   * The by-hash files under `dists/`: what the compare trusts by key, what an
   * unchanged index may reuse, what pruning chooses from.
   */
  byHash: Map<string, { size: number; lastModified: Date }>;
  /** Each channel's live Release, generation manifest and reusable index files. */
  channels: Map<string, {
    release: string | undefined;
    manifest: Uint8Array | undefined;
    live: NonNullable<IndexOptions["live"]>;
  }>;
}

/**
 * What is live for `channels`: the by-hash listing of `dists/` and every
 * channel's Release and manifest, all requested at once, then the index files
 * each channel's Release names that an unchanged index may reuse
 * ({@linkcode liveIndexFiles}).
 */
async function readLiveState(
  channels: readonly string[],
  objects: ObjectStore,
): Promise<LiveState> {
  const byHash: LiveState["byHash"] = new Map();
  const listing = async () => {
    for await (const object of objects.list("dists/")) {
      if (isByHashKey(object.key)) {
        byHash.set(object.key, { size: object.size, lastModified: object.lastModified });
      }
    }
  };
  const [, read] = await Promise.all([
    listing(),
    Promise.all(channels.map(async (channel) => {
      const [release, manifest] = await Promise.all([
        objects.get(`dists/${channel}/Release`),
        objects.get(manifestKey(channel)),
      ]);
      return { channel, release: release && new TextDecoder().decode(release), manifest };
    })),
  ]);
  const state: LiveState = { byHash, channels: new Map() };
  await Promise.all(read.map(async ({ channel, release, manifest }) => {
    const live = await liveIndexFiles(release, { channel, objects, byHash });
    state.channels.set(channel, { release, manifest, live });
  }));
  return state;
}

/**
 * The files of `channel`'s live Release whose objects are there as listed:
 * each compressed `Packages` variant whose canonical object has the listed
 * SHA-256 (metadata) and size, and whose by-hash copy is in `byHash` with
 * that size; each `Packages` line as listed. An unchanged index reuses these
 * lines rather than compressing again (`docs/design.md`, "Publishing order").
 */
async function liveIndexFiles(
  liveRelease: string | undefined,
  options: {
    channel: string;
    objects: ObjectStore;
    byHash: ReadonlyMap<string, { size: number }>;
  },
): Promise<NonNullable<IndexOptions["live"]>> {
  const proven = new Map<string, ReleaseFileLine>();
  if (liveRelease === undefined) return proven;
  const { files } = parseRelease(liveRelease);
  const prefix = `dists/${options.channel}/`;
  await Promise.all([...files].map(async ([name, line]) => {
    if (name.endsWith("/Packages")) {
      proven.set(name, line);
      return;
    }
    if (!/\/Packages\.(gz|xz)$/.test(name) || line.sha256 === undefined) return;
    const dir = name.slice(0, name.lastIndexOf("/"));
    if (options.byHash.get(`${prefix}${dir}/by-hash/SHA256/${line.sha256}`)?.size !== line.size) {
      return;
    }
    const head = await options.objects.head(`${prefix}${name}`);
    if (head?.sha256 === line.sha256 && head.size === line.size) proven.set(name, line);
  }));
  return proven;
}

/**
 * The record of the highest version (dpkg order) of `name`, or `undefined`.
 * Among records of that version, `all` wins, then `amd64`, then the first
 * architecture by name.
 */
export function latestRecord(
  records: readonly PackageRecord[],
  name: string,
): PackageRecord | undefined {
  const archRank = (arch: string) => arch === "all" ? 0 : arch === "amd64" ? 1 : 2;
  let best: PackageRecord | undefined;
  for (const record of records) {
    if (record.package_name !== name) continue;
    if (best === undefined) {
      best = record;
      continue;
    }
    const order = compareVersions(record.version, best.version);
    if (
      order > 0 ||
      (order === 0 && (archRank(record.architecture) < archRank(best.architecture) ||
        (archRank(record.architecture) === archRank(best.architecture) &&
          record.architecture < best.architecture)))
    ) {
      best = record;
    }
  }
  return best;
}

/** One {@linkcode PackageSummary} per package name, sorted by name. */
export function packageSummaries(records: readonly PackageRecord[]): PackageSummary[] {
  // One pass groups the records by name (not one filter of every record per name).
  const byName = new Map<string, PackageRecord[]>();
  for (const record of records) {
    const own = byName.get(record.package_name);
    if (own === undefined) byName.set(record.package_name, [record]);
    else own.push(record);
  }
  const names = [...byName.keys()].sort();
  return names.map((name) => {
    const own = byName.get(name) as PackageRecord[];
    const latest = latestRecord(own, name) as PackageRecord;
    const architectures = [
      ...new Set(
        own.filter((record) => compareVersions(record.version, latest.version) === 0)
          .map((record) => record.architecture),
      ),
    ].sort();
    const description = latest.control["Description"] ?? latest.description;
    return {
      name,
      latestVersion: latest.version,
      architectures,
      versionCount: new Set(own.map((record) => record.version)).size,
      synopsis: (description.split("\n")[0] ?? "").trim(),
    };
  });
}
