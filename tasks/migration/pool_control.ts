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
 * control member is in — a few kilobytes of a 150 MB Kiro package.
 *
 * @module
 */

import { GetObjectCommand, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import { readAllBytes } from "../../lambda/bytes.ts";
import { readArMembers } from "../../lambda/deb/ar.ts";
import { parseControl } from "../../lambda/deb/control.ts";
import { compressionOf, decompress } from "../../lambda/deb/decompress.ts";
import { readTar } from "../../lambda/deb/tar.ts";
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

const MAX_CONTROL_BYTES = 16 * 1024 * 1024;

/**
 * Reads the control paragraph from the start of a `.deb` stream and stops:
 * the rest of the stream (the data member) is cancelled, not downloaded.
 *
 * @throws {PoolControlError} when the stream is not a `.deb` with a control member.
 */
export async function readControlFromStream(
  stream: ReadableStream<Uint8Array>,
  options: { name: string },
): Promise<ControlFields> {
  const reader = stream.getReader();
  const chunks = (async function* () {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  })();
  try {
    let index = 0;
    for await (const member of readArMembers(chunks, { name: options.name })) {
      index++;
      if (index === 1) continue;
      const compression = compressionOf(member.name, "control.tar");
      if (compression === undefined) {
        throw new PoolControlError(
          options.name,
          `${options.name}: the second member is ${member.name}, not control.tar.*: is it a .deb?`,
        );
      }
      if (member.size > MAX_CONTROL_BYTES) {
        throw new PoolControlError(options.name, `${options.name}: ${member.name} is too large`);
      }
      const bytes = await readAllBytes(member.body());
      const what = `${options.name}: ${member.name}`;
      const tar = await decompress(bytes, compression, { name: what });
      const entries = await readTar(tar, { name: what });
      const control = entries.find((entry) => entry.name.replace(/^\.\//, "") === "control");
      if (control === undefined) {
        throw new PoolControlError(options.name, `${what} has no control file`);
      }
      return parseControl(new TextDecoder().decode(control.data), {
        source: `${options.name} (DEBIAN/control)`,
      });
    }
    throw new PoolControlError(
      options.name,
      `${options.name}: no control.tar member: is it a .deb?`,
    );
  } catch (error) {
    if (error instanceof PoolControlError) throw error;
    if (error instanceof Error) {
      throw new PoolControlError(options.name, error.message, { cause: error });
    }
    throw error;
  } finally {
    await reader.cancel().catch(() => {});
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
        return await readControlFromStream(stream, { name: poolKey });
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
