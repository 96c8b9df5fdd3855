import assert from "node:assert/strict";
import { hostname } from "node:os";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { rebuildDependencies } from "../../lambda/dependencies.ts";
import {
  acquireLease,
  DEFAULT_LEASE_MS,
  LeaseBusyError,
  type LeaseInfo,
  LeaseLostError,
  leaseWaitMessages,
  PUBLISHER_LEASE_KEY,
  readLease,
  releaseLease,
  renewLease,
  WAIT_MESSAGE_EVERY_MS,
  withLease,
} from "../../lambda/store/lease.ts";
import { packageId } from "../../lambda/domain/package_record.ts";
import { reservedKey } from "../../lambda/store/table.ts";
import { type TestStack, withTestStack } from "../support/stack.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tableOf(stack: TestStack) {
  return { client: stack.clients.dynamo, tableName: stack.outputs.tableName };
}

Deno.test("the lease key cannot collide with a package key", () => {
  // Debian package names start with [a-z0-9].
  assert.ok(!/^[a-z0-9]/.test(PUBLISHER_LEASE_KEY.package_id));
  assert.notEqual(PUBLISHER_LEASE_KEY.package_id, packageId("lease", "publisher"));
  assert.deepEqual(PUBLISHER_LEASE_KEY, reservedKey("lease#publisher"));
});

Deno.test("a second holder is refused while the first holds the lease, with who and until when", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const first = await acquireLease(table, { label: "alice" });
    const error = await acquireLease(table, { label: "bob" }).then(
      () => assert.fail("the second acquire should fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LeaseBusyError);
    assert.equal(error.current.holder, first.holder);
    assert.match(error.message, /alice #[0-9a-f]{8} holds it since \d{4}-\d\d-\d\dT/);
    assert.match(error.message, new RegExp(new Date(first.expiresAt).toISOString()));
    assert.equal(await releaseLease(first), true);
    const second = await acquireLease(table, { label: "bob" });
    assert.match(second.holder, /^bob /);
    await releaseLease(second);
  }));

Deno.test("of many concurrent takers exactly one gets the lease", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => acquireLease(table, { label: `p${i}` })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1);
    assert.ok(
      results.every((r) => r.status === "fulfilled" || r.reason instanceof LeaseBusyError),
    );
  }));

Deno.test("an expired lease is taken over, and its old holder can neither renew nor release it", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const old = await acquireLease(table, { label: "crashed", durationMs: 50 });
    await sleep(80);
    const taker = await acquireLease(table, { label: "next" });
    assert.equal((await readLease(table))?.holder, taker.holder);
    await assert.rejects(() => renewLease(old), LeaseLostError);
    assert.equal(await releaseLease(old), false);
    assert.equal((await readLease(table))?.holder, taker.holder, "the taker still holds it");
    assert.equal(await releaseLease(taker), true);
    assert.equal(await readLease(table), undefined);
  }));

Deno.test("renewing keeps the lease past its first expiry", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const lease = await acquireLease(table, { label: "long", durationMs: 1000 });
    await sleep(600);
    const renewed = await renewLease(lease);
    assert.ok(renewed.expiresAt >= lease.expiresAt + 500);
    await sleep(Math.max(0, lease.expiresAt - Date.now()) + 50); // past the first expiry
    await assert.rejects(() => acquireLease(table, { label: "other" }), LeaseBusyError);
    await releaseLease(renewed);
  }));

Deno.test("withLease waits for a busy lease and then runs", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const first = await acquireLease(table, { label: "first" });
    let busy = 0;
    const releasing = sleep(150).then(() => releaseLease(first));
    const result = await withLease(table, async (held) => {
      assert.match(held.holder, /^second /);
      assert.equal((await readLease(table))?.holder, held.holder);
      return 42;
    }, { label: "second", wait: 5000, pollInterval: 30, onBusy: () => busy++ });
    await releasing;
    assert.equal(result, 42);
    assert.ok(busy >= 1, "it was busy at least once");
    assert.equal(await readLease(table), undefined, "released afterwards");
  }));

