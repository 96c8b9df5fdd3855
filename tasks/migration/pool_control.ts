/**
 * The control paragraph of a legacy `.deb`, read from the pool.
 *
 * The legacy system never recorded a control paragraph, but the packages
 * table's `Packages` stanzas are written from one, and a stanza that
 * disagrees with the `.deb`'s own control file (missing `Depends`, another
 * `Installed-Size`) breaks installs (`docs/design.md`, "Data model"). So, by default, the
 * migration reads each `.deb`'s real control paragraph from the bucket.
 *
 * Only the head of the file is read: the `ar` members `debian-binary` and
 * `control.tar.*` come first, so the download is stopped as soon as the
 * control member and the data member's first block are in — a few kilobytes
 * of a 150 MB Kiro package.
 *
 * @module
 */

import { GetObjectCommand, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import { DebFormatError, readDebHead } from "../../lambda/deb/deb_reader.ts";
import { admitDeb, DebRefusedError } from "../../lambda/deb/door.ts";
import type { ControlFields } from "../../lambda/domain/package_record.ts";

/** Opens an object of the bucket as a stream, or `undefined` when there is no such object. */
export type ObjectOpener = (key: string) => Promise<ReadableStream<Uint8Array> | undefined>;

/** The control paragraph could not be read from a pool object. */
export class PoolControlError extends Error {
  /** The pool key. */
  readonly key: string;

  /** Builds the error for `key`. */
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PoolControlError";
    this.key = key;
  }
}

/**
 * Reads the control paragraph from the start of a `.deb` stream and stops
 * once the data member's first block is in: the rest of the stream is
 * cancelled, not downloaded. The `.deb` passes the door (`lambda/deb/door.ts`)
 * as every other way in does.
 *
 * @throws {PoolControlError} when the stream is not a `.deb` with a control
 * member, or the door refuses it.
 */
export async function readControlFromStream(
  stream: ReadableStream<Uint8Array>,
  options: { name: string; architectures?: readonly string[] | undefined },
): Promise<ControlFields> {
  try {
    const head = await readDebHead(stream, { name: options.name });
    admitDeb(head, { name: options.name, architectures: options.architectures });
    return head.control;
  } catch (error) {
    if (error instanceof DebFormatError || error instanceof DebRefusedError) {
      throw new PoolControlError(options.name, error.message, { cause: error });
    }
    throw error;
  } finally {
    await stream.cancel().catch(() => {});
  }
}

/**
 * A reader of pool control paragraphs over `open`, caching by key (the
 * migration reads each `.deb` once even though it verifies afterwards).
 *
 * @throws {PoolControlError} (from the returned function) when the object is
 *   missing or not a readable `.deb`.
 */
export function poolControlReader(
  open: ObjectOpener,
  options: { architectures?: readonly string[] | undefined } = {},
): (poolKey: string) => Promise<ControlFields> {
  const cache = new Map<string, Promise<ControlFields>>();
  return (poolKey) => {
    let found = cache.get(poolKey);
    if (found === undefined) {
      found = (async () => {
        const stream = await open(poolKey);
        if (stream === undefined) {
          throw new PoolControlError(poolKey, `${poolKey} is not in the bucket`);
        }
        return await readControlFromStream(stream, {
          name: poolKey,
          architectures: options.architectures,
        });
      })();
      cache.set(poolKey, found);
      found.catch(() => cache.delete(poolKey));
    }
    return found;
  };
}

/** An {@linkcode ObjectOpener} over an S3 bucket. */
export function s3Opener(s3: S3Client, bucket: string): ObjectOpener {
  return async (key) => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return out.Body?.transformToWebStream() as ReadableStream<Uint8Array> | undefined;
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      if (error instanceof Error && error.name === "NoSuchKey") return undefined;
      throw error;
    }
  };
}
