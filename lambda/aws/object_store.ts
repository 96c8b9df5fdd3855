/**
 * The object store the repository is published to: an interface small enough
 * to implement over S3 and in memory, and the S3 implementation.
 *
 * Every object the publisher writes carries the SHA-256 of its content in its
 * user metadata (`x-amz-meta-sha256`), so "is this object unchanged?" is
 * answered by a HEAD against what is really there, never by memory and never
 * by ETag (multipart ETags are not content hashes). Nothing here sets an ACL:
 * the bucket is private and served through CloudFront.
 *
 * @module
 */

import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { sha256Hex } from "../hashing.ts";

/** The user-metadata key (without `x-amz-meta-`) that holds the content SHA-256 (hex). */
export const SHA256_METADATA_KEY = "sha256";

/** The body of an object: bytes, or a stream of bytes (uploaded in parts when large). */
export type ObjectBody = Uint8Array | ReadableStream<Uint8Array>;

/** How an object is written. */
export interface PutOptions {
  /** The `Content-Type` header. */
  contentType: string;
  /** The `Cache-Control` header. */
  cacheControl: string;
  /**
   * The SHA-256 (lowercase hex) of the content, stored as `x-amz-meta-sha256`.
   * Computed from the bytes when the body is a `Uint8Array` and this is not
   * given; a stream's hash must be given, or the object has none.
   */
  sha256?: string;
  /** More user metadata (lowercase keys, ASCII values). */
  metadata?: Record<string, string>;
}

/** What a HEAD says about an object. */
export interface ObjectInfo {
  size: number;
  /** The ETag without quotes. Not a content hash for multipart uploads. */
  etag: string;
  /** User metadata, keys lowercase and without `x-amz-meta-`. */
  metadata: Record<string, string>;
  /** The content SHA-256 from the metadata, when the object has one. */
  sha256?: string;
  contentType?: string;
  cacheControl?: string;
  lastModified?: Date;
}

/** One object of a listing. */
export interface ListedObject {
  key: string;
  size: number;
  /** The ETag without quotes. */
  etag: string;
  lastModified: Date;
}

/** The operations the publisher needs from an object store. */
export interface ObjectStore {
  /** Writes `body` at `key`, replacing what is there. */
  put(key: string, body: ObjectBody, options: PutOptions): Promise<void>;
  /** The object's size, ETag and metadata, or `undefined` when there is no such object. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** The object's bytes, or `undefined` when there is no such object. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** The object's bytes as a stream (for large objects), or `undefined` when there is none. */
  read(key: string): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Every object whose key starts with `prefix`, in key order, page by page. */
  list(prefix: string): AsyncIterable<ListedObject>;
  /** Deletes the object at `key` (no error when there is none). */
  delete(key: string): Promise<void>;
  /**
   * Copies the object at `source` to `target` inside the store, as a regular
   * object with its own headers (no redirect, no link).
   */
  copy(source: string, target: string, options: PutOptions): Promise<void>;
}

/** Raised when an object store operation fails, naming the key. */
export class ObjectStoreError extends Error {
  readonly key: string;
  constructor(message: string, key: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ObjectStoreError";
    this.key = key;
  }
}

/** The user metadata an object is written with: `options.metadata` plus the SHA-256. */
export function objectMetadata(body: ObjectBody, options: PutOptions): Record<string, string> {
  const metadata: Record<string, string> = { ...options.metadata };
  const sha256 = options.sha256 ?? (body instanceof Uint8Array ? sha256Hex(body) : undefined);
  if (sha256 !== undefined) metadata[SHA256_METADATA_KEY] = sha256;
  return metadata;
}

/** Options of {@linkcode S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** Bodies at least this large (and every stream) are uploaded in parts. Default 16 MiB. */
  multipartThreshold?: number;
  /** The part size of multipart uploads. Default 8 MiB. */
  partSize?: number;
  /** Objects per listing page (S3's maximum is 1000). Default 1000. */
  pageSize?: number;
  /**
   * How the key in `CopySource` is encoded: `component` (every reserved
   * character, as S3 expects; the default) or `uri` (as `encodeURI`: for the
   * local stand-in, which decodes the header with `decodeURI`).
   */
  copySourceEncoding?: "component" | "uri";
}

