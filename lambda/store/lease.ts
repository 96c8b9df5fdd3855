/**
 * The publisher lease: one publisher at a time per environment.
 *
 * The lease is one item of the packages table under the reserved key
 * {@linkcode PUBLISHER_LEASE_KEY} (Debian package names cannot begin with `_`,
 * so it never collides with a package key, and package listings skip it). It
 * is taken with a conditional put that succeeds only when no lease exists or
 * the existing one has expired, renewed and released only by its holder
 * (conditions on the holder id).
 *
 * The lease is short ({@linkcode DEFAULT_LEASE_MS}, a minute) and
 * {@linkcode withLease} renews it every third of that while its holder works,
 * so a publish may run for as long as it needs while a holder that died
 * (killed, crashed, lost its network) blocks the others for at most a minute.
 * The item also names the holder's host and pid: with
 * `takeOverDeadLocalHolders` (the `local` environment, where every publisher
 * runs on the same machine) a lease whose holder ran on this host and whose
 * process is gone is taken over at once. See the README section "The
 * publisher lease".
 *
 * @module
 */

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { hostname } from "node:os";
import process from "node:process";
import { reservedKey } from "./table.ts";

/** The primary key of the publisher lease item. */
export const PUBLISHER_LEASE_KEY = reservedKey("lease#publisher");

/**
 * How long a lease lasts unless renewed: 60 s. {@linkcode withLease} renews it
 * every 20 s, so a holder survives a stall (a slow request, a busy event loop)
 * of up to 40 s, and a dead holder blocks the others for at most a minute.
 */
export const DEFAULT_LEASE_MS = 60 * 1000;

/** How often a waiting publisher says it still waits, at most: every 10 s. */
export const WAIT_MESSAGE_EVERY_MS = 10 * 1000;

/** Where the lease lives: a document client and the packages table. */
export interface LeaseTable {
  client: DynamoDBDocumentClient;
  tableName: string;
  /**
   * Take over at once a lease whose holder ran on this host and whose process
   * is gone (see {@linkcode AcquireOptions.takeOverDeadLocalHolders}); the
   * default for every acquisition in this table. Only for the `local`
   * environment.
   */
  takeOverDeadLocalHolders?: boolean;
}

/** A lease as stored. */
export interface LeaseInfo {
  /** The holder's id: its label plus a random suffix, unique per acquisition. */
  holder: string;
  /** When it was taken (epoch ms). */
  acquiredAt: number;
  /** When it expires unless renewed (epoch ms). */
  expiresAt: number;
  /** The holder's host name (absent in a lease written before hosts were recorded). */
  host?: string;
  /** The holder's process id on `host`. */
  pid?: number;
}

/** A lease this process holds. */
export interface Lease extends LeaseInfo {
  readonly table: LeaseTable;
  /** How long each renewal extends it by (ms). */
  durationMs: number;
  /** The lease of the dead local holder this one was taken over from, if it was. */
  takenOverFrom?: LeaseInfo;
}

/** How to take a lease. */
export interface AcquireOptions {
  /** Who takes it, for the messages others see (default `user@host pid N`). */
  label?: string;
  /** How long it lasts unless renewed (default {@linkcode DEFAULT_LEASE_MS}). */
  durationMs?: number;
  /**
   * When the lease is busy, its holder ran on this host (same host name) and
   * its process is gone (`kill(pid, 0)` fails with `ESRCH`), take it over at
   * once instead of waiting for it to expire. The takeover is a conditional
   * write on the old holder id, so of two takers only one wins. Only for the
   * `local` environment: on AWS, hosts are not this machine. Default: the
   * table's {@linkcode LeaseTable.takeOverDeadLocalHolders}, else false.
   */
  takeOverDeadLocalHolders?: boolean;
}

/** The lease is held by someone else. */
export class LeaseBusyError extends Error {
  override name = "LeaseBusyError";
  /** The current holder's lease. */
  readonly current: LeaseInfo;

  constructor(tableName: string, current: LeaseInfo, waitedMs: number) {
    const waited = waitedMs > 0 ? ` (waited ${Math.round(waitedMs / 1000)} s)` : "";
    super(
      `Cannot take the publisher lease in ${tableName}: ${current.holder} holds it since ` +
        `${new Date(current.acquiredAt).toISOString()} until ` +
        `${new Date(current.expiresAt).toISOString()}${waited}; ` +
        `wait for that publish to finish, or for the lease to expire (at most a minute) ` +
        `if its holder died`,
    );
    this.current = current;
  }
}

/** A lease this process held was taken over (it expired) or removed. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

function defaultLabel(): string {
  const user = process.env.USER ?? process.env.USERNAME ?? "unknown";
  return `${user}@${hostname()} pid ${process.pid}`;
}

/** The current lease, expired or not, or `undefined` when there is none. */
export async function readLease(table: LeaseTable): Promise<LeaseInfo | undefined> {
  const { Item } = await table.client.send(
    new GetCommand({
      TableName: table.tableName,
      Key: PUBLISHER_LEASE_KEY,
      ConsistentRead: true,
    }),
  );
  if (Item === undefined) return undefined;
  return {
    holder: String(Item.holder),
    acquiredAt: Number(Item.acquired_at),
    expiresAt: Number(Item.expires_at),
    ...(typeof Item.host === "string" ? { host: Item.host } : {}),
    ...(typeof Item.pid === "number" ? { pid: Item.pid } : {}),
  };
}

