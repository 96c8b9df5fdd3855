/**
 * Legacy item → packages-table item (`docs/design.md`, "Migration"), and the
 * check that the result is a valid package record.
 *
 * The transform works on raw DynamoDB items and only ever *adds* attributes
 * the item lacks: every attribute the legacy item has is kept exactly (a
 * number stays a number with the same digits, a set stays a set, an unknown
 * attribute is carried along). So an item already in the new shape comes out
 * unchanged, and `transform(transform(x))` is `transform(x)`.
 *
 * Added when missing:
 *
 * - `package_name` (default `kiro`), `package_id` = `{package_name}#{canonical version}` (`packageId`);
 * - `architecture`, `package_type` and the Debian fields `section`,
 *   `priority`, `maintainer`, `homepage`, `description`, `depends` — from the
 *   package's configuration (`config/packages/kiro.yaml`);
 * - `pool_key`: where the `.deb` lives in the bucket. The legacy system
 *   uploaded each `.deb` to `pool/main/{prefix}/{name}/{actual_filename}`
 *   (one folder per package, each object named by its `actual_filename`;
 *   `docs/migration.md`), so the default `legacy` layout
 *   points there and published `Filename`s reach the existing objects. The
 *   `canonical` layout uses {@linkcode poolKey}
 *   (`pool/main/k/kiro/kiro_{version}_{arch}.deb`), for when the objects have
 *   been copied to those keys;
 * - `control`: legacy items have no control paragraph (the legacy system never
 *   read the `.deb`), so one is synthesized from the record's own fields:
 *   Package, Version, Architecture, Maintainer, Depends (if any), Section,
 *   Priority, Homepage, Description.
 *
 * @module
 */

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  type ControlFields,
  PACKAGE_TYPES,
  packageId,
  type PackageRecord,
  type PackageType,
} from "../../lambda/domain/package_record.ts";
import { poolKey, poolPrefix } from "../../lambda/domain/pool_path.ts";
import { isValidVersion, versionError } from "../../lambda/domain/version.ts";
import type { PackageConfig } from "../../lambda/sources/config.ts";
import { type Item, itemSize } from "./attribute_value.ts";
import { MigrationError } from "./errors.ts";

/** What the transform adds to an item that lacks it (from the package's configuration). */
export interface LegacyDefaults {
  packageName: string;
  architecture: string;
  packageType: PackageType;
  section: string;
  priority: string;
  maintainer: string;
  homepage: string;
  description: string;
  depends?: string;
}

/** Where migrated records point in the pool (see the module notes). */
export type PoolLayout = "legacy" | "canonical";

/** The pool layouts, for argument parsing. */
export const POOL_LAYOUTS: readonly PoolLayout[] = ["legacy", "canonical"];

/** The transform's defaults from a package configuration (`config/packages/kiro.yaml`). */
export function legacyDefaults(config: PackageConfig): LegacyDefaults {
  return {
    packageName: config.package_name,
    architecture: config.architecture,
    packageType: config.source.type,
    section: config.section,
    priority: config.priority,
    maintainer: config.maintainer,
    homepage: config.homepage,
    description: config.description,
    ...(config.depends === undefined ? {} : { depends: config.depends }),
  };
}

/** Options of {@linkcode transformLegacyItem}. */
export interface TransformOptions {
  defaults: LegacyDefaults;
  /** Default `legacy`. */
  poolLayout?: PoolLayout;
}

/** The item could not be transformed or its result is not a valid package record. */
export class TransformError extends MigrationError {
  /** Which item (its `version`, or `package_id` when it has no version). */
  readonly itemName: string;
  /** What is wrong with it, one entry per problem. */
  readonly problems: readonly string[];

  /** Builds the error for the item named `itemName`. */
  constructor(itemName: string, problems: readonly string[]) {
    super("transform", `Cannot migrate legacy item ${itemName}: ${problems.join("; ")}`);
    this.name = "TransformError";
    this.itemName = itemName;
    this.problems = problems;
  }
}

/** How an item is named in messages: its version, or whatever key it has. */
export function legacyItemName(item: Item): string {
  const version = item.version?.S;
  if (version !== undefined) return JSON.stringify(version);
  const id = item.package_id?.S;
  if (id !== undefined) return `with package_id ${JSON.stringify(id)} and no version`;
  return `with attributes ${Object.keys(item).sort().join(", ")}`;
}

function text(item: Item, name: string): string | undefined {
  return item[name]?.S;
}

/**
 * A Description control field value from a (possibly multi-line) description:
 * the first line is the synopsis; each further line is a continuation line,
 * indented by one space, with empty lines written ` .` (Debian policy §5.6.13).
 */
export function controlDescription(description: string): string {
  const [synopsis = "", ...rest] = description.replace(/\s+$/, "").split("\n");
  const lines = [synopsis.trim()];
  for (const line of rest) {
    if (line.trim() === "") lines.push(" .");
    else lines.push(line.startsWith(" ") ? line.trimEnd() : ` ${line.trimEnd()}`);
  }
  return lines.join("\n");
}

