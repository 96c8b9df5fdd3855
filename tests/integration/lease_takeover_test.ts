/**
 * The publisher lease when its holder dies: a real process takes the lease
 * against the test stack's DynamoDB stand-in and is killed with SIGKILL.
 * Locally its lease is taken over at once; otherwise it blocks the next
 * publisher until it expires (a minute by default).
 */

import assert from "node:assert/strict";
import { hostname } from "node:os";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  acquireLease,
  DEFAULT_LEASE_MS,
  LeaseBusyError,
  type LeaseTable,
  PUBLISHER_LEASE_KEY,
  readLease,
  releaseLease,
  withLease,
} from "../../lambda/store/lease.ts";
import { rebuildEnvironment } from "../../tasks/rebuild.ts";
import { type TestStack, withTestStack } from "../support/stack.ts";

const HOLDER_SCRIPT = new URL("./lease_holder_process.ts", import.meta.url).pathname;

function tableOf(stack: TestStack): LeaseTable {
  return { client: stack.clients.dynamo, tableName: stack.outputs.tableName };
}

/** A publisher process holding the lease. */
interface HolderProcess {
  pid: number;
  holder: string;
  /** SIGKILL, then waits until it is reaped (a zombie still answers `kill(pid, 0)`). */
  kill(): Promise<void>;
}

/** Starts a publisher process and waits until it holds the lease. */
async function startHolder(
  stack: TestStack,
  options: { durationMs?: number } = {},
): Promise<HolderProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      HOLDER_SCRIPT,
      JSON.stringify(stack.outputs),
      ...(options.durationMs === undefined ? [] : [String(options.durationMs)]),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let killed = false;
  const kill = async () => {
    if (!killed) {
      killed = true;
      child.kill("SIGKILL");
    }
    await child.status;
  };
  try {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const match = /^held (.+)$/m.exec(text);
      if (match !== null) return { pid: child.pid, holder: match[1]!, kill };
    }
    throw new Error(`The lease holder process ended without taking the lease: ${text}`);
  } catch (error) {
    await kill();
    throw error;
  }
}

/** Runs `fn` with a publisher process holding the lease; kills it in the end anyway. */
async function withHolder(
  stack: TestStack,
  options: { durationMs?: number },
  fn: (holder: HolderProcess) => Promise<void>,
): Promise<void> {
  const holder = await startHolder(stack, options);
  try {
    await fn(holder);
  } finally {
    await holder.kill();
  }
}

Deno.test("a local publisher whose process was killed is taken over at once, with a message", () =>
  withTestStack((stack) =>
    withHolder(stack, {}, async (child) => {
      const table = tableOf(stack);
      const stored = await readLease(table);
      assert.equal(stored?.holder, child.holder);
      assert.equal(stored.host, hostname());
      assert.equal(stored.pid, child.pid);
      await child.kill();

      const messages: string[] = [];
      const started = Date.now();
      const ran = await withLease(table, async (held) => {
        assert.equal((await readLease(table))?.holder, held.holder);
        return true;
      }, {
        label: "next",
        takeOverDeadLocalHolders: true,
        onMessage: (message) => messages.push(message),
      });
      assert.equal(ran, true);
      assert.ok(Date.now() - started < 2000, "no waiting for the lease to expire");
      assert.deepEqual(messages, [
        `Took over the publisher lease from ${child.holder}: its process ${child.pid} is gone`,
      ]);
    })
  ));

Deno.test("without the takeover, a killed publisher blocks the next one until its short lease expires", () =>
  withTestStack((stack) =>
    withHolder(stack, { durationMs: 2000 }, async (child) => {
      const table = tableOf(stack);
      await child.kill();
      const expiresAt = (await readLease(table))!.expiresAt;
      await assert.rejects(() => acquireLease(table, { label: "next" }), LeaseBusyError);
      const lease = await withLease(table, async () => (await readLease(table))!, {
        label: "next",
        wait: 10_000,
        pollInterval: 50,
      });
      assert.ok(lease.acquiredAt >= expiresAt, "taken only once the dead holder's lease expired");
      assert.ok(lease.acquiredAt - expiresAt < 1000, "taken as soon as it expired");
    })
  ));