/**
 * Whether `lease`'s holder ran on this host and its process no longer exists.
 * Only `ESRCH` counts as gone: a process of another user (`EPERM`), a missing
 * permission or a lease without host and pid all count as alive.
 */
function holderIsDeadLocally(lease: LeaseInfo): boolean {
  if (lease.host !== hostname() || lease.pid === undefined || lease.pid === process.pid) {
    return false;
  }
  if (!Number.isSafeInteger(lease.pid) || lease.pid <= 0) return false;
  try {
    process.kill(lease.pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === "ESRCH";
  }
}

/**
 * Takes the lease now, or throws {@linkcode LeaseBusyError} when someone else
 * holds an unexpired one. An expired lease is taken over, and so is, with
 * `takeOverDeadLocalHolders`, one whose local holder process is gone (the
 * returned lease's `takenOverFrom` says so).
 */
export async function acquireLease(
  table: LeaseTable,
  options: AcquireOptions = {},
): Promise<Lease> {
  const durationMs = options.durationMs ?? DEFAULT_LEASE_MS;
  const takeOver = options.takeOverDeadLocalHolders ?? table.takeOverDeadLocalHolders ?? false;
  const holder = `${options.label ?? defaultLabel()} #${crypto.randomUUID().slice(0, 8)}`;
  const host = hostname();
  const pid = process.pid;
  const put = async (condition: string, values: Record<string, unknown>): Promise<Lease> => {
    const now = Date.now();
    const lease: Lease = {
      table,
      holder,
      acquiredAt: now,
      expiresAt: now + durationMs,
      host,
      pid,
      durationMs,
    };
    await table.client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...PUBLISHER_LEASE_KEY,
          holder,
          acquired_at: lease.acquiredAt,
          expires_at: lease.expiresAt,
          host,
          pid,
        },
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
      }),
    );
    return lease;
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await put("attribute_not_exists(package_id) OR expires_at < :now", {
        ":now": Date.now(),
      });
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const current = await readLease(table);
    // Released (or expired) between the two calls: try again.
    if (current === undefined || current.expiresAt < Date.now()) continue;
    if (!takeOver || !holderIsDeadLocally(current)) {
      throw new LeaseBusyError(table.tableName, current, 0);
    }
    try {
      // Only while the dead holder still holds it: of two takers, one wins.
      const lease = await put("holder = :old", { ":old": current.holder });
      return { ...lease, takenOverFrom: current };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Someone else took it over (or it was released) first: look again.
    }
  }
  throw new Error(
    `Cannot take the publisher lease in ${table.tableName}: it keeps changing hands; ` +
      `try again in a minute`,
  );
}

/**
 * Extends `lease` to `durationMs` from now (default: the length it was taken
 * with, however often it was renewed). Throws {@linkcode LeaseLostError} when
 * it is no longer this holder's.
 */
