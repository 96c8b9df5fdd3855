/**
 * A complete signed APT repository written to a folder from `.deb` files, with
 * the engine's own pieces — `readDeb` for the records, `poolKey` for the pool
 * layout, `generateIndexes` for `dists/` (Packages and compressed variants,
 * by-hash copies, Release) and `signRelease` for InRelease and Release.gpg —
 * so that tests can serve it (`serveDirectory`) to a real apt.
 *
 * @module
 */

import type { PackageRecord, PackageType } from "../../lambda/domain/package_record.ts";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import { getField } from "../../lambda/deb/control.ts";
import { readDebBytes } from "../../lambda/deb/deb_reader.ts";
import { recordFromDeb as engineRecordFromDeb } from "../../lambda/domain/record_from_deb.ts";
import { generateIndexes } from "../../lambda/repo/indexes.ts";
import { publicKeyring, type SigningKey } from "../../lambda/signing/keys.ts";
import { signRelease } from "../../lambda/signing/sign.ts";

/** One `.deb` to publish. */
export interface FolderDeb {
  bytes: Uint8Array;
  /** The name it had where it came from (default: the pool file name). */
  fileName?: string;
  /** Default `upload`. */
  packageType?: PackageType;
}

/** Options of {@linkcode writeFolderRepository}. */
export interface FolderRepositoryOptions {
  debs: readonly FolderDeb[];
  /** Every key signs InRelease and Release.gpg; the keyring holds them all. */
  keys: readonly SigningKey[];
  /** Default `stable`. */
  distribution?: string;
  /** Default `main`. */
  component?: string;
  /** Default `["amd64", "arm64"]`. */
  architectures?: readonly string[];
  /** The Release `Date` and the signatures' date (default: now). */
  date?: Date;
  /** The Release `Valid-Until` (default: `date` + 7 days). */
  validUntil?: Date;
  /** The keyring's file name at the repository root (default `kiro-archive-keyring.pgp`). */
  keyringName?: string;
  /** Release `Origin` (default `Kiro`). */
  origin?: string;
  /** Release `Label` (default `Kiro`). */
  label?: string;
  /** Release `Description`. */
  description?: string;
}

/** What {@linkcode writeFolderRepository} wrote. */
export interface FolderRepository {
  /** The repository root (serve this). */
  dir: string;
  /** One record per `.deb`, as the packages table would hold it. */
  records: PackageRecord[];
  /** Every file written, relative to `dir`, sorted. */
  files: string[];
  /** `dists/{distribution}`, relative to `dir`. */
  distsPath: string;
  /** Index files per architecture: how many stanzas each `Packages` holds. */
  counts: Record<string, number>;
  release: string;
  inRelease: string;
  releaseGpg: string;
  /** The binary public keyring (also written at `keyringPath`). */
  keyring: Uint8Array;
  /** Absolute path of the keyring file. */
  keyringPath: string;
}

/**
 * The packages-table record of a `.deb`: its control paragraph, size and
 * hashes (read with the engine's `readDeb`), and its pool key.
 */
export async function recordFromDeb(
  deb: FolderDeb,
  options: { now?: Date } = {},
): Promise<PackageRecord> {
  const info = await readDebBytes(deb.bytes, { name: deb.fileName ?? "fixture.deb" });
  const field = (name: string) => getField(info.control, name)!;
  const fileName = deb.fileName ??
    poolKey({
      name: field("Package"),
      version: field("Version"),
      architecture: field("Architecture"),
    })
      .split("/").at(-1)!;
  return engineRecordFromDeb(info, {
    packageType: deb.packageType ?? "upload",
    debUrl: `file://${fileName}`,
    fileName,
    processedAt: options.now ?? new Date(),
    // A folder repository publishes whatever architectures its packages have.
    architectures: [field("Architecture")],
  });
}

/**
 * Writes a signed repository for `debs` under `dir` (which should be empty):
 * `pool/…`, `dists/{distribution}/…` (indexes, by-hash, Release, InRelease,
 * Release.gpg) and the public keyring at the root.
 */
export async function writeFolderRepository(
  dir: string,
  options: FolderRepositoryOptions,
): Promise<FolderRepository> {
  const distribution = options.distribution ?? "stable";
  const component = options.component ?? "main";
  const architectures = options.architectures ?? ["amd64", "arm64"];
  const date = options.date ?? new Date();
  const validUntil = options.validUntil ?? new Date(date.getTime() + 7 * 86_400_000);
  const root = dir.replace(/\/+$/, "");
  const written: string[] = [];
  const write = async (path: string, bytes: Uint8Array | string) => {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof bytes === "string") await Deno.writeTextFile(full, bytes);
    else await Deno.writeFile(full, bytes);
    written.push(path);
  };

  const records: PackageRecord[] = [];
  for (const deb of options.debs) {
    const record = await recordFromDeb(deb, { now: date });
    if (records.some((known) => known.pool_key === record.pool_key)) {
      throw new Error(`writeFolderRepository: two debs have the pool key ${record.pool_key}`);
    }
    records.push(record);
    await write(record.pool_key, deb.bytes);
  }

  const indexes = await generateIndexes(records, {
    suite: distribution,
    codename: distribution,
    components: [component],
    architectures,
    origin: options.origin ?? "Kiro",
    label: options.label ?? "Kiro",
    description: options.description ?? "Kiro packages (test repository)",
    version: "",
    date,
    validUntil,
    strict: true,
  });
  const distsPath = `dists/${distribution}`;
  for (const file of indexes.files) await write(file.path, file.bytes);
  const signatures = await signRelease(indexes.release, options.keys, { date });
  await write(`${distsPath}/Release`, indexes.release);
  await write(`${distsPath}/Release.gpg`, signatures.releaseGpg);
  await write(`${distsPath}/InRelease`, signatures.inRelease);
  const keyring = publicKeyring(options.keys);
  const keyringName = options.keyringName ?? "kiro-archive-keyring.pgp";
  await write(keyringName, keyring);

  return {
    dir: root,
    records,
    files: written.sort(),
    distsPath,
    counts: indexes.counts,
    release: indexes.release,
    inRelease: signatures.inRelease,
    releaseGpg: signatures.releaseGpg,
    keyring,
    keyringPath: `${root}/${keyringName}`,
  };
}
