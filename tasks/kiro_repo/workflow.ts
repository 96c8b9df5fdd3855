/**
 * Publishing a built kiro-repo with the packages table and the bucket of the
 * environment (`docs/design.md`, "kiro-repo"): check the table → upload to a
 * staging key → admit it through the one intake (`lambda/store/intake.ts`:
 * size check, copy to the pool, conditional record with `package_type:
 * build_script`) → force rebuild → verify through the repository URL, as apt
 * would see it.
 *
 * Each step reports progress and fails with a {@linkcode KiroRepoStepError}
 * naming the step (the task maps steps to exit codes). Re-running after a
 * failure finishes the job without duplicating anything: bytes already in the
 * pool or already recorded are not uploaded again, and the rebuild and
 * verification run again.
 * A version already recorded with other bytes is refused before anything is
 * written (`RecordConflictError`): the pool object of a published version is
 * never replaced.
 *
 * @module
 */

import { readDebBytes } from "../../lambda/deb/deb_reader.ts";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import { recordFromDeb } from "../../lambda/domain/record_from_deb.ts";
import { compareVersions } from "../../lambda/domain/version.ts";
import { randomUUID } from "node:crypto";
import { DEB_CONTENT_TYPE } from "../../lambda/aws/object_headers.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { sha256Hex } from "../../lambda/hashing.ts";
import { parseRelease } from "../../lambda/repo/release.ts";
import { parseStanzas } from "../../lambda/repo/stanza.ts";
import { readKeyring, verifyClearsigned } from "../../lambda/signing/verify.ts";
import { admitStaged, type RecordStore } from "../../lambda/store/intake.ts";
import {
  differingFields,
  IdentityConflictError,
  type PackageStore,
  type PutResult,
  RecordConflictError,
} from "../../lambda/store/package_store.ts";
import { KIRO_REPO_COMPONENTS, KIRO_REPO_SUITE, type KiroRepoPackage } from "./package.ts";

/** Where a built kiro-repo waits for the intake (the bucket's `staging/` lifecycle rule expires leftovers). */
export const KIRO_REPO_STAGING_PREFIX = "staging/kiro-repo/";

/** The steps of the workflow after the build. */
export type KiroRepoStep = "check" | "upload" | "record" | "rebuild" | "verify";

/** A workflow step failed; `step` says which. */
export class KiroRepoStepError extends Error {
  override name = "KiroRepoStepError";
  readonly step: KiroRepoStep;

  constructor(step: KiroRepoStep, message: string, options?: ErrorOptions) {
    super(message, options);
    this.step = step;
  }
}

/** What a force rebuild reported. */
export interface KiroRepoRebuildOutcome {
  packages: number;
  message?: string;
  [key: string]: unknown;
}

/** A progress event. */
export interface KiroRepoProgress {
  step: KiroRepoStep;
  message: string;
}

/** What the workflow uses (the environment's, or test doubles). */
export interface KiroRepoWorkflowDeps {
  /** The repository bucket. */
  objects: ObjectStore;
  /** The packages table: what the intake needs, and the name's other versions. */
  store: RecordStore & Pick<PackageStore, "listByName">;
  /** The environment's force rebuild (Lambda or in-process); throws on failure. */
  rebuild: () => Promise<KiroRepoRebuildOutcome>;
  /** HTTP GET (default: the global `fetch`). */
  fetch?: (url: string) => Promise<Response>;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  onProgress?: (event: KiroRepoProgress) => void;
}

/** Options of {@linkcode publishKiroRepo}. */
export interface KiroRepoWorkflowOptions {
  /** The bucket's name (for the record's `deb_url`). */
  bucketName: string;
  /** The architectures the repository publishes (stack output `architectures`). */
  architectures?: readonly string[] | undefined;
  /** Stop after the check: nothing is written. */
  dryRun?: boolean;
  /**
   * The channel it enters (default `stable`). Only the `stable` one is
   * `/kiro-repo.deb`; another is verified in its own channel's index.
   */
  channel?: string;
  /** How long the verification may wait for the CDN to serve the new files (default 5 min). */
  verifyTimeoutMs?: number;
  /** Pause between verification attempts (default 5 s). */
  verifyIntervalMs?: number;
}

/** What the verification saw. */
export interface KiroRepoVerification {
  /** The architectures whose `Packages` list the new version. */
  architectures: string[];
  /** The fingerprints of the keys whose InRelease signature verified. */
  signedBy: string[];
  attempts: number;
}