export async function renewLease(
  lease: Lease,
  options: { durationMs?: number } = {},
): Promise<Lease> {
  const durationMs = options.durationMs ?? lease.durationMs;
  const expiresAt = Date.now() + durationMs;
  try {
    await lease.table.client.send(
      new UpdateCommand({
        TableName: lease.table.tableName,
        Key: PUBLISHER_LEASE_KEY,
        UpdateExpression: "SET expires_at = :expires",
        ConditionExpression: "holder = :holder",
        ExpressionAttributeValues: { ":expires": expiresAt, ":holder": lease.holder },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    throw new LeaseLostError(
      `Cannot renew the publisher lease in ${lease.table.tableName}: ${lease.holder} no longer ` +
        `holds it (it expired and was taken over); stop publishing and run again`,
    );
  }
  return { ...lease, expiresAt };
}

/**
 * Gives the lease back. Returns false when it was no longer this holder's
 * (then it is left alone: someone else holds it now).
 */
export async function releaseLease(lease: Lease): Promise<boolean> {
  try {
    await lease.table.client.send(
      new DeleteCommand({
        TableName: lease.table.tableName,
        Key: PUBLISHER_LEASE_KEY,
        ConditionExpression: "holder = :holder",
        ExpressionAttributeValues: { ":holder": lease.holder },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** How long {@linkcode withLease} has waited for a busy lease, and for how long it will. */
export interface LeaseWait {
  /** Waited so far (ms). */
  waitedMs: number;
  /** The most it waits (ms): its `wait` option. */
  waitMs: number;
}

/** Options of {@linkcode leaseWaitMessages}. */
export interface LeaseWaitMessagesOptions {
  /** At most one line this often after the first (default {@linkcode WAIT_MESSAGE_EVERY_MS}). */
  everyMs?: number;
  /** The clock, epoch ms (default `Date.now`). */
  now?: () => number;
}

/**
 * The waiting publisher's lines, throttled: returns an `onBusy` callback that,
 * called on every poll, reports the first time
 * `Waiting for the publisher lease held by X (it expires in N s unless renewed)`
 * and then at most one line every `everyMs` with the holder, its expiry and the
 * remaining wait.
 *
 * @example
 * ```ts
 * const onBusy = leaseWaitMessages((line) => console.error(line));
 * await withLease(table, publish, { wait: 300_000, onBusy });
 * ```
 */
export function leaseWaitMessages(
  report: (message: string) => void,
  options: LeaseWaitMessagesOptions = {},
): (current: LeaseInfo, wait: LeaseWait) => void {
  const everyMs = options.everyMs ?? WAIT_MESSAGE_EVERY_MS;
  const now = options.now ?? Date.now;
  let last: number | undefined;
  return (current, wait) => {
    const at = now();
    if (last !== undefined && at - last < everyMs) return;
    const expiresIn = Math.max(0, Math.ceil((current.expiresAt - at) / 1000));
    if (last === undefined) {
      report(
        `Waiting for the publisher lease held by ${current.holder} ` +
          `(it expires in ${expiresIn} s unless renewed)`,
      );
    } else {
      const givingUpIn = Math.max(0, Math.ceil((wait.waitMs - wait.waitedMs) / 1000));
      report(
        `Still waiting for the publisher lease held by ${current.holder} ` +
          `(it expires in ${expiresIn} s unless renewed; giving up in ${givingUpIn} s)`,
      );
    }
    last = at;
  };
}

/** How {@linkcode withLease} waits for and keeps the lease. */
export interface WithLeaseOptions extends AcquireOptions {
  /** How long to wait for a busy lease before {@linkcode LeaseBusyError} (default 0). */
  wait?: number;
  /** How often to retry while waiting (default 2 s, at most `wait`). */
  pollInterval?: number;
  /** Renew the lease this often while `fn` runs (default a third of its duration). */
  renewEvery?: number;
  /** Called each time the lease is found busy while waiting (every poll). */
  onBusy?: (current: LeaseInfo, wait: LeaseWait) => void;
  /**
   * Told in one line what a person watching should know: that it waits (the
   * first time, then at most every `messageEvery` ms, see
   * {@linkcode leaseWaitMessages}) and that it took the lease over from a
   * dead local holder.
   */
  onMessage?: (message: string) => void;
  /** At most one waiting line this often (default {@linkcode WAIT_MESSAGE_EVERY_MS}). */
  messageEvery?: number;
}

/** What {@linkcode withLease} gives `fn`. */
export interface HeldLease {
  /** The holder id. */
  holder: string;
  /** Aborted when the lease is lost (renewal refused): stop writing. */
  signal: AbortSignal;
}

/**
 * Runs `fn` holding the lease: waits up to `wait` ms for it, renews it in the
 * background while `fn` runs, and releases it afterwards (also on error).
 * If a renewal finds the lease lost, or cannot reach the table until the lease
 * has expired, `signal` is aborted and, once `fn` returns, that error
 * ({@linkcode LeaseLostError} when lost) is thrown.
 */
export async function withLease<T>(
  table: LeaseTable,
  fn: (held: HeldLease) => Promise<T>,
  options: WithLeaseOptions = {},
): Promise<T> {
  const wait = options.wait ?? 0;
  const started = Date.now();
  const onMessage = options.onMessage;
  const waitMessage = onMessage === undefined ? undefined : leaseWaitMessages(onMessage, {
    ...(options.messageEvery === undefined ? {} : { everyMs: options.messageEvery }),
  });
  let lease: Lease;
  for (;;) {
    try {
      lease = await acquireLease(table, options);
      break;
    } catch (error) {
      if (!(error instanceof LeaseBusyError)) throw error;
      const waited = Date.now() - started;
      if (waited >= wait) throw new LeaseBusyError(table.tableName, error.current, waited);
      options.onBusy?.(error.current, { waitedMs: waited, waitMs: wait });
      waitMessage?.(error.current, { waitedMs: waited, waitMs: wait });
      const pause = Math.min(options.pollInterval ?? 2000, wait - waited);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
  const previous = lease.takenOverFrom;
  if (previous !== undefined) {
    onMessage?.(
      `Took over the publisher lease from ${previous.holder}: its process ${previous.pid} is gone`,
    );
  }

  const controller = new AbortController();
  let lost: unknown;
  let current = lease;
  const renewEvery = options.renewEvery ?? Math.max(1, lease.durationMs / 3);
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      if (controller.signal.aborted) return;
      try {
        current = await renewLease(current);
      } catch (error) {
        // A failed call (after the SDK's retries) is tried again at the next
        // tick while the lease is still ours; lost, or expired meanwhile, it
        // is over.
        if (!(error instanceof LeaseLostError) && Date.now() < current.expiresAt - renewEvery / 2) {
          return;
        }
        lost = error;
        controller.abort(error);
      }
    });
  }, renewEvery);
  try {
    const result = await fn({ holder: lease.holder, signal: controller.signal });
    if (lost !== undefined) throw lost;
    return result;
  } finally {
    clearInterval(timer);
    await renewing;
    if (!(lost instanceof LeaseLostError)) await releaseLease(current);
  }
}
