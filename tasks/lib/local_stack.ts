/**
 * The embedded `local` environment (`docs/design.md`, "Environments"): `dynalite` (DynamoDB API)
 * and `s3rver` (S3 API) running in this process on 127.0.0.1, with the same
 * outputs as a Pulumi stack.
 *
 * - `deno task dev` runs {@linkcode startLocalStack} in the foreground and
 *   records itself in `.local/stack.json` ({@linkcode writeStackRecord}).
 * - Any other task with `--env local` calls {@linkcode withLocalStack}: it uses
 *   the running stack when its record is alive, or else starts the stand-ins for
 *   the task's own duration, on the same stable ports (so `repoUrl` is stable).
 *
 * s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with the DES cipher,
 * which OpenSSL 3 (Node, Deno) refuses: the second page of any listing fails
 * with a 500. {@linkcode installS3rverDesShim} replaces `des` in
 * `node:crypto`'s `createCipheriv`/`createDecipheriv` with AES-128-CTR under a
 * key and IV derived from the 8-byte ones (a stream cipher: round-trips any
 * length). The tokens stay opaque, so nothing else notices.
 *
 * @module
 */

import crypto from "node:crypto";
import { createServer as createHttpServer, type Server } from "node:http";
import { Buffer } from "node:buffer";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import dynalite from "dynalite";
import S3rver from "s3rver";
import S3Object from "s3rver/lib/models/object.js";
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { parseStackOutputs } from "./stack_outputs.ts";
import { packagesTableDefinition, PARTITION_KEY, SORT_KEY } from "../../lambda/store/table.ts";
import { EnvironmentError } from "./env.ts";
import { generateSigningKey } from "../../lambda/signing/keys.ts";

/** The resource names of the local environment. */
export const LOCAL_NAMES = {
  tableName: "kiro-debian-repo-manager-packages-local",
  legacyTableName: "kiro-package-versions-local",
  bucketName: "kiro-debian-repo-manager-repo-local",
  functionName: "kiro-debian-repo-manager-publisher-local",
} as const;

/** The region the local clients claim (the stand-ins ignore it). */
export const LOCAL_REGION = "us-east-1";

/** The default ports: dynalite's and s3rver's own defaults. */
export const DEFAULT_LOCAL_PORTS = { dynamodb: 4567, s3: 4568 } as const;

/** The signing key's file name in the state folder. */
export const SIGNING_KEY_FILE = "signing-key.asc";

/** The host the stand-ins listen on. */
export const LOCAL_HOST = "127.0.0.1";

let shimInstalled = false;

/**
 * Makes `node:crypto` accept s3rver's `des` cipher (see the module docs).
 * Idempotent; affects only the algorithm name `des`.
 */
export function installS3rverDesShim(): void {
  if (shimInstalled) return;
  shimInstalled = true;
  const derive = (key: crypto.BinaryLike, iv: crypto.BinaryLike | null) => {
    const k = crypto.createHash("sha256").update("s3rver-des-shim:key:").update(key as Uint8Array)
      .digest().subarray(0, 16);
    const i = crypto.createHash("sha256").update("s3rver-des-shim:iv:")
      .update((iv ?? new Uint8Array()) as Uint8Array).digest().subarray(0, 16);
    return [k, i] as const;
  };
  const mutable = crypto as unknown as {
    createCipheriv: (...args: unknown[]) => unknown;
    createDecipheriv: (...args: unknown[]) => unknown;
  };
  const cipher = mutable.createCipheriv;
  const decipher = mutable.createDecipheriv;
  mutable.createCipheriv = (algorithm: unknown, key: unknown, iv: unknown, ...rest: unknown[]) => {
    if (typeof algorithm === "string" && algorithm.toLowerCase() === "des") {
      const [k, i] = derive(key as crypto.BinaryLike, iv as crypto.BinaryLike);
      return cipher("aes-128-ctr", k, i);
    }
    return cipher(algorithm, key, iv, ...rest);
  };
  mutable.createDecipheriv = (
    algorithm: unknown,
    key: unknown,
    iv: unknown,
    ...rest: unknown[]
  ) => {
    if (typeof algorithm === "string" && algorithm.toLowerCase() === "des") {
      const [k, i] = derive(key as crypto.BinaryLike, iv as crypto.BinaryLike);
      return decipher("aes-128-ctr", k, i);
    }
    return decipher(algorithm, key, iv, ...rest);
  };
}

/** The repository root (where `deno.json` is). */
export function projectRoot(): string {
  return resolve(fileURLToPath(new URL("../../", import.meta.url)));
}