/** An {@linkcode ObjectStore} over one S3 bucket. */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly #client: S3Client;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  readonly #pageSize: number;
  readonly #copySourceEncoding: "component" | "uri";

  /** Uses `client` for every request to `bucket`. */
  constructor(client: S3Client, bucket: string, options: S3ObjectStoreOptions = {}) {
    this.#client = client;
    this.bucket = bucket;
    this.#multipartThreshold = options.multipartThreshold ?? 16 * 1024 * 1024;
    this.#partSize = options.partSize ?? 8 * 1024 * 1024;
    this.#pageSize = options.pageSize ?? 1000;
    this.#copySourceEncoding = options.copySourceEncoding ?? "component";
  }

  async put(key: string, body: ObjectBody, options: PutOptions): Promise<void> {
    const params = {
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentType: options.contentType,
      CacheControl: options.cacheControl,
      Metadata: objectMetadata(body, options),
    };
    try {
      if (body instanceof Uint8Array && body.byteLength < this.#multipartThreshold) {
        await this.#client.send(
          new PutObjectCommand({ ...params, ContentLength: body.byteLength }),
        );
      } else {
        const upload = new Upload({
          client: this.#client,
          params,
          partSize: this.#partSize,
          queueSize: 2,
          leavePartsOnError: false,
        });
        await upload.done();
      }
    } catch (error) {
      throw new ObjectStoreError(
        `Cannot write s3://${this.bucket}/${key}: ${describe(error)}`,
        key,
        { cause: error },
      );
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const metadata = lowerKeys(out.Metadata ?? {});
      const info: ObjectInfo = {
        size: out.ContentLength ?? 0,
        etag: unquote(out.ETag ?? ""),
        metadata,
      };
      const sha256 = metadata[SHA256_METADATA_KEY];
      if (sha256 !== undefined) info.sha256 = sha256;
      if (out.ContentType !== undefined) info.contentType = out.ContentType;
      if (out.CacheControl !== undefined) info.cacheControl = out.CacheControl;
      if (out.LastModified !== undefined) info.lastModified = out.LastModified;
      return info;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new ObjectStoreError(
        `Cannot read the headers of s3://${this.bucket}/${key}: ${describe(error)}`,
        key,
        { cause: error },
      );
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (out.Body === undefined) return new Uint8Array();
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new ObjectStoreError(
        `Cannot read s3://${this.bucket}/${key}: ${describe(error)}`,
        key,
        { cause: error },
      );
    }
  }

  async read(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (out.Body === undefined) return new Blob([]).stream();
      return out.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new ObjectStoreError(
        `Cannot read s3://${this.bucket}/${key}: ${describe(error)}`,
        key,
        { cause: error },
      );
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    // ListObjects (v1) with Marker = the last key seen: the same pages as v2
    // on S3, and the local stand-in's v2 continuation tokens use a cipher
    // (DES) that OpenSSL 3 refuses.
    let marker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.#client.send(
          new ListObjectsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: this.#pageSize,
            ...(marker === undefined ? {} : { Marker: marker }),
          }),
        );
      } catch (error) {
        throw new ObjectStoreError(
          `Cannot list s3://${this.bucket}/${prefix}: ${describe(error)}`,
          prefix,
          { cause: error },
        );
      }
      const contents = out.Contents ?? [];
      for (const item of contents) {
        if (item.Key === undefined) continue;
        yield {
          key: item.Key,
          size: item.Size ?? 0,
          etag: unquote(item.ETag ?? ""),
          lastModified: item.LastModified ?? new Date(0),
        };
      }
      const last = contents.at(-1)?.Key;
      if (out.IsTruncated !== true || last === undefined) return;
      marker = last;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw new ObjectStoreError(
        `Cannot delete s3://${this.bucket}/${key}: ${describe(error)}`,
        key,
        { cause: error },
      );
    }
  }

  copy(source: string, target: string, options: PutOptions): Promise<void> {
    return this.copyFrom({ bucket: this.bucket, key: source }, target, options);
  }

  /**
   * Copies `source` (an object of any bucket the client can read, e.g.
   * another environment's) to `target` in this bucket, server-side, with its
   * own headers. Throws {@linkcode ObjectStoreError} naming both.
   */
  async copyFrom(
    source: { bucket: string; key: string },
    target: string,
    options: PutOptions,
  ): Promise<void> {
    const metadata: Record<string, string> = { ...options.metadata };
    if (options.sha256 !== undefined) metadata[SHA256_METADATA_KEY] = options.sha256;
    try {
      await this.#client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: `${source.bucket}/${encodeKey(source.key, this.#copySourceEncoding)}`,
          MetadataDirective: "REPLACE",
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
          Metadata: metadata,
        }),
      );
    } catch (error) {
      throw new ObjectStoreError(
        `Cannot copy s3://${source.bucket}/${source.key} to s3://${this.bucket}/${target}: ${
          describe(error)
        }`,
        target,
        { cause: error },
      );
    }
  }
}

/**
 * A key as it goes into `CopySource`: each path segment URL-encoded
 * (`component`), or only what `encodeURI` encodes (`uri`).
 */
export function encodeKey(key: string, encoding: "component" | "uri" = "component"): string {
  if (encoding === "uri") return encodeURI(key);
  return key.split("/").map((part) => encodeURIComponent(part)).join("/");
}

function unquote(etag: string): string {
  return etag.replace(/^"(.*)"$/, "$1");
}

function lowerKeys(record: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) out[key.toLowerCase()] = value;
  return out;
}

function isNotFound(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const name = (error as { name?: unknown }).name;
  if (name === "NotFound" || name === "NoSuchKey") return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 404;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