function legacyPoolKey(name: string, filename: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+~:-]*\.deb$/.test(filename)) {
    throw new Error(
      `actual_filename ${
        JSON.stringify(filename)
      } cannot be a pool file name (expected a plain *.deb name); migrate with --pool-layout canonical after copying the objects`,
    );
  }
  return `pool/main/${poolPrefix(name)}/${name}/${filename}`;
}

/**
 * The packages-table item for one legacy item: the item with every missing
 * attribute added (see the module notes). Attributes already present are
 * never changed.
 *
 * @throws {TransformError} naming the item when it has no usable `version`,
 *   or a field needed to derive another (pool key, control) is unusable.
 */
export function transformLegacyItem(item: Item, options: TransformOptions): Item {
  const { defaults } = options;
  const layout = options.poolLayout ?? "legacy";
  const name = legacyItemName(item);
  const version = text(item, "version");
  if (version === undefined) {
    throw new TransformError(name, ["version must be a string (S) attribute"]);
  }
  const out: Item = { ...item };
  const add = (attribute: string, value: string | undefined) => {
    if (out[attribute] === undefined && value !== undefined) out[attribute] = { S: value };
  };
  add("package_name", defaults.packageName);
  const packageName = text(out, "package_name");
  if (packageName === undefined) {
    throw new TransformError(name, ["package_name must be a string (S) attribute"]);
  }
  // An invalid version has no canonical form: keep it visible for recordProblems.
  add(
    "package_id",
    isValidVersion(version) ? packageId(packageName, version) : `${packageName}#${version}`,
  );
  add("architecture", defaults.architecture);
  add("status", "published");
  add("package_type", defaults.packageType);
  add("section", defaults.section);
  add("priority", defaults.priority);
  add("maintainer", defaults.maintainer);
  add("homepage", defaults.homepage);
  add("description", defaults.description);
  if (out.depends === undefined && defaults.depends !== undefined) add("depends", defaults.depends);
  const architecture = text(out, "architecture");
  if (out.pool_key === undefined) {
    try {
      if (layout === "canonical") {
        add("pool_key", poolKey({ name: packageName, version, architecture: architecture ?? "" }));
      } else {
        const filename = text(out, "actual_filename");
        if (filename === undefined) {
          throw new Error("actual_filename must be a string (S) attribute");
        }
        add("pool_key", legacyPoolKey(packageName, filename));
      }
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      throw new TransformError(name, [`cannot derive pool_key: ${error.message}`]);
    }
  }
  if (out.control === undefined) {
    const fields: [string, string | undefined][] = [
      ["Package", packageName],
      ["Version", version],
      ["Architecture", architecture],
      ["Maintainer", text(out, "maintainer")],
      ["Depends", text(out, "depends")],
      ["Section", text(out, "section")],
      ["Priority", text(out, "priority")],
      ["Homepage", text(out, "homepage")],
      ["Description", mapDescription(text(out, "description"))],
    ];
    const control: Record<string, AttributeValue> = {};
    for (const [field, value] of fields) {
      if (value !== undefined && value !== "") control[field] = { S: value };
    }
    out.control = { M: control };
  }
  return out;
}

function mapDescription(description: string | undefined): string | undefined {
  return description === undefined ? undefined : controlDescription(description);
}

const REQUIRED_TEXT = [
  "package_id",
  "package_name",
  "version",
  "architecture",
  "package_type",
  "pub_date",
  "processed_timestamp",
  "deb_url",
  "actual_filename",
  "pool_key",
  "md5_hash",
  "sha1_hash",
  "sha256_hash",
  "section",
  "priority",
  "maintainer",
  "homepage",
  "description",
] as const;

/** DynamoDB's largest item: 400 KB, attribute names and values together. */
export const MAX_ITEM_BYTES = 400 * 1024;

const OPTIONAL_TEXT = ["depends", "certificate_url", "signature_url", "notes"] as const;

const HASH_LENGTH: Record<string, number> = { md5_hash: 32, sha1_hash: 40, sha256_hash: 64 };

function typeOf(value: AttributeValue): string {
  return Object.keys(value).find((key) =>
    (value as unknown as Record<string, unknown>)[key] !== undefined
  ) ??
    "?";
}

/**
 * What keeps `item` from being a valid {@linkcode PackageRecord} item
 * (`lambda/domain/package_record.ts`): missing or mistyped required fields,
 * a mistyped optional field, an invalid version, a `package_id` that is not
 * `{package_name}#{version}`, hashes that are not hex of the right length, a
 * size that is not a whole number ≥ 0, a control paragraph that is not a map
 * of strings agreeing with the record, an item larger than DynamoDB allows.
 * Empty when the item is valid.
 */