/** The local environment's state folder: `$KIRO_LOCAL_DIR`, else `.local/` in the project. */
export function localStateDir(): string {
  return Deno.env.get("KIRO_LOCAL_DIR") ?? join(projectRoot(), ".local");
}

/** The first of `path` and its parents that exists and is not a folder. */
function fileInTheWay(path: string): string | undefined {
  for (let current = resolve(path);; current = dirname(current)) {
    try {
      if (!Deno.statSync(current).isDirectory) return current;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
    }
    if (dirname(current) === current) return undefined;
  }
}

/**
 * The one-line error for a local state folder that cannot be used (a file in
 * its path, no permission, a read-only file system), naming `KIRO_LOCAL_DIR`
 * when that is where the folder comes from; `undefined` when `error` is not
 * one of those (rethrow it).
 */
function localStateDirError(dir: string, error: unknown): EnvironmentError | undefined {
  let why: string;
  if (error instanceof Deno.errors.NotADirectory || error instanceof Deno.errors.AlreadyExists) {
    const file = fileInTheWay(dir);
    why = file === undefined ? "part of its path is a file" : `${file} is a file, not a folder`;
  } else if (error instanceof Deno.errors.PermissionDenied) {
    why = "it cannot be written (permission denied)";
  } else if ((error as { code?: unknown }).code === "EROFS") {
    why = "it is on a read-only file system";
  } else {
    return undefined;
  }
  const variable = Deno.env.get("KIRO_LOCAL_DIR");
  const fromVariable = variable !== undefined && resolve(variable) === resolve(dir);
  return new EnvironmentError(
    "local_state",
    fromVariable
      ? `Cannot use KIRO_LOCAL_DIR=${variable}: ${why}; set KIRO_LOCAL_DIR to a folder you can ` +
        "write to (or unset it to use .local/ in the project)"
      : `Cannot use the local state folder ${dir}: ${why}; make it a folder you can write to, ` +
        "or set KIRO_LOCAL_DIR to one",
    { cause: error },
  );
}

/**
 * Makes sure the local state folder `dir` exists and can be written. Throws
 * {@linkcode EnvironmentError} (`local_state`) saying why it cannot be used.
 */
async function prepareLocalStateDir(dir: string, folders: readonly string[]): Promise<void> {
  const probe = join(dir, `.write-check-${Deno.pid}`);
  try {
    for (const folder of folders) await Deno.mkdir(join(dir, folder), { recursive: true });
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (error) {
    throw localStateDirError(dir, error) ?? error;
  }
}

function portFromEnv(variable: string, fallback: number): number {
  const text = Deno.env.get(variable);
  if (text === undefined || text === "") return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`Cannot use ${variable}=${text}: it must be a port number (0–65535)`);
  }
  return port;
}

/**
 * The stable ports of the local stack: `$KIRO_LOCAL_DYNAMODB_PORT` and
 * `$KIRO_LOCAL_S3_PORT`, else 4567 and 4568.
 */
export function localPorts(): { dynamodb: number; s3: number } {
  return {
    dynamodb: portFromEnv("KIRO_LOCAL_DYNAMODB_PORT", DEFAULT_LOCAL_PORTS.dynamodb),
    s3: portFromEnv("KIRO_LOCAL_S3_PORT", DEFAULT_LOCAL_PORTS.s3),
  };
}

/** How to start a local stack. */
export interface LocalStackOptions {
  /** The state folder: `dynamodb/`, `s3/`, `signing-key.asc` live under it. */
  dir: string;
  /** Keep DynamoDB data on disk under `dir/dynamodb` (default true); else in memory. */
  persist?: boolean;
  /** Ports (0 = a free one). Default {@linkcode localPorts}. */
  ports?: { dynamodb: number; s3: number };
  /**
   * Makes the signing key file when it does not exist yet (given the path).
   * Default {@linkcode ensureLocalSigningKey}: a new Ed25519 key on first use.
   */
  ensureSigningKey?: (path: string) => Promise<void>;
  /** Log a line per request (default false). */
  verbose?: boolean;
}

/**
 * The outputs of a local stack in `dir` on `ports` (whether or not it runs):
 * `repoUrl` is s3rver's own HTTP address of the bucket, `signingKeySecretId`
 * the key file's path.
 */