Deno.test("withLease gives up after its wait with LeaseBusyError", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const first = await acquireLease(table, { label: "holder" });
    let ran = false;
    const error = await withLease(table, () => {
      ran = true;
      return Promise.resolve();
    }, { label: "waiter", wait: 120, pollInterval: 40 }).then(
      () => assert.fail("should not run"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LeaseBusyError);
    assert.match(error.message, /holder #.* holds it .*\(waited 0 s\)/);
    assert.equal(ran, false);
    await releaseLease(first);
  }));

Deno.test("withLease releases the lease when its function throws", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    await assert.rejects(
      () => withLease(table, () => Promise.reject(new Error("boom")), { label: "x" }),
      /boom/,
    );
    assert.equal(await readLease(table), undefined);
  }));

Deno.test("withLease renews in the background so a long run keeps its lease", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    await withLease(table, async (held) => {
      await sleep(900); // three lease lengths
      assert.equal(held.signal.aborted, false);
      await assert.rejects(() => acquireLease(table, { label: "intruder" }), LeaseBusyError);
    }, { label: "long", durationMs: 300, renewEvery: 50 });
    assert.equal(await readLease(table), undefined);
  }));

Deno.test("withLease aborts its signal and fails when the lease is lost", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const error = await withLease(table, async (held) => {
      await sleep(120); // no renewal in time: expires and is taken over
      const intruder = await acquireLease(table, { label: "intruder" });
      // The next renewal finds it gone.
      for (let i = 0; i < 100 && !held.signal.aborted; i++) await sleep(50);
      assert.equal(held.signal.aborted, true);
      await releaseLease(intruder);
    }, { label: "slow", durationMs: 50, renewEvery: 600 }).then(
      () => assert.fail("should fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LeaseLostError, String(error));
  }));

Deno.test("a lease lasts about a minute by default and records its holder's host and pid", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    assert.ok(DEFAULT_LEASE_MS >= 30_000 && DEFAULT_LEASE_MS <= 60_000, String(DEFAULT_LEASE_MS));
    const before = Date.now();
    const lease = await acquireLease(table, { label: "default" });
    const stored = await readLease(table);
    assert.equal(stored?.expiresAt, lease.expiresAt);
    assert.ok(stored.expiresAt - before <= 60_000 + 1000, "expires within about a minute");
    assert.ok(stored.expiresAt - before >= DEFAULT_LEASE_MS);
    assert.equal(stored.host, hostname());
    assert.equal(stored.pid, Deno.pid);
    await releaseLease(lease);
  }));

Deno.test("renewing again and again extends the lease by its length, not by its age", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    let lease = await acquireLease(table, { label: "steady", durationMs: 400 });
    for (let i = 0; i < 3; i++) {
      await sleep(150);
      lease = await renewLease(lease);
      const left = lease.expiresAt - Date.now();
      assert.ok(left <= 400, `renewal ${i + 1} left ${left} ms, more than the 400 ms lease`);
    }
    await releaseLease(lease);
  }));

Deno.test("withLease renews every third of the lease by default, so work outlives the lease length", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    await withLease(table, async (held) => {
      await sleep(1200); // four lease lengths
      assert.equal(held.signal.aborted, false);
      assert.equal((await readLease(table))?.holder, held.holder);
      await assert.rejects(() => acquireLease(table, { label: "intruder" }), LeaseBusyError);
    }, { label: "long", durationMs: 300 });
    assert.equal(await readLease(table), undefined);
  }));

Deno.test("withLease keeps its lease through a renewal that fails once", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    let failures = 0;
    const flaky = {
      send(command: unknown) {
        if (command instanceof UpdateCommand && failures === 0) {
          failures++;
          return Promise.reject(new Error("Connection reset"));
        }
        return table.client.send(command as UpdateCommand);
      },
    } as unknown as DynamoDBDocumentClient;
    await withLease({ ...table, client: flaky }, async (held) => {
      await sleep(900);
      assert.equal(failures, 1, "one renewal failed");
      assert.equal(held.signal.aborted, false);
      assert.equal((await readLease(table))?.holder, held.holder);
    }, { label: "flaky", durationMs: 600, renewEvery: 100 });
  }));

function holding(holder: string, expiresAt: number): LeaseInfo {
  return { holder, acquiredAt: expiresAt - 60_000, expiresAt };
}