Deno.test("a killed publisher with the default lease blocks the next one for at most a minute", () =>
  withTestStack((stack) =>
    withHolder(stack, {}, async (child) => {
      const table = tableOf(stack);
      await child.kill();
      const killedAt = Date.now();
      const stored = (await readLease(table))!;
      assert.equal(stored.expiresAt - stored.acquiredAt, DEFAULT_LEASE_MS);
      assert.ok(stored.expiresAt - killedAt <= 60_000, "free again within a minute");
      const error = await acquireLease(table, { label: "next" }).then(
        () => assert.fail("the lease should still be busy"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof LeaseBusyError);
      assert.match(
        error.message,
        /for the lease to expire \(at most a minute\) if its holder died/,
      );
    })
  ));

Deno.test("a local publisher that is still running is not taken over", () =>
  withTestStack((stack) =>
    withHolder(stack, {}, async (child) => {
      const table = tableOf(stack);
      const error = await acquireLease(table, { label: "next", takeOverDeadLocalHolders: true })
        .then(() => assert.fail("the lease should be busy"), (e: unknown) => e);
      assert.ok(error instanceof LeaseBusyError);
      assert.equal(error.current.holder, child.holder);
      assert.equal((await readLease(table))?.holder, child.holder);
    })
  ));

Deno.test("a holder on another host is not taken over, even when its pid is unused here", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const unusedPid = 2 ** 31 - 1;
    const putLease = (host: string) =>
      table.client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: {
            ...PUBLISHER_LEASE_KEY,
            holder: `ghost on ${host}`,
            acquired_at: Date.now(),
            expires_at: Date.now() + 60_000,
            host,
            pid: unusedPid,
          },
        }),
      );
    await putLease("another-host.invalid");
    await assert.rejects(
      () => acquireLease(table, { label: "next", takeOverDeadLocalHolders: true }),
      LeaseBusyError,
    );
    await putLease(hostname());
    const lease = await acquireLease(table, { label: "next", takeOverDeadLocalHolders: true });
    assert.equal(lease.takenOverFrom?.holder, `ghost on ${hostname()}`);
    await releaseLease(lease);
  }));

Deno.test("of many takers of a killed publisher's lease exactly one wins", () =>
  withTestStack((stack) =>
    withHolder(stack, {}, async (child) => {
      const table = tableOf(stack);
      await child.kill();
      const results = await Promise.allSettled(
        Array.from(
          { length: 8 },
          (_, i) => acquireLease(table, { label: `taker${i}`, takeOverDeadLocalHolders: true }),
        ),
      );
      const won = results.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
      assert.equal(won.length, 1);
      assert.equal(won[0]!.takenOverFrom?.holder, child.holder);
      assert.ok(
        results.every((r) => r.status === "fulfilled" || r.reason instanceof LeaseBusyError),
      );
      assert.equal((await readLease(table))?.holder, won[0]!.holder);
    })
  ));

Deno.test("the local rebuild run again after its publisher was killed takes over at once", () =>
  withTestStack((stack) =>
    withHolder(stack, {}, async (child) => {
      await child.kill();
      const lines: string[] = [];
      // A copy of the outputs: the task destroys the clients it made for them.
      const answer = await rebuildEnvironment({ ...stack.outputs }, {
        log: (line) => lines.push(line),
        leaseWaitMs: 0,
      });
      assert.equal(answer.packages, 0);
      assert.ok(
        lines.some((line) =>
          line.includes(
            `Took over the publisher lease from ${child.holder}: its process ${child.pid} is gone`,
          )
        ),
        lines.join("\n"),
      );
      assert.equal(await readLease(tableOf(stack)), undefined, "released afterwards");
    })
  ));