export function localStackOutputs(
  options: { dir: string; ports: { dynamodb: number; s3: number } },
): StackOutputs {
  const endpoints = {
    dynamodb: `http://${LOCAL_HOST}:${options.ports.dynamodb}`,
    s3: `http://${LOCAL_HOST}:${options.ports.s3}`,
  };
  return parseStackOutputs({
    environment: "local",
    ...LOCAL_NAMES,
    repoUrl: `${endpoints.s3}/${LOCAL_NAMES.bucketName}`,
    signingKeySecretId: join(resolve(options.dir), SIGNING_KEY_FILE),
    region: LOCAL_REGION,
    endpoints,
  }, { source: "the local stack" });
}

/** A running local stack. */
export interface LocalStack {
  readonly outputs: StackOutputs;
  readonly dir: string;
  /** Stops both servers and waits until they are closed. */
  close(): Promise<void>;
}

/** A port is taken (by another stack or another program). */
export class PortInUseError extends Error {
  override name = "PortInUseError";
}

function listen(server: Server, port: number, what: string, variable: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new PortInUseError(
            `Cannot start the local ${what} on ${LOCAL_HOST}:${port}: the port is in use ` +
              `(stop the other program, or set ${variable} to a free port)`,
          ),
        );
      } else reject(error);
    };
    server.once("error", onError);
    server.listen(port, LOCAL_HOST, () => {
      server.off("error", onError);
      const address = server.address();
      resolvePort(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

function closeServer(server: { close(cb: (error?: Error) => void): unknown }): Promise<void> {
  return new Promise((done, reject) =>
    server.close((error?: Error | null) => {
      const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
      if (error === undefined || error === null || code === "ERR_SERVER_NOT_RUNNING") done();
      else reject(error);
    })
  );
}

async function createTable(endpoint: string, tableName: string, dir: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    try {
      await client.send(new CreateTableCommand(packagesTableDefinition(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    for (let attempt = 0; attempt < 200; attempt++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const key = (Table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(",");
      if (key !== `${PARTITION_KEY}:HASH,${SORT_KEY}:RANGE`) {
        throw new EnvironmentError(
          "local_state",
          `The local state in ${dir} holds a packages table keyed by ${key} ` +
            `(an older version of this program), not ${PARTITION_KEY} + ${SORT_KEY}: move ` +
            `${join(dir, "dynamodb")} away (or delete it) and publish again`,
        );
      }
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? [])
        .every((index) => index.IndexStatus === "ACTIVE");
      if (Table?.TableStatus === "ACTIVE" && indexesActive) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`The local table ${tableName} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}

/** The part of s3rver's filesystem store that {@linkcode installS3KeyOrderListing} and {@linkcode installSyncMetadata} use. */
interface FilesystemStoreLike {
  getBucketPath(bucket: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  listObjects(bucket: string, options: ListObjectsOptions): Promise<unknown>;
}

interface ListObjectsOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}

const S3RVER_OBJECT_SUFFIX = "._S3rver_object";
const S3RVER_METADATA_SUFFIX = "._S3rver_metadata.json";

/** Every object key under `prefix` in the bucket folder `root`, in no order. */
function walkKeys(root: string, prefix: string): string[] {
  const keys: string[] = [];
  const visit = (dir: string, rel: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const relPath = rel + entry.name;
      if (entry.isDirectory) {
        const folder = `${relPath}/`;
        // Descend only where keys with the prefix can be.
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) {
          visit(join(dir, entry.name), folder);
        }
      } else if (relPath.endsWith(S3RVER_OBJECT_SUFFIX)) {
        const key = relPath.slice(0, -S3RVER_OBJECT_SUFFIX.length);
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
  };
  try {
    visit(root, "");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return keys;
}

/**
 * What s3rver's `getMetadata` answers for `key`, read synchronously (the
 * object's stat, its stored metadata and its `.md5` file), or `undefined`
 * when a file is missing (the object is gone, or s3rver has not written its
 * MD5 yet). See {@linkcode installSyncMetadata}.
 */
function readMetadataSync(root: string, key: string): Record<string, unknown> | undefined {
  const objectPath = join(root, key + S3RVER_OBJECT_SUFFIX);
  try {
    const stat = Deno.statSync(objectPath);
    const stored = JSON.parse(Deno.readTextFileSync(join(root, key + S3RVER_METADATA_SUFFIX)));
    return {
      ...stored,
      etag: JSON.stringify(Deno.readTextFileSync(`${objectPath}.md5`)),
      "last-modified": (stat.mtime ?? new Date(0)).toUTCString(),
      "content-length": stat.size,
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Makes s3rver read an object's metadata (for a listing, a HEAD, a GET) with
 * synchronous file calls ({@linkcode readMetadataSync}), and ask its own
 * promise-based reader only when a file is missing. A listing page reads a
 * thousand of these, and its three promise-based reads each made a listing of
 * 10,000 pool objects cost about a second (0.6 s now).
 */
export function installSyncMetadata(store: FilesystemStoreLike): void {
  const original = store.getMetadata.bind(store);
  store.getMetadata = (bucket, key) => {
    const metadata = readMetadataSync(store.getBucketPath(bucket), key);
    return metadata === undefined ? original(bucket, key) : Promise.resolve(metadata);
  };
}

/**
 * Makes s3rver list keys in S3's order: by the UTF-8 bytes of the whole key.
 * s3rver 3.7.1 lists in the order its folder walk meets the files, so
 * `pool/main/k/kiro/…` can come before `pool/main/k/kiro-cli/…` (`-` sorts
 * before `/`) and anything paged by marker (`Marker`, `StartAfter`, and the
 * continuation token, which holds the last key) skips or repeats keys once a
 * prefix holds more than a page. Otherwise the listing is s3rver's own
 * (delimiter, prefix, page size, metadata).
 */
export function installS3KeyOrderListing(store: FilesystemStoreLike): void {
  store.listObjects = async (bucket, options) => {
    const { delimiter = "", startAfter = "", prefix = "", maxKeys = Infinity } = options;
    const after = Buffer.from(startAfter);
    const sorted = walkKeys(store.getBucketPath(bucket), prefix)
      .map((key) => ({ key, bytes: Buffer.from(key) }))
      .filter(({ bytes }) => Buffer.compare(bytes, after) > 0)
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    const commonPrefixes = new Set<string>();
    const keys: string[] = [];
    let isTruncated = false;
    for (const { key } of sorted) {
      if (delimiter !== "") {
        const at = key.indexOf(delimiter, prefix.length);
        if (at !== -1) {
          commonPrefixes.add(key.slice(0, at + delimiter.length));
          continue;
        }
      }
      if (keys.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      keys.push(key);
    }
    const objects = await Promise.all(keys.map(async (key) => {
      try {
        return new S3Object(bucket, key, null, await store.getMetadata(bucket, key));
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return undefined;
        throw error;
      }
    }));
    return {
      objects: objects.filter((object: unknown) => object !== undefined),
      commonPrefixes: [...commonPrefixes].sort(),
      isTruncated,
    };
  };
}

/**
 * Starts dynalite and s3rver in this process, creates the packages table and
 * the bucket (the legacy table is named in the outputs but not created), and
 * returns the stack's outputs.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  installS3rverDesShim();
  const dir = resolve(options.dir);
  const ports = options.ports ?? localPorts();
  const persist = options.persist ?? true;
  await prepareLocalStateDir(dir, persist ? ["s3", "dynamodb"] : ["s3"]);

  const dynamo: Server = dynalite({
    ...(persist ? { path: join(dir, "dynamodb") } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const dynamoPort = await listen(dynamo, ports.dynamodb, "DynamoDB", "KIRO_LOCAL_DYNAMODB_PORT")
    .catch(async (error) => {
      await closeServer(dynamo).catch(() => {});
      throw error;
    });

  const s3 = new S3rver({
    address: LOCAL_HOST,
    port: ports.s3,
    directory: join(dir, "s3"),
    silent: !(options.verbose ?? false),
    configureBuckets: [{ name: LOCAL_NAMES.bucketName, configs: [] }],
  });
  installSyncMetadata(s3.store);
  installS3KeyOrderListing(s3.store);
  // Our own HTTP server over s3rver's Koa handler (what `S3rver#listen` does),
  // so that a taken port is a clear error and port 0 reports the chosen port.
  const s3Server = createHttpServer(s3.callback());
  const closeS3 = async () => {
    await closeServer(s3Server);
    s3.logger.exceptions.unhandle();
    s3.logger.close();
  };
  let s3Port: number;
  try {
    await s3.configureBuckets();
    s3Port = await listen(s3Server, ports.s3, "S3", "KIRO_LOCAL_S3_PORT");
  } catch (error) {
    await closeS3().catch(() => {});
    await closeServer(dynamo).catch(() => {});
    throw error;
  }

  const endpoints = {
    dynamodb: `http://${LOCAL_HOST}:${dynamoPort}`,
    s3: `http://${LOCAL_HOST}:${s3Port}`,
  };
  const signingKeyPath = join(dir, SIGNING_KEY_FILE);
  try {
    await createTable(endpoints.dynamodb, LOCAL_NAMES.tableName, dir);
    await (options.ensureSigningKey ?? ensureLocalSigningKey)(signingKeyPath);
  } catch (error) {
    await closeS3().catch(() => {});
    await closeServer(dynamo).catch(() => {});
    throw error;
  }

  const outputs = localStackOutputs({ dir, ports: { dynamodb: dynamoPort, s3: s3Port } });

  let closed: Promise<void> | undefined;
  return {
    outputs,
    dir,
    close() {
      closed ??= (async () => {
        await closeS3();
        await closeServer(dynamo);
      })();
      return closed;
    },
  };
}

/**
 * Creates the local signing key at `path` (armored private key, mode 0600)
 * unless the file exists: a new Ed25519 key, "Kiro Local Archive Signing Key".
 * Returns whether it created one.
 */
export async function ensureLocalSigningKey(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return false;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const key = await generateSigningKey({
    name: "Kiro Local Archive Signing Key",
    email: "archive@localhost.invalid",
    type: "ed25519",
  });
  // createNew: two stacks starting at once cannot overwrite each other's key.
  try {
    await Deno.writeTextFile(path, key.armoredPrivateKey, { createNew: true, mode: 0o600 });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
  return true;
}

/** What `deno task dev` writes to `.local/stack.json` while it runs. */
export interface StackRecord {
  pid: number;
  startedAt: string;
  outputs: StackOutputs;
}

/** The path of the running stack's record in `dir`. */
export function stackRecordPath(dir: string): string {
  return join(dir, "stack.json");
}

/** Records `stack` as the running local stack of its folder (for other tasks). */
export async function writeStackRecord(stack: LocalStack): Promise<string> {
  const path = stackRecordPath(stack.dir);
  const record: StackRecord = {
    pid: Deno.pid,
    startedAt: new Date().toISOString(),
    outputs: stack.outputs,
  };
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(record, null, 2) + "\n");
  await Deno.rename(`${path}.tmp`, path);
  return path;
}

/** Removes the record of `stack` (only when it is still its own). */
export async function removeStackRecord(stack: LocalStack): Promise<void> {
  const path = stackRecordPath(stack.dir);
  try {
    const record = JSON.parse(await Deno.readTextFile(path)) as Partial<StackRecord>;
    if (record.pid !== Deno.pid) return;
    await Deno.remove(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
}

async function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  try {
    const connection = await Deno.connect({ hostname, port: Number(port) });
    connection.close();
    return true;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    // No /proc (not Linux): rely on the ports alone.
    return Deno.build.os !== "linux";
  }
}

/**
 * The outputs of the local stack running from `dir` (a `deno task dev`), or
 * `undefined` when there is none: no record, its process gone, or its ports
 * not answering.
 */
export async function runningLocalStack(
  dir: string = localStateDir(),
): Promise<StackOutputs | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(stackRecordPath(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw localStateDirError(dir, error) ?? error;
  }
  let record: Partial<StackRecord>;
  try {
    record = JSON.parse(text);
  } catch {
    return undefined; // half-written or damaged: treat as not running
  }
  if (typeof record.pid !== "number" || !processAlive(record.pid)) return undefined;
  const outputs = parseStackOutputs(record.outputs, {
    source: stackRecordPath(dir),
    environment: "local",
  });
  const { endpoints } = outputs;
  if (endpoints === undefined) return undefined;
  const [dynamo, s3] = await Promise.all([answers(endpoints.dynamodb), answers(endpoints.s3)]);
  return dynamo && s3 ? outputs : undefined;
}

/** How {@linkcode withLocalStack} finds or starts the stack. */
export interface WithLocalStackOptions {
  /** The state folder (default {@linkcode localStateDir}). */
  dir?: string;
  /** Ports when starting (default {@linkcode localPorts}). */
  ports?: { dynamodb: number; s3: number };
  /** Told whether a running stack is used or the stand-ins are started. */
  log?: (message: string) => void;
}

/**
 * Runs `fn` with the local environment's outputs: those of the running
 * `deno task dev` when there is one, else of stand-ins started for the call
 * and stopped afterwards.
 */
export async function withLocalStack<T>(
  fn: (outputs: StackOutputs) => Promise<T>,
  options: WithLocalStackOptions = {},
): Promise<T> {
  const dir = options.dir ?? localStateDir();
  const running = await runningLocalStack(dir);
  if (running !== undefined) {
    options.log?.(`Using the running local stack (${running.repoUrl})`);
    return await fn(running);
  }
  options.log?.(`Starting the local stack in ${dir} for this task`);
  const stack = await startLocalStack({ dir, ...(options.ports ? { ports: options.ports } : {}) });
  try {
    return await fn(stack.outputs);
  } finally {
    await stack.close();
  }
}
