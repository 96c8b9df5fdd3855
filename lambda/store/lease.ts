/**
 * The publisher lease: one publisher at a time per environment.
 *
 * The lease is one item of the packages table under the reserved key
 * {@linkcode PUBLISHER_LEASE_KEY} (Debian package names cannot begin with `_`,
 * so it never collides with a `name#version` key, and package listings skip
 * it). It is taken with a conditional put that succeeds only when no lease
 * exists or the existing one has expired, renewed and released only by its
 * holder (conditions on the holder id). A crashed holder blocks the others
 * until its lease expires (default 15 minutes, the Lambda's longest run).
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
import { RESERVED_KEY_PREFIX } from "./table.ts";

/** The partition key of the publisher lease. */
export const PUBLISHER_LEASE_KEY = `${RESERVED_KEY_PREFIX}lease#publisher`;

/** How long a lease lasts unless renewed: 15 minutes. */
export const DEFAULT_LEASE_MS = 15 * 60 * 1000;

/** Where the lease lives: a document client and the packages table. */
export interface LeaseTable {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/** A lease as stored. */
export interface LeaseInfo {
  /** The holder's id: its label plus a random suffix, unique per acquisition. */
  holder: string;
  /** When it was taken (epoch ms). */
  acquiredAt: number;
  /** When it expires unless renewed (epoch ms). */
  expiresAt: number;
}

/** A lease this process holds. */
export interface Lease extends LeaseInfo {
  readonly table: LeaseTable;
}

/** How to take a lease. */
export interface AcquireOptions {
  /** Who takes it, for the messages others see (default `user@host pid N`). */
  label?: string;
  /** How long it lasts unless renewed (default {@linkcode DEFAULT_LEASE_MS}). */
  durationMs?: number;
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
        `wait for that publish to finish, or for the lease to expire if its holder died`,
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
      Key: { package_id: PUBLISHER_LEASE_KEY },
      ConsistentRead: true,
    }),
  );
  if (Item === undefined) return undefined;
  return {
    holder: String(Item.holder),
    acquiredAt: Number(Item.acquired_at),
    expiresAt: Number(Item.expires_at),
  };
}

/**
 * Takes the lease now, or throws {@linkcode LeaseBusyError} when someone else
 * holds an unexpired one. An expired lease is taken over.
 */
export async function acquireLease(
  table: LeaseTable,
  options: AcquireOptions = {},
): Promise<Lease> {
  const durationMs = options.durationMs ?? DEFAULT_LEASE_MS;
  const holder = `${options.label ?? defaultLabel()} #${crypto.randomUUID().slice(0, 8)}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const now = Date.now();
    const lease: Lease = { table, holder, acquiredAt: now, expiresAt: now + durationMs };
    try {
      await table.client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: {
            package_id: PUBLISHER_LEASE_KEY,
            holder,
            acquired_at: lease.acquiredAt,
            expires_at: lease.expiresAt,
          },
          ConditionExpression: "attribute_not_exists(package_id) OR expires_at < :now",
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      return lease;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const current = await readLease(table);
    // Released (or expired) between the two calls: try again.
    if (current !== undefined && current.expiresAt >= Date.now()) {
      throw new LeaseBusyError(table.tableName, current, 0);
    }
  }
  throw new Error(`Cannot take the publisher lease in ${table.tableName}: it keeps changing hands`);
}

/**
 * Extends `lease` to `durationMs` from now (default: its original length).
 * Throws {@linkcode LeaseLostError} when it is no longer this holder's.
 */
export async function renewLease(
  lease: Lease,
  options: { durationMs?: number } = {},
): Promise<Lease> {
  const durationMs = options.durationMs ?? lease.expiresAt - lease.acquiredAt;
  const expiresAt = Date.now() + durationMs;
  try {
    await lease.table.client.send(
      new UpdateCommand({
        TableName: lease.table.tableName,
        Key: { package_id: PUBLISHER_LEASE_KEY },
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
        Key: { package_id: PUBLISHER_LEASE_KEY },
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

/** How {@linkcode withLease} waits for and keeps the lease. */
export interface WithLeaseOptions extends AcquireOptions {
  /** How long to wait for a busy lease before {@linkcode LeaseBusyError} (default 0). */
  wait?: number;
  /** How often to retry while waiting (default 2 s, at most `wait`). */
  pollInterval?: number;
  /** Renew the lease this often while `fn` runs (default a third of its duration). */
  renewEvery?: number;
  /** Called each time the lease is found busy while waiting. */
  onBusy?: (current: LeaseInfo) => void;
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
 * If a renewal finds the lease lost, `signal` is aborted and, once `fn`
 * returns, {@linkcode LeaseLostError} is thrown.
 */
export async function withLease<T>(
  table: LeaseTable,
  fn: (held: HeldLease) => Promise<T>,
  options: WithLeaseOptions = {},
): Promise<T> {
  const wait = options.wait ?? 0;
  const started = Date.now();
  let lease: Lease;
  for (;;) {
    try {
      lease = await acquireLease(table, options);
      break;
    } catch (error) {
      if (!(error instanceof LeaseBusyError)) throw error;
      const waited = Date.now() - started;
      if (waited >= wait) throw new LeaseBusyError(table.tableName, error.current, waited);
      options.onBusy?.(error.current);
      const pause = Math.min(options.pollInterval ?? 2000, wait - waited);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  const controller = new AbortController();
  let lost: unknown;
  let current = lease;
  const renewEvery = options.renewEvery ?? Math.max(1, (lease.expiresAt - lease.acquiredAt) / 3);
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      if (controller.signal.aborted) return;
      try {
        current = await renewLease(current);
      } catch (error) {
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
