/**
 * An in-memory {@linkcode ObjectStore} (for unit and property tests, and for
 * dry runs), and {@linkcode InstrumentedObjectStore}, a wrapper over any store
 * that records every write and can fail after the k-th one (crash tests).
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  type ListedObject,
  type ObjectBody,
  type ObjectInfo,
  objectMetadata,
  type ObjectStore,
  ObjectStoreError,
  type PutOptions,
  SHA256_METADATA_KEY,
} from "../../lambda/aws/object_store.ts";

/** One stored object of a {@linkcode MemoryObjectStore}. */
export interface StoredObject {
  bytes: Uint8Array;
  contentType: string;
  cacheControl: string;
  metadata: Record<string, string>;
  etag: string;
  lastModified: Date;
}

/** Options of {@linkcode MemoryObjectStore}. */
export interface MemoryObjectStoreOptions {
  /** The clock for `lastModified`. Default `() => new Date()`. */
  now?: () => Date;
}

/** An {@linkcode ObjectStore} that keeps its objects in a `Map`. */
export class MemoryObjectStore implements ObjectStore {
  /** The objects, by key. Tests may read (and, to set up a scene, write) it. */
  readonly objects: Map<string, StoredObject> = new Map();
  readonly #now: () => Date;

  /** An empty store. */
  constructor(options: MemoryObjectStoreOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  async put(key: string, body: ObjectBody, options: PutOptions): Promise<void> {
    const bytes = body instanceof Uint8Array ? body.slice() : await readAll(body);
    this.objects.set(key, {
      bytes,
      contentType: options.contentType,
      cacheControl: options.cacheControl,
      metadata: objectMetadata(body, options),
      etag: createHash("md5").update(bytes).digest("hex"),
      lastModified: this.#now(),
    });
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    const object = this.objects.get(key);
    if (object === undefined) return Promise.resolve(undefined);
    const info: ObjectInfo = {
      size: object.bytes.byteLength,
      etag: object.etag,
      metadata: { ...object.metadata },
      contentType: object.contentType,
      cacheControl: object.cacheControl,
      lastModified: object.lastModified,
    };
    const sha256 = object.metadata[SHA256_METADATA_KEY];
    if (sha256 !== undefined) info.sha256 = sha256;
    return Promise.resolve(info);
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.objects.get(key)?.bytes.slice());
  }

  read(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const object = this.objects.get(key);
    if (object === undefined) return Promise.resolve(undefined);
    const bytes = object.bytes.slice();
    return Promise.resolve(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      }),
    );
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    for (const key of keys) {
      const object = this.objects.get(key);
      if (object === undefined) continue;
      yield {
        key,
        size: object.bytes.byteLength,
        etag: object.etag,
        lastModified: object.lastModified,
      };
      await Promise.resolve();
    }
  }

  delete(key: string): Promise<void> {
    this.objects.delete(key);
    return Promise.resolve();
  }

  copy(source: string, target: string, options: PutOptions): Promise<void> {
    const object = this.objects.get(source);
    if (object === undefined) {
      return Promise.reject(
        new ObjectStoreError(`Cannot copy ${source} to ${target}: no such object`, target),
      );
    }
    const metadata: Record<string, string> = { ...options.metadata };
    if (options.sha256 !== undefined) metadata[SHA256_METADATA_KEY] = options.sha256;
    this.objects.set(target, {
      bytes: object.bytes.slice(),
      contentType: options.contentType,
      cacheControl: options.cacheControl,
      metadata,
      etag: object.etag,
      lastModified: this.#now(),
    });
    return Promise.resolve();
  }
}

/** A write an {@linkcode InstrumentedObjectStore} saw. */
export interface WriteRecord {
  operation: "put" | "copy" | "delete";
  key: string;
  /** For a copy, where from. */
  source?: string;
}

/** Raised by {@linkcode InstrumentedObjectStore} in place of the write it stops. */
export class InjectedFault extends Error {
  /** The number (from 1) of the write that was refused. */
  readonly writeNumber: number;
  constructor(writeNumber: number, key: string) {
    super(`Injected fault: write ${writeNumber} (${key}) refused`);
    this.name = "InjectedFault";
    this.writeNumber = writeNumber;
  }
}

/** Options of {@linkcode InstrumentedObjectStore}. */
export interface InstrumentedObjectStoreOptions {
  /**
   * Let this many writes (puts, copies, deletes) through, then refuse every
   * later write with {@linkcode InjectedFault}. Default: never refuse.
   */
  failAfterWrites?: number;
}

/**
 * Wraps a store: counts and records writes (puts, copies, deletes), counts
 * reads, and, when asked, stops after the k-th write as if the process died.
 */
export class InstrumentedObjectStore implements ObjectStore {
  /** The writes that went through, in order. */
  readonly writes: WriteRecord[] = [];
  /** How many HEAD, GET and LIST-page requests were made. */
  readonly reads: { head: number; get: number; list: number } = { head: 0, get: 0, list: 0 };
  /** The keys that were read with `get`. */
  readonly gets: string[] = [];
  /** The prefixes that were listed, in order. */
  readonly listed: string[] = [];
  readonly #inner: ObjectStore;
  #failAfter: number | undefined;

  /** Wraps `inner`. */
  constructor(inner: ObjectStore, options: InstrumentedObjectStoreOptions = {}) {
    this.#inner = inner;
    this.#failAfter = options.failAfterWrites;
  }

  /** Changes (or, with `undefined`, lifts) the write limit; counts from now on. */
  failAfterWrites(count: number | undefined): void {
    this.#failAfter = count === undefined ? undefined : this.writes.length + count;
  }

  #admit(record: WriteRecord): void {
    if (this.#failAfter !== undefined && this.writes.length >= this.#failAfter) {
      throw new InjectedFault(this.writes.length + 1, record.key);
    }
  }

  async put(key: string, body: ObjectBody, options: PutOptions): Promise<void> {
    const record: WriteRecord = { operation: "put", key };
    this.#admit(record);
    await this.#inner.put(key, body, options);
    this.writes.push(record);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    this.reads.head++;
    return this.#inner.head(key);
  }

  get(key: string): Promise<Uint8Array | undefined> {
    this.reads.get++;
    this.gets.push(key);
    return this.#inner.get(key);
  }

  read(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    this.reads.get++;
    this.gets.push(key);
    return this.#inner.read(key);
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    this.reads.list++;
    this.listed.push(prefix);
    yield* this.#inner.list(prefix);
  }

  async delete(key: string): Promise<void> {
    const record: WriteRecord = { operation: "delete", key };
    this.#admit(record);
    await this.#inner.delete(key);
    this.writes.push(record);
  }

  async copy(source: string, target: string, options: PutOptions): Promise<void> {
    const record: WriteRecord = { operation: "copy", key: target, source };
    this.#admit(record);
    await this.#inner.copy(source, target, options);
    this.writes.push(record);
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    length += chunk.byteLength;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