export function recordProblems(item: Item): string[] {
  const problems: string[] = [];
  for (const field of REQUIRED_TEXT) {
    const value = item[field];
    if (value === undefined) problems.push(`${field} is missing`);
    else if (value.S === undefined) {
      problems.push(`${field} must be a string (S), not ${typeOf(value)}`);
    } else if (value.S === "") problems.push(`${field} must not be empty`);
  }
  for (const field of OPTIONAL_TEXT) {
    const value = item[field];
    if (value !== undefined && value.S === undefined) {
      problems.push(`${field} must be a string (S) when present, not ${typeOf(value)}`);
    }
  }
  for (const [field, length] of Object.entries(HASH_LENGTH)) {
    const value = item[field]?.S;
    if (
      value !== undefined && value !== "" && !new RegExp(`^[0-9a-fA-F]{${length}}$`).test(value)
    ) {
      problems.push(`${field} must be ${length} hexadecimal digits`);
    }
  }
  const size = item.file_size;
  if (size === undefined) problems.push("file_size is missing");
  else if (size.N === undefined) {
    problems.push(`file_size must be a number (N), not ${typeOf(size)}`);
  } else if (!/^\d+$/.test(size.N) || !Number.isSafeInteger(Number(size.N))) {
    problems.push(`file_size must be a whole number ≥ 0 (got ${size.N})`);
  }
  const version = item.version?.S;
  if (version !== undefined && !isValidVersion(version)) {
    problems.push(
      `version ${JSON.stringify(version)} is not a valid Debian version: ${versionError(version)}`,
    );
  }
  const name = item.package_name?.S;
  const id = item.package_id?.S;
  if (
    name !== undefined && version !== undefined && id !== undefined &&
    isValidVersion(version) && id !== packageId(name, version)
  ) {
    problems.push(
      `package_id ${JSON.stringify(id)} must be ${JSON.stringify(packageId(name, version))}`,
    );
  }
  const type = item.package_type?.S;
  if (type !== undefined && !(PACKAGE_TYPES as readonly string[]).includes(type)) {
    problems.push(
      `package_type ${JSON.stringify(type)} must be one of ${PACKAGE_TYPES.join(", ")}`,
    );
  }
  const bytes = itemSize(item);
  if (bytes > MAX_ITEM_BYTES) {
    problems.push(
      `the item is ${bytes} bytes, more than DynamoDB's limit of ${MAX_ITEM_BYTES} bytes per item`,
    );
  }
  const control = item.control;
  if (control === undefined) problems.push("control is missing");
  else if (control.M === undefined) {
    problems.push(`control must be a map (M), not ${typeOf(control)}`);
  } else {
    for (const [field, value] of Object.entries(control.M)) {
      if (value.S === undefined) problems.push(`control field ${field} must be a string (S)`);
    }
    const expect: [string, string | undefined][] = [
      ["Package", name],
      ["Version", version],
      ["Architecture", item.architecture?.S],
    ];
    for (const [field, want] of expect) {
      const got = control.M[field]?.S;
      if (got === undefined) problems.push(`control field ${field} is missing`);
      else if (want !== undefined && got !== want) {
        problems.push(
          `control field ${field} is ${JSON.stringify(got)} but the record says ${
            JSON.stringify(want)
          }`,
        );
      }
    }
  }
  return problems;
}

/**
 * {@linkcode transformLegacyItem} followed by {@linkcode recordProblems}: the
 * new item, or a {@linkcode TransformError} naming the legacy item and every
 * problem.
 */
export function transformAndValidate(item: Item, options: TransformOptions): Item {
  const out = transformLegacyItem(item, options);
  const problems = recordProblems(out);
  if (problems.length > 0) throw new TransformError(legacyItemName(item), problems);
  return out;
}

/**
 * The {@linkcode PackageRecord} a valid item holds (strings as strings,
 * `file_size` as a number, `control` as fields). Attributes that are not
 * record fields are left out.
 *
 * @throws {Error} when `item` has {@linkcode recordProblems}.
 */
export function recordFromItem(item: Item): PackageRecord {
  const problems = recordProblems(item);
  if (problems.length > 0) {
    throw new Error(`Item ${legacyItemName(item)} is not a package record: ${problems.join("; ")}`);
  }
  const s = (name: string) => item[name]?.S as string;
  const control: ControlFields = {};
  for (const [field, value] of Object.entries(item.control?.M ?? {})) {
    control[field] = value.S as string;
  }
  const record: PackageRecord = {
    package_id: s("package_id"),
    package_name: s("package_name"),
    version: s("version"),
    architecture: s("architecture"),
    package_type: s("package_type") as PackageType,
    pub_date: s("pub_date"),
    processed_timestamp: s("processed_timestamp"),
    deb_url: s("deb_url"),
    actual_filename: s("actual_filename"),
    pool_key: s("pool_key"),
    file_size: Number(item.file_size?.N),
    md5_hash: s("md5_hash"),
    sha1_hash: s("sha1_hash"),
    sha256_hash: s("sha256_hash"),
    section: s("section"),
    priority: s("priority"),
    maintainer: s("maintainer"),
    homepage: s("homepage"),
    description: s("description"),
    control,
  };
  for (const field of OPTIONAL_TEXT) {
    const value = item[field]?.S;
    if (value !== undefined) record[field] = value;
  }
  const status = item.status?.S;
  if (status === "published" || status === "withdrawn") record.status = status;
  return record;
}