/** What {@linkcode publishKiroRepo} did. */
export interface KiroRepoPublishResult {
  record: PackageRecord;
  dryRun: boolean;
  /** Whether the bytes were uploaded (`false`: the pool already held them). */
  uploaded: boolean;
  /** `created`, or `unchanged` when the same version was already recorded. */
  recorded: PutResult | "skipped";
  rebuild?: KiroRepoRebuildOutcome;
  verification?: KiroRepoVerification;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The packages-table record of a built kiro-repo: its control paragraph,
 * size and hashes read back from the `.deb` with the same reader the other
 * sources use.
 */
export async function kiroRepoRecord(
  pkg: KiroRepoPackage,
  options: {
    bucketName: string;
    now: Date;
    channel?: string;
    architectures?: readonly string[] | undefined;
  },
): Promise<PackageRecord> {
  const info = await readDebBytes(pkg.bytes, { name: pkg.fileName });
  const key = poolKey({
    name: pkg.packageName,
    version: pkg.version,
    architecture: pkg.architecture,
  });
  return recordFromDeb(info, {
    packageType: "build_script",
    debUrl: `s3://${options.bucketName}/${key}`,
    fileName: key.slice(key.lastIndexOf("/") + 1),
    processedAt: options.now,
    pubDate: pkg.buildDate.toISOString(),
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    architectures: options.architectures,
  });
}

/**
 * Publishes `pkg` to the environment behind `deps` (see the module docs).
 * Throws {@linkcode KiroRepoStepError}; its `cause` is the underlying error
 * (a `RecordConflictError` for a version recorded with other bytes).
 */
export async function publishKiroRepo(
  pkg: KiroRepoPackage,
  deps: KiroRepoWorkflowDeps,
  options: KiroRepoWorkflowOptions,
): Promise<KiroRepoPublishResult> {
  const progress = deps.onProgress ?? (() => {});
  const now = deps.now ?? (() => new Date());
  const record = await kiroRepoRecord(pkg, {
    bucketName: options.bucketName,
    now: now(),
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    architectures: options.architectures,
  });
  const what = `${record.package_name} ${record.version}`;

  // 1. Check: never replace a published version's bytes, never publish behind the latest.
  progress({ step: "check", message: `Checking the packages table for ${what}` });
  let existing: PackageRecord | undefined;
  let versions: PackageRecord[];
  try {
    existing = await deps.store.get(record);
    versions = await deps.store.listByName(record.package_name);
  } catch (error) {
    throw new KiroRepoStepError(
      "check",
      `Cannot read the packages table to check ${what}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  if (existing !== undefined) {
    const fields = differingFields(existing, record);
    if (fields.length > 0) {
      const conflict = new RecordConflictError(existing, fields, record);
      throw new KiroRepoStepError(
        "check",
        `${conflict.message}. Nothing was uploaded. Raise "version" in the configuration ` +
          `(or pass --version)`,
        { cause: conflict },
      );
    }
  }
  const newer = versions.filter((other) => compareVersions(other.version, record.version) > 0)
    .map((other) => other.version);
  if (newer.length > 0) {
    throw new KiroRepoStepError(
      "check",
      `Cannot publish ${what}: ${record.package_name} ${
        newer[newer.length - 1]
      } is already recorded, so /kiro-repo.deb and apt would keep the newer one; ` +
        `build a version newer than ${newer[newer.length - 1]}`,
    );
  }
  progress({
    step: "check",
    message: existing === undefined
      ? `${what} is new (SHA-256 ${record.sha256_hash}, ${record.file_size} bytes)`
      : `${what} is already recorded with the same bytes: finishing the publication`,
  });
  if (options.dryRun === true) {
    return { record, dryRun: true, uploaded: false, recorded: "skipped" };
  }

  // 2. Upload to a staging key (skipped when the pool already holds the bytes).
  let uploaded = false;
  const stagingKey = `${KIRO_REPO_STAGING_PREFIX}${randomUUID()}/${
    record.pool_key.slice(record.pool_key.lastIndexOf("/") + 1)
  }`;
  try {
    const head = existing === undefined ? await deps.objects.head(record.pool_key) : undefined;
    if (existing !== undefined) {
      progress({ step: "upload", message: `${record.pool_key} is already recorded (same bytes)` });
    } else if (head?.sha256 === record.sha256_hash && head.size === record.file_size) {
      progress({ step: "upload", message: `${record.pool_key} is already uploaded (same bytes)` });
    } else {
      progress({ step: "upload", message: `Uploading ${record.pool_key} (via ${stagingKey})` });
      await deps.objects.put(stagingKey, pkg.bytes, {
        contentType: DEB_CONTENT_TYPE,
        cacheControl: "no-store",
        sha256: record.sha256_hash,
      });
      uploaded = true;
    }
  } catch (error) {
    await deps.objects.delete(stagingKey).catch(() => {});
    throw new KiroRepoStepError(
      "upload",
      `Cannot upload ${record.pool_key}: ${messageOf(error)}. Nothing was recorded; run the ` +
        `task again`,
      { cause: error },
    );
  }

  // 3. Admit: copy to the pool and record, or neither.
  let recorded: PutResult;
  progress({ step: "record", message: `Recording ${record.package_id} in the packages table` });
  try {
    recorded = (await admitStaged({ stagingKey, record }, {
      objects: deps.objects,
      records: deps.store,
      onWarning: (message) => progress({ step: "record", message }),
    })).outcome;
  } catch (error) {
    if (error instanceof RecordConflictError || error instanceof IdentityConflictError) {
      throw new KiroRepoStepError(
        "record",
        `${error.message}. Raise "version" in the configuration (or pass --version)`,
        { cause: error },
      );
    }
    throw new KiroRepoStepError(
      "record",
      `Cannot record ${record.package_id}: ${messageOf(error)}. Nothing new is in the pool or ` +
        `the table; run the task again`,
      { cause: error },
    );
  }
  progress({
    step: "record",
    message: recorded === "created"
      ? `Recorded ${record.package_id}`
      : `${record.package_id} was already recorded`,
  });

  // 4. Force rebuild.
  progress({ step: "rebuild", message: "Triggering a force rebuild" });
  let rebuild: KiroRepoRebuildOutcome;
  try {
    rebuild = await deps.rebuild();
  } catch (error) {
    throw new KiroRepoStepError(
      "rebuild",
      `The force rebuild failed: ${messageOf(error)}. ${record.package_id} is uploaded and ` +
        `recorded; run the task again (or deno task rebuild) to publish it`,
      { cause: error },
    );
  }
  progress({ step: "rebuild", message: `Rebuilt the repository (${rebuild.packages} packages)` });

  // 5. Verify through the repository URL.
  const verification = await verifyPublished(pkg, record, deps, options);
  return { record, dryRun: false, uploaded, recorded, rebuild, verification };
}

function joinUrl(base: string, path: string): string {
  return `${base}/${path.split("/").map((part) => encodeURIComponent(part)).join("/")}`;
}

async function fetchBytes(
  fetcher: (url: string) => Promise<Response>,
  url: string,
): Promise<Uint8Array> {
  const response = await fetcher(url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${url} answered ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** One verification pass: the problems seen (empty: all good). */
async function verifyOnce(
  pkg: KiroRepoPackage,
  record: PackageRecord,
  fetcher: (url: string) => Promise<Response>,
  channel: string,
): Promise<{ problems: string[]; architectures: string[]; signedBy: string[] }> {
  const base = pkg.repoUrl;
  const problems: string[] = [];
  const architectures: string[] = [];
  const inReleaseUrl = joinUrl(base, `dists/${channel}/InRelease`);
  let releaseText: string;
  const signedBy: string[] = [];
  try {
    const armored = new TextDecoder().decode(await fetchBytes(fetcher, inReleaseUrl));
    const keys = await readKeyring(pkg.keyring);
    const verified = await verifyClearsigned(armored, { keys, name: inReleaseUrl });
    // A signature by a key not in the package's keyring is ignored: apt ignores it too.
    for (const signature of verified.signatures) {
      if (signature.verified && signature.fingerprint !== undefined) {
        signedBy.push(signature.fingerprint);
      }
    }
    if (signedBy.length === 0) {
      problems.push(`${inReleaseUrl} is not signed by any key of the package's keyring`);
    }
    releaseText = verified.text;
  } catch (error) {
    return {
      problems: [`Cannot read ${inReleaseUrl}: ${messageOf(error)}`],
      architectures,
      signedBy,
    };
  }
  const release = parseRelease(releaseText);
  const releaseArchs = release.architectures;
  const hashes = release.files;
  const component = KIRO_REPO_COMPONENTS[0] as string;
  if (releaseArchs.length === 0) problems.push(`${inReleaseUrl} lists no Architectures`);
  for (const arch of releaseArchs) {
    const relative = `${component}/binary-${arch}/Packages`;
    const url = joinUrl(base, `dists/${channel}/${relative}`);
    try {
      const bytes = await fetchBytes(fetcher, url);
      const listed = hashes.get(relative);
      if (listed === undefined) {
        problems.push(`${inReleaseUrl} does not list ${relative}`);
        continue;
      }
      if (listed.sha256?.toLowerCase() !== sha256Hex(bytes)) {
        problems.push(`${url} does not match the SHA-256 the InRelease gives (not yet updated?)`);
        continue;
      }
      const stanza = parseStanzas(new TextDecoder().decode(bytes)).find((fields) =>
        fields.Package === record.package_name && fields.Version === record.version
      );
      if (stanza === undefined) {
        problems.push(`${url} does not list ${record.package_name} ${record.version}`);
      } else if (stanza.SHA256 !== record.sha256_hash) {
        problems.push(
          `${url} lists ${record.package_name} ${record.version} with SHA-256 ${stanza.SHA256}, ` +
            `not ${record.sha256_hash}`,
        );
      } else if (stanza.Filename !== record.pool_key || stanza.Size !== String(record.file_size)) {
        problems.push(
          `${url} lists ${record.package_name} ${record.version} at ${stanza.Filename} ` +
            `(${stanza.Size} bytes), not ${record.pool_key} (${record.file_size} bytes)`,
        );
      } else {
        architectures.push(arch);
      }
    } catch (error) {
      problems.push(`Cannot read ${url}: ${messageOf(error)}`);
    }
  }
  const expectations: [string, (bytes: Uint8Array) => string | undefined][] = [
    [
      record.pool_key,
      (bytes) => sha256Hex(bytes) === record.sha256_hash ? undefined : "is not the uploaded .deb",
    ],
    [
      "kiro-repo.deb",
      (bytes) =>
        sha256Hex(bytes) === record.sha256_hash
          ? undefined
          : `is not ${record.package_name} ${record.version} (SHA-256 ${sha256Hex(bytes)})`,
    ],
    [
      "kiro-archive-keyring.pgp",
      (bytes) =>
        sha256Hex(bytes) === sha256Hex(pkg.keyring)
          ? undefined
          : "differs from the keyring in the package: users of this package could not verify " +
            "the repository",
    ],
  ];
  // `/kiro-repo.deb` is the stable channel's newest kiro-repo.
  if (channel !== KIRO_REPO_SUITE) expectations.splice(1, 1);
  for (const [path, check] of expectations) {
    const url = joinUrl(base, path);
    try {
      const problem = check(await fetchBytes(fetcher, url));
      if (problem !== undefined) problems.push(`${url} ${problem}`);
    } catch (error) {
      problems.push(`Cannot read ${url}: ${messageOf(error)}`);
    }
  }
  return { problems, architectures, signedBy };
}

async function verifyPublished(
  pkg: KiroRepoPackage,
  record: PackageRecord,
  deps: KiroRepoWorkflowDeps,
  options: KiroRepoWorkflowOptions,
): Promise<KiroRepoVerification> {
  const progress = deps.onProgress ?? (() => {});
  const fetcher = deps.fetch ?? ((url: string) => fetch(url));
  const sleep = deps.sleep ??
    ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const timeout = options.verifyTimeoutMs ?? 300_000;
  const interval = options.verifyIntervalMs ?? 5_000;
  const started = Date.now();
  progress({ step: "verify", message: `Verifying ${pkg.repoUrl} as apt sees it` });
  for (let attempt = 1;; attempt++) {
    const { problems, architectures, signedBy } = await verifyOnce(
      pkg,
      record,
      fetcher,
      options.channel ?? KIRO_REPO_SUITE,
    );
    if (problems.length === 0) {
      progress({
        step: "verify",
        message: `${record.package_name} ${record.version} is published (${
          architectures.join(", ")
        }; signed by ${signedBy.join(", ")}) and is ${pkg.repoUrl}/kiro-repo.deb`,
      });
      return { architectures, signedBy, attempts: attempt };
    }
    if (Date.now() - started + interval > timeout) {
      throw new KiroRepoStepError(
        "verify",
        `The repository at ${pkg.repoUrl} does not serve ${record.package_name} ` +
          `${record.version} as expected after ${attempt} attempt(s):\n${
            problems.map((problem) => `  - ${problem}`).join("\n")
          }\nThe package is recorded; once the cause is fixed, run the task again`,
      );
    }
    progress({
      step: "verify",
      message: `Not there yet (${problems[0]}${
        problems.length > 1 ? `, and ${problems.length - 1} more` : ""
      }); trying again in ${Math.round(interval / 1000)} s`,
    });
    await sleep(interval);
  }
}