Deno.test("a waiting publisher prints one line, then at most one every 10 s", () => {
  let clock = 1_000_000;
  const lines: string[] = [];
  const onBusy = leaseWaitMessages((line) => lines.push(line), { now: () => clock });
  const current = holding("alice@laptop pid 42 #0badcafe", clock + 45_000);
  const waitMs = 5 * 60 * 1000;
  let polls = 0;
  for (let waitedMs = 0; waitedMs < waitMs; waitedMs += 250, clock += 250) {
    onBusy(current, { waitedMs, waitMs });
    polls++;
  }
  assert.equal(polls, 1200);
  assert.equal(WAIT_MESSAGE_EVERY_MS, 10_000);
  assert.equal(lines.length, 30, "one line per 10 s of five minutes");
  assert.equal(
    lines[0],
    "Waiting for the publisher lease held by alice@laptop pid 42 #0badcafe " +
      "(it expires in 45 s unless renewed)",
  );
  assert.equal(
    lines[1],
    "Still waiting for the publisher lease held by alice@laptop pid 42 #0badcafe " +
      "(it expires in 35 s unless renewed; giving up in 290 s)",
  );
  assert.match(lines[29]!, /expires in 0 s unless renewed; giving up in 10 s\)$/);
});

Deno.test("the waiting lines follow the holder and the clock, not the number of polls", () => {
  let clock = 0;
  const lines: string[] = [];
  const onBusy = leaseWaitMessages((line) => lines.push(line), { everyMs: 1000, now: () => clock });
  onBusy(holding("first", 30_000), { waitedMs: 0, waitMs: 60_000 });
  clock = 999;
  onBusy(holding("second", 50_000), { waitedMs: 999, waitMs: 60_000 });
  assert.equal(lines.length, 1, "nothing within a second of the first line");
  clock = 1000;
  onBusy(holding("second", 50_000), { waitedMs: 1000, waitMs: 60_000 });
  assert.equal(lines.length, 2);
  assert.match(
    lines[1]!,
    /held by second \(it expires in 49 s unless renewed; giving up in 59 s\)$/,
  );
});

Deno.test("withLease polls often but tells a person it waits only once per interval", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const first = await acquireLease(table, { label: "first" });
    let polls = 0;
    const lines: string[] = [];
    const releasing = sleep(1000).then(() => releaseLease(first));
    const started = Date.now();
    await withLease(table, () => Promise.resolve(), {
      label: "second",
      wait: 10_000,
      pollInterval: 10,
      messageEvery: 400,
      onBusy: () => polls++,
      onMessage: (line) => lines.push(line),
    });
    const waitedMs = Date.now() - started;
    await releasing;
    assert.ok(polls >= 20, `polled ${polls} times`);
    assert.ok(lines.length >= 2, lines.join("\n"));
    assert.ok(
      lines.length <= Math.floor(waitedMs / 400) + 1,
      `${lines.length} lines in ${waitedMs} ms`,
    );
    assert.match(
      lines[0]!,
      /^Waiting for the publisher lease held by first #[0-9a-f]{8} \(it expires in \d+ s unless renewed\)$/,
    );
    assert.match(lines[1]!, /^Still waiting .* giving up in \d+ s\)$/);
  }));

Deno.test("a waiting rebuild reports that it waits once, not on every poll", () =>
  withTestStack(async (stack) => {
    const table = tableOf(stack);
    const first = await acquireLease(table, { label: "other publisher" });
    const messages: string[] = [];
    const releasing = sleep(1500).then(() => releaseLease(first));
    await assert.rejects(
      () =>
        forceRebuild({
          ...rebuildDependencies(stack.outputs, stack.clients, { keys: [] }),
          // Stop right after the lease is taken: only the lease is under test.
          store: { listAll: () => Promise.reject(new Error("Lease taken, stopping here")) },
          leaseWaitMs: 10_000,
          onProgress: (event) => {
            if (event.phase === "lease") messages.push(event.message);
          },
        }),
      /Lease taken, stopping here/,
    );
    await releasing;
    assert.deepEqual(messages.slice(0, 1), ["Taking the publisher lease"]);
    const waiting = messages.filter((line) => /waiting/i.test(line));
    assert.equal(waiting.length, 1, messages.join("\n"));
    assert.match(waiting[0]!, /^Waiting for the publisher lease held by other publisher #/);
    assert.equal(await readLease(table), undefined, "released afterwards");
  }));
