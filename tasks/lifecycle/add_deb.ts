/**
 * Adding `.deb` files an operator has (`deno task add-deb FILE…`): each file
 * is read once for its control paragraph, size and hashes, uploaded to a
 * temporary key with its SHA-256 checked on the way, and handed to the one
 * intake (`lambda/store/intake.ts`), which copies it to its pool key and
 * records it with `package_type: upload`. The caller then makes the live
 * repository match the table.
 *
 * The same bytes added twice are a no-op (`unchanged`, with the stored
 * record, whose status may be `withdrawn`); other bytes under an identity
 * already recorded are refused (recorded identities are immutable).
 *
 * @module
 */

import { randomUUID } from "node:crypto";
import { readDeb } from "../../lambda/deb/deb_reader.ts";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { recordFromDeb } from "../../lambda/domain/record_from_deb.ts";
import { admitStaged, type RecordStore } from "../../lambda/store/intake.ts";
import {
  differingFields,
  type PackageStore,
  RecordConflictError,
} from "../../lambda/store/package_store.ts";
import { DEB_CONTENT_TYPE } from "../../lambda/aws/object_headers.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { Hasher } from "../../lambda/hashing.ts";

/** Where uploads wait for their check (the bucket's `staging/` lifecycle rule expires leftovers). */
export const UPLOAD_STAGING_PREFIX = "staging/upload/";

/** One file to add. */
export interface DebSource {
  /** How it is named in messages (a path). */
  name: string;
  /** The URL recorded as `deb_url` (e.g. `file:///home/me/kiro_1.0_amd64.deb`). */
  url: string;
  /** Opens the file's bytes from the start (called twice: read, then upload). */
  open(): ReadableStream<Uint8Array> | Promise<ReadableStream<Uint8Array>>;
}

/** The outcome for one file. */
export interface AddDebResult {
  file: string;
  record: PackageRecord;
  /** `created`, or `unchanged` when the same bytes were already recorded. */
  outcome: "created" | "unchanged";
  /** True when the bytes went back to a pool that prune-pool had taken them from. */
  restored?: boolean;
  /** True when an identity already recorded joined the requested channel. */
  channelAdded?: boolean;
}

/** Options of {@linkcode addDeb}. */
export interface AddDebOptions {
  /** The channel the version enters (default `stable`); an identity already recorded joins it. */
  channel?: string;
  /** Who adds (for the channel change's audit). */
  by?: string;
}

/** The file changed while it was read. */
export class AddDebError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AddDebError";
  }
}

/**
 * Reads, uploads and records one `.deb` (see the module docs). Throws
 * {@linkcode AddDebError} for a file that changed while read,
 * `RecordConflictError` / `IdentityConflictError` for what the table refuses,
 * and `DebFormatError` for a file that is not a `.deb`.
 */
export async function addDeb(
  source: DebSource,
  deps: {
    objects: ObjectStore;
    records: RecordStore & Partial<Pick<PackageStore, "changeChannel">>;
    now?: () => Date;
    /** The architectures the repository publishes (stack output `architectures`). */
    architectures?: readonly string[] | undefined;
  },
  options: AddDebOptions = {},
): Promise<AddDebResult> {
  const result = await placeDeb(source, deps, options);
  const channel = options.channel;
  if (
    result.outcome === "created" || channel === undefined ||
    deps.records.changeChannel === undefined
  ) {
    return result;
  }
  const { record, changed } = await deps.records.changeChannel(result.record, {
    channel,
    action: "added",
    at: (deps.now ?? (() => new Date()))().toISOString(),
    by: options.by ?? "unknown",
    reason: "added again with add-deb --channel",
  });
  return { ...result, record, channelAdded: changed };
}

async function placeDeb(
  source: DebSource,
  deps: {
    objects: ObjectStore;
    records: RecordStore;
    now?: () => Date;
    architectures?: readonly string[] | undefined;
  },
  options: AddDebOptions,
): Promise<AddDebResult> {
  const deb = await readDeb(await source.open(), { name: source.name });
  const record = recordFromDeb(deb, {
    packageType: "upload",
    debUrl: source.url,
    fileName: source.name.slice(source.name.lastIndexOf("/") + 1),
    processedAt: (deps.now ?? (() => new Date()))(),
    defaults: { section: "misc", priority: "optional" },
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    architectures: deps.architectures,
  });
  const existing = await deps.records.get(record);
  if (existing !== undefined && existing.pruned_at === undefined) {
    const fields = differingFields(existing, record);
    if (fields.length === 0) return { file: source.name, record: existing, outcome: "unchanged" };
    throw new RecordConflictError(existing, fields, record);
  }

  const key = record.pool_key;
  const stagingKey = `${UPLOAD_STAGING_PREFIX}${randomUUID()}/${
    key.slice(key.lastIndexOf("/") + 1)
  }`;
  const hash = new Hasher("sha256");
  const counted = (await source.open()).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  try {
    await deps.objects.put(stagingKey, counted, {
      contentType: DEB_CONTENT_TYPE,
      cacheControl: "no-store",
      sha256: deb.sha256,
    });
  } catch (error) {
    await deps.objects.delete(stagingKey).catch(() => {});
    throw error;
  }
  const uploaded = hash.digest();
  if (uploaded !== deb.sha256 || hash.size !== deb.size) {
    await deps.objects.delete(stagingKey).catch(() => {});
    throw new AddDebError(
      `Cannot add ${source.name}: the file changed while it was read (SHA-256 ${deb.sha256}, ` +
        `then ${uploaded}); add it again once nothing writes to it`,
    );
  }
  const result = await admitStaged({ stagingKey, record }, {
    objects: deps.objects,
    records: deps.records,
  });
  return { file: source.name, ...result };
}
