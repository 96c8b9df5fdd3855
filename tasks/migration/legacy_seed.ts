/**
 * Fills a local legacy table with realistic Kiro items, for the demo of the
 * migration (`deno task seed-legacy --env local`): each version gets a real,
 * small `.deb` (built deterministically, installable by dpkg) uploaded where
 * the legacy system kept it — `pool/main/k/kiro/{actual_filename}` — and a
 * legacy item with that file's real size and hashes, shaped as the legacy
 * Lambda wrote them (`version` key, `file_size` number, feed URLs, notes).
 *
 * @module
 */

import { buildDeb } from "../lib/deb_writer.ts";
import { hashBytes } from "../../lambda/hashing.ts";
import { headersFor } from "../../lambda/aws/object_headers.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { Item } from "./attribute_value.ts";
import { ensureLegacyTable, legacyItem } from "./legacy_table.ts";
import type { DynamoDbSender } from "./table_ops.ts";
import type { LegacyDefaults } from "./transform.ts";
import { poolPrefix } from "../../lambda/domain/pool_path.ts";

/** Kiro versions in release order, as the legacy table held them (then continued). */
const KNOWN_VERSIONS = [
  "0.1.0",
  "0.1.6",
  "0.1.15",
  "0.1.25",
  "0.1.42",
  "0.2.13",
  "0.2.38",
  "0.2.59",
  "0.2.68",
  "0.3.9",
];

/** The `i`-th (0-based) version the seed uses: the known ones, then 0.4.x, 0.5.x, … */
export function seedVersion(i: number): string {
  const known = KNOWN_VERSIONS[i];
  if (known !== undefined) return known;
  const n = i - KNOWN_VERSIONS.length;
  return `0.${4 + Math.floor(n / 50)}.${(n % 50) * 3}`;
}

/** Options of {@linkcode seedLegacyTable}. */
export interface SeedOptions {
  /** The legacy table (created when missing). */
  table: string;
  /** How many versions (default 5). */
  count?: number;
  /** Package fields for the `.deb` control paragraphs (from `config/packages/kiro.yaml`). */
  defaults: LegacyDefaults;
  /** Called after each version is seeded. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@linkcode seedLegacyTable} did. */
export interface SeedResult {
  /** Whether the legacy table had to be created. */
  createdTable: boolean;
  /** The items written (one per version). */
  items: Item[];
  /** The pool keys uploaded. */
  poolKeys: string[];
}

/**
 * Creates the legacy table if needed and writes `count` legacy Kiro versions,
 * each with its `.deb` uploaded to the legacy pool path. Running it again
 * rewrites the same items and objects (everything is deterministic).
 */
export async function seedLegacyTable(
  client: DynamoDbSender,
  objects: ObjectStore,
  options: SeedOptions,
): Promise<SeedResult> {
  const count = options.count ?? 5;
  const { defaults } = options;
  const createdTable = await ensureLegacyTable(client, options.table);
  const items: Item[] = [];
  const poolKeys: string[] = [];
  for (let i = 0; i < count; i++) {
    const version = seedVersion(i);
    const released = new Date(Date.UTC(2025, 6, 15) + i * 9 * 86_400_000);
    const stamp = released.toISOString().slice(0, 10).replaceAll("-", "") + "1200";
    const filename = `kiro-ide-${version}-stable-linux-x64.deb`;
    const deb = buildDeb({
      control: {
        Package: defaults.packageName,
        Version: version,
        Architecture: defaults.architecture,
        Maintainer: defaults.maintainer,
        ...(defaults.depends === undefined ? {} : { Depends: defaults.depends }),
        Section: defaults.section,
        Priority: defaults.priority,
        Homepage: defaults.homepage,
        Description: defaults.description.split("\n")[0] ?? defaults.description,
      },
      files: [
        {
          path: `/usr/share/${defaults.packageName}/VERSION`,
          data: `${version}\n`,
        },
        {
          path: `/usr/share/doc/${defaults.packageName}/README`,
          data: `Stand-in for ${defaults.packageName} ${version}, seeded for the migration demo.\n`,
        },
      ],
      mtime: Math.floor(released.getTime() / 1000),
    });
    const digests = hashBytes(deb);
    const poolKey = `pool/main/${
      poolPrefix(defaults.packageName)
    }/${defaults.packageName}/${filename}`;
    await objects.put(poolKey, deb, { ...headersFor(poolKey), sha256: digests.sha256 });
    const base = `https://prod.download.desktop.kiro.dev/releases/${stamp}--distro-linux-x64-deb`;
    const item = legacyItem({
      version,
      pubDate: released.toUTCString(),
      processedTimestamp: new Date(released.getTime() + 3_600_000).toISOString().replace(
        "Z",
        "",
      ),
      debUrl: `${base}/${filename}`,
      actualFilename: filename,
      size: digests.size,
      md5: digests.md5,
      sha1: digests.sha1,
      sha256: digests.sha256,
      certificateUrl: `${base}/certificate.pem`,
      signatureUrl: `${base}/signature.bin`,
      notes: `Kiro ${version}: improvements and bug fixes.`,
    });
    await client.send(new PutItemCommand({ TableName: options.table, Item: item }));
    items.push(item);
    poolKeys.push(poolKey);
    options.onProgress?.(i + 1, count);
  }
  return { createdTable, items, poolKeys };
}
