import assert from "node:assert/strict";
import {
  acquireLease,
  LeaseBusyError,
  LeaseLostError,
  PUBLISHER_LEASE_KEY,
  readLease,
  releaseLease,
  renewLease,
  withLease,
} from "../../lambda/store/lease.ts";
import { packageId } from "../../lambda/domain/package_record.ts";
import { type TestStack, withTestStack } from "../support/stack.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tableOf(stack: TestStack) {
  return { client: stack.clients.dynamo, tableName: stack.outputs.tableName };
}

Deno.test("the lease key cannot collide with a package key", () => {
  // Debian package names start with [a-z0-9].
  assert.ok(!/^[a-z0-9]/.test(PUBLISHER_LEASE_KEY));
  assert.notEqual(PUBLISHER_LEASE_KEY, packageId("lease", "publisher"));
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
