/**
 * Channels against the local stand-ins: membership changes and their audit,
 * the publish history, rollback, pool pruning and promotion between
 * environments (`tasks/channels/`).
 */

import assert from "node:assert/strict";
import { identityLabel } from "../../lambda/domain/channels.ts";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { PublishHistory } from "../../lambda/store/history.ts";
import { RecordConflictError } from "../../lambda/store/package_store.ts";
import {
  promoteAcrossEnvironments,
  promoteToChannel,
  PromotionError,
} from "../../tasks/channels/promotion.ts";
import { prunePool, PruneWindowError } from "../../tasks/channels/prune.ts";
import { rollbackChannel, RollbackError } from "../../tasks/channels/rollback.ts";
import { addDeb } from "../../tasks/lifecycle/add_deb.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";
import { startTestStack, type TestStack, withTestStack } from "../support/stack.ts";

const CHANNELS = ["stable", "beta"];
const DAY = 86_400_000;

/** Records `kiro VERSION amd64` in `channels`, its pool object in place. */
async function record(
  stack: TestStack,
  version: string,
  channels: string[],
  name = "kiro",
): Promise<PackageRecord> {
  const objects = objectStoreFor(stack.outputs, stack.clients);
  const [seeded] = await seedPool(objects, [
    syntheticRecord({ name, version, architecture: "amd64" }),
  ]);
  const withChannels = { ...seeded!, channels };
  await stack.store.put(withChannels);
  return withChannels;
}

/** A force rebuild of the stack, as `startedBy`, with `keep` as kiro's keep_versions. */
async function publish(stack: TestStack, startedBy: string, keep?: number) {
  return await forceRebuild({
    ...rebuildDependencies(stack.outputs, stack.clients, {
      keys: await testSigningKeys(),
      startedBy,
    }),
    policy: {
      channels: CHANNELS,
      ...(keep === undefined ? {} : { keepVersions: new Map([["kiro", keep]]) }),
    },
  });
}

async function packages(stack: TestStack, channel: string): Promise<string> {
  const bytes = await objectStoreFor(stack.outputs, stack.clients).get(
    `dists/${channel}/main/binary-amd64/Packages`,
  );
  return new TextDecoder().decode(bytes);
}

Deno.test("promoting a beta version to stable adds the channel with who, when and why, and nothing else", async () => {
  await withTestStack(async (stack) => {
    await record(stack, "1.0", ["stable"]);
    await record(stack, "1.1", ["beta"]);
    await publish(stack, "test");
    assert.doesNotMatch(await packages(stack, "stable"), /Version: 1\.1\n/);
    assert.match(await packages(stack, "beta"), /Version: 1\.1\n/);

    let converged = 0;
    const deps = {
      store: stack.store,
      channels: CHANNELS,
      converge: async () => {
        converged++;
        await publish(stack, "promote");
        return true;
      },
      now: () => new Date("2026-12-01T10:00:00Z"),
    };
    const dry = await promoteToChannel(
      { name: "kiro", version: "1.1", to: "stable", by: "alice@host", dryRun: true },
      deps,
    );
    assert.equal(dry.changed.length, 1);
    assert.equal(converged, 0, "a dry run publishes nothing");
    assert.deepEqual((await stack.store.get(dry.changed[0]!))?.channels, ["beta"]);

    const done = await promoteToChannel(
      { name: "kiro", version: "1.1", to: "stable", by: "alice@host" },
      deps,
    );
    assert.equal(converged, 1);
    const now = await stack.store.get(done.changed[0]!);
    assert.deepEqual(now?.channels, ["beta", "stable"]);
    assert.deepEqual(now?.channel_history, [{
      channel: "stable",
      action: "added",
      at: "2026-12-01T10:00:00.000Z",
      by: "alice@host",
      reason: "promoted from beta",
    }]);
    assert.match(await packages(stack, "stable"), /Version: 1\.1\n/);
    assert.equal(now?.sha256_hash, done.changed[0]!.sha256_hash, "the bytes never change");

    const again = await promoteToChannel(
      { name: "kiro", version: "1.1", to: "stable", by: "alice@host" },
      deps,
    );
    assert.deepEqual(again.changed, [], "promoting again changes nothing");
  });
});

Deno.test("promotion refuses a channel the environment does not publish and a withdrawn version", async () => {
  await withTestStack(async (stack) => {
    const withdrawn = await record(stack, "1.0", ["beta"]);
    await stack.store.setStatus(withdrawn, {
      status: "withdrawn",
      at: "2026-12-01T00:00:00Z",
      by: "bob",
      reason: "broken",
    });
    const deps = { store: stack.store, channels: CHANNELS, converge: () => Promise.resolve(false) };
    await assert.rejects(
      promoteToChannel({ name: "kiro", version: "1.0", to: "nightly", by: "a" }, deps),
      (error: Error) =>
        error instanceof PromotionError &&
        /Cannot promote to nightly: the environment publishes stable, beta/.test(error.message),
    );
    await assert.rejects(
      promoteToChannel({ name: "kiro", version: "1.0", to: "stable", by: "a" }, deps),
      /kiro 1\.0 \(amd64\) is withdrawn in the environment \(reinstate it first\)/,
    );
    await assert.rejects(
      promoteToChannel({ name: "kiro", version: "9.9", to: "stable", by: "a" }, deps),
      /Cannot promote kiro 9\.9: it is not recorded/,
    );
  });
});

Deno.test("every publish appends one history entry per channel: what entered and left, and who started it", async () => {
  await withTestStack(async (stack) => {
    await record(stack, "1.0", ["stable"]);
    await publish(stack, "deno task rebuild by alice@host");
    const second = await record(stack, "1.1", ["stable", "beta"]);
    await stack.store.setStatus({ ...second, version: "1.0" }, {
      status: "withdrawn",
      at: "2026-12-01T00:00:00Z",
      by: "bob",
      reason: "broken",
    });
    const result = await publish(stack, "scheduled run (request r-2)");
    assert.deepEqual(result.channels.map((c) => [c.channel, c.generation]), [
      ["stable", 2],
      ["beta", 2],
    ]);
    const history = new PublishHistory(stack.clients.dynamo, stack.outputs.tableName);
    const stable = await history.entries("stable");
    assert.deepEqual(
      stable.map((entry) => [entry.generation, entry.started_by, entry.added, entry.removed]),
      [
        [1, "deno task rebuild by alice@host", ["kiro 1.0 amd64"], []],
        [2, "scheduled run (request r-2)", ["kiro 1.1 amd64"], ["kiro 1.0 amd64"]],
      ],
    );
    const release = await objectStoreFor(stack.outputs, stack.clients).head(
      "dists/stable/Release",
    );
    assert.equal(stable[1]!.release_sha256, release?.sha256);
    const beta = await history.entries("beta");
    assert.deepEqual(beta.map((entry) => [entry.added, entry.removed]), [
      [[], []],
      [["kiro 1.1 amd64"], []],
    ]);
    assert.deepEqual((await stack.store.listAll()).map(identityLabel), [
      "kiro 1.0 amd64",
      "kiro 1.1 amd64",
    ], "history entries are not package records");
  });
});

Deno.test("rollback makes a channel list an earlier generation again, audited, other channels untouched", async () => {
  await withTestStack(async (stack) => {
    await record(stack, "1.0", ["stable"]);
    await publish(stack, "one");
    await record(stack, "1.1", ["stable", "beta"]);
    await publish(stack, "two");
    let published = 0;
    const deps = {
      store: stack.store,
      history: new PublishHistory(stack.clients.dynamo, stack.outputs.tableName),
      objects: objectStoreFor(stack.outputs, stack.clients),
      channels: CHANNELS,
      converge: async () => {
        published++;
        await publish(stack, "rollback");
        return true;
      },
      now: () => new Date("2026-12-02T00:00:00Z"),
    };
    const dry = await rollbackChannel(
      { channel: "stable", generation: 1, by: "c", dryRun: true },
      deps,
    );
    assert.deepEqual(dry.removed.map(identityLabel), ["kiro 1.1 amd64"]);
    assert.equal(published, 0);

    const done = await rollbackChannel({ channel: "stable", generation: 1, by: "carol" }, deps);
    assert.deepEqual(done.added, []);
    assert.deepEqual(done.removed.map(identityLabel), ["kiro 1.1 amd64"]);
    assert.equal(published, 1);
    assert.doesNotMatch(await packages(stack, "stable"), /Version: 1\.1\n/);
    assert.match(await packages(stack, "beta"), /Version: 1\.1\n/, "beta keeps 1.1");
    const rolled = await stack.store.get({
      package_name: "kiro",
      version: "1.1",
      architecture: "amd64",
    });
    assert.deepEqual(rolled?.channels, ["beta"]);
    assert.equal(rolled?.channel_history?.[0]?.reason, "rollback to generation 1");
    assert.equal(rolled?.channel_history?.[0]?.by, "carol");

    // Back to generation 2: 1.1 returns to stable.
    const forward = await rollbackChannel({ channel: "stable", generation: 2, by: "carol" }, deps);
    assert.deepEqual(forward.added.map(identityLabel), ["kiro 1.1 amd64"]);
    assert.match(await packages(stack, "stable"), /Version: 1\.1\n/);
  });
});

Deno.test("rollback refuses an unknown generation, a withdrawn identity and a missing pool object, changing nothing", async () => {
  await withTestStack(async (stack) => {
    const first = await record(stack, "1.0", ["stable"]);
    await publish(stack, "one");
    await record(stack, "1.1", ["stable"]);
    await publish(stack, "two");
    const deps = {
      store: stack.store,
      history: new PublishHistory(stack.clients.dynamo, stack.outputs.tableName),
      objects: objectStoreFor(stack.outputs, stack.clients),
      channels: CHANNELS,
      converge: () => Promise.resolve(false),
    };
    await assert.rejects(
      rollbackChannel({ channel: "stable", generation: 7, by: "c" }, deps),
      /its history holds generations 1 to 2; see them with deno task history --channel stable/,
    );
    await stack.store.setStatus(first, { status: "withdrawn", at: "x", by: "b", reason: "r" });
    await assert.rejects(
      rollbackChannel({ channel: "stable", generation: 1, by: "c" }, deps),
      (error: Error) =>
        error instanceof RollbackError &&
        /kiro 1\.0 \(amd64\) was withdrawn since \(reinstate it first\); nothing was changed/
          .test(error.message),
    );
    await stack.store.setStatus(first, { status: "published" });
    await objectStoreFor(stack.outputs, stack.clients).delete(first.pool_key);
    await assert.rejects(
      rollbackChannel({ channel: "stable", generation: 1, by: "c" }, deps),
      /pool object pool\/main\/k\/kiro\/kiro_1\.0_amd64\.deb is gone/,
    );
    const latest = await stack.store.get({
      package_name: "kiro",
      version: "1.1",
      architecture: "amd64",
    });
    assert.deepEqual(latest?.channels, ["stable"], "nothing changed");
  });
});

Deno.test("keep_versions retains old versions out; prune-pool deletes their files only after the window, and add-deb brings one back", async () => {
  await withTestStack(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const debs: Uint8Array[] = [];
    for (const version of ["1.0", "1.1", "1.2"]) {
      const bytes = await makeTestDeb({ name: "kiro", version, architecture: "amd64" });
      debs.push(bytes);
      await addDeb({
        name: `kiro_${version}_amd64.deb`,
        url: `file:///kiro_${version}_amd64.deb`,
        open: () => new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(),
      }, { objects, records: stack.store, now: () => new Date("2026-12-01T00:00:00Z") });
    }
    await publish(stack, "keep two", 2);
    const text = await packages(stack, "stable");
    assert.doesNotMatch(text, /Version: 1\.0\n/);
    assert.match(text, /Version: 1\.1\n/);
    assert.match(text, /Version: 1\.2\n/);
    const oldKey = "pool/main/k/kiro/kiro_1.0_amd64.deb";
    assert.ok(await objects.head(oldKey), "the retained-out file stays until pruned");

    const deps = {
      store: stack.store,
      history: new PublishHistory(stack.clients.dynamo, stack.outputs.tableName),
      objects,
      policy: { channels: CHANNELS, keepVersions: new Map([["kiro", 2]]) },
    };
    const soon = await prunePool(deps, { now: new Date(Date.now() + DAY), dryRun: true });
    assert.deepEqual(soon.pruned, []);
    assert.deepEqual(soon.waiting.map((item) => [identityLabel(item.record), item.reason]), [
      ["kiro 1.0 amd64", "retained out"],
    ]);
    await assert.rejects(
      prunePool(deps, { windowMs: DAY }),
      (error: Error) =>
        error instanceof PruneWindowError &&
        /clients may use an index for 9 days/.test(error.message),
    );

    const later = new Date(Date.now() + 10 * DAY);
    const dry = await prunePool(deps, { now: later, dryRun: true });
    assert.deepEqual(dry.pruned.map((item) => item.record.pool_key), [oldKey]);
    assert.equal(dry.bytes, debs[0]!.byteLength);
    assert.ok(await objects.head(oldKey), "a dry run deletes nothing");

    const done = await prunePool(deps, { now: later });
    assert.deepEqual(done.pruned.map((item) => item.record.pool_key), [oldKey]);
    assert.equal(await objects.head(oldKey), undefined);
    const pruned = await stack.store.get({
      package_name: "kiro",
      version: "1.0",
      architecture: "amd64",
    });
    assert.equal(pruned?.pruned_at, later.toISOString());
    assert.deepEqual(
      (await prunePool(deps, { now: later })).pruned,
      [],
      "pruning twice deletes nothing more",
    );

    // The same .deb again: its file is back, the record loses pruned_at.
    const back = await addDeb({
      name: "kiro_1.0_amd64.deb",
      url: "file:///kiro_1.0_amd64.deb",
      open: () => new Blob([debs[0]! as Uint8Array<ArrayBuffer>]).stream(),
    }, { objects, records: stack.store });
    assert.equal(back.restored, true);
    assert.equal(back.outcome, "unchanged");
    assert.equal((await objects.head(oldKey))?.size, debs[0]!.byteLength);
    const restored = await stack.store.get({
      package_name: "kiro",
      version: "1.0",
      architecture: "amd64",
    });
    assert.equal(restored?.pruned_at, undefined);
  });
});

Deno.test("prune-pool never deletes a file a live index still lists", async () => {
  await withTestStack(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const old = await record(stack, "1.0", ["stable"]);
    await record(stack, "1.1", ["stable"]);
    await publish(stack, "all versions");
    // The table says 1.0 is withdrawn, but nothing published since: the live index lists it.
    await stack.store.setStatus(old, {
      status: "withdrawn",
      at: "2026-01-01T00:00:00Z",
      by: "b",
      reason: "r",
    });
    const result = await prunePool({
      store: stack.store,
      history: new PublishHistory(stack.clients.dynamo, stack.outputs.tableName),
      objects,
      policy: { channels: CHANNELS },
    }, { now: new Date(Date.now() + 30 * DAY) });
    assert.deepEqual(result.pruned, []);
    assert.equal(result.waiting[0]?.why, "a live Packages file still lists it");
    assert.ok(await objects.head(old.pool_key));
  });
});

Deno.test("promotion between environments copies the exact bytes, records them, and refuses kiro-repo and other bytes", async () => {
  const dev = await startTestStack();
  const prod = await startTestStack();
  try {
    const beta = await record(dev, "2.0", ["beta"]);
    const side = (stack: TestStack, environment: string) => ({
      environment,
      bucketName: stack.outputs.bucketName,
      objects: objectStoreFor(stack.outputs, stack.clients),
    });
    let published = 0;
    const deps = {
      source: { ...side(dev, "dev"), store: dev.store },
      target: { ...side(prod, "prod"), store: prod.store, channels: CHANNELS },
      converge: async () => {
        published++;
        await publish(prod, "promote from dev");
        return true;
      },
    };
    const result = await promoteAcrossEnvironments(
      { name: "kiro", version: "2.0", by: "alice" },
      deps,
    );
    assert.deepEqual(result.items.map((item) => [item.outcome, item.copied]), [
      ["created", "streamed"],
    ]);
    assert.equal(published, 1);
    const promoted = await prod.store.get(beta);
    assert.equal(promoted?.sha256_hash, beta.sha256_hash);
    assert.deepEqual(promoted?.channels, ["beta"], "the channels it had in dev");
    assert.equal(promoted?.deb_url, `s3://${dev.outputs.bucketName}/${beta.pool_key}`);
    const copy = await objectStoreFor(prod.outputs, prod.clients).get(beta.pool_key);
    const original = await objectStoreFor(dev.outputs, dev.clients).get(beta.pool_key);
    assert.deepEqual(copy, original);
    assert.match(await packages(prod, "beta"), /Version: 2\.0\n/);

    // Again: nothing copied; --to stable adds the channel.
    const again = await promoteAcrossEnvironments(
      { name: "kiro", version: "2.0", by: "alice", to: "stable" },
      deps,
    );
    assert.deepEqual(again.items.map((item) => [item.outcome, item.copied, item.channelsAdded]), [
      ["unchanged", undefined, ["stable"]],
    ]);

    await assert.rejects(
      promoteAcrossEnvironments({ name: "kiro-repo", version: "1.0", by: "a" }, deps),
      /Cannot promote kiro-repo from dev to prod: its bytes name dev's repository URL; build it for the target with deno task build-kiro-repo --env prod/,
    );

    // Other bytes under the identity in prod: refused, nothing written.
    const [other] = await seedPool(objectStoreFor(prod.outputs, prod.clients), [
      syntheticRecord({
        name: "kiro",
        version: "3.0",
        architecture: "amd64",
        bytes: new Uint8Array([1, 2, 3]),
      }),
    ]);
    await prod.store.put(other!);
    await record(dev, "3.0", ["stable"]);
    await assert.rejects(
      promoteAcrossEnvironments({ name: "kiro", version: "3.0", by: "a" }, deps),
      (error: Error) => error instanceof RecordConflictError,
    );
    assert.equal((await prod.store.get(other!))?.sha256_hash, other!.sha256_hash);
  } finally {
    await dev.close();
    await prod.close();
  }
});

Deno.test("concurrent membership changes of one record never lose one another", async () => {
  await withTestStack(async (stack) => {
    const kiro = await record(stack, "1.0", []);
    const channels = ["stable", "beta", "nightly", "edge", "canary"];
    await Promise.all(channels.map((channel) =>
      stack.store.changeChannel(kiro, {
        channel,
        action: "added",
        at: "2026-12-01T00:00:00Z",
        by: "racer",
        reason: "race",
      })
    ));
    const now = await stack.store.get(kiro);
    assert.deepEqual(now?.channels, [...channels].sort());
    assert.equal(now?.channel_history?.length, channels.length);
  });
});

Deno.test("promotion between environments refuses an architecture the target does not publish", async () => {
  const dev = await startTestStack();
  const prod = await startTestStack();
  try {
    const objects = objectStoreFor(dev.outputs, dev.clients);
    const [arm] = await seedPool(objects, [
      syntheticRecord({ name: "kiro-cli", version: "1.0", architecture: "arm64" }),
    ]);
    await dev.store.put(arm!);
    await assert.rejects(
      promoteAcrossEnvironments({ name: "kiro-cli", version: "1.0", by: "a" }, {
        source: { environment: "dev", bucketName: "b", objects, store: dev.store },
        target: {
          environment: "prod",
          bucketName: "p",
          objects: objectStoreFor(prod.outputs, prod.clients),
          store: prod.store,
          channels: CHANNELS,
          architectures: ["amd64", "all"],
        },
        converge: () => Promise.resolve(false),
      }),
      /Cannot promote kiro-cli 1\.0 \(arm64\) to prod: it publishes amd64, all; add the architecture to its architectures setting first/,
    );
    assert.deepEqual(await prod.store.listAll(), []);
  } finally {
    await dev.close();
    await prod.close();
  }
});

Deno.test("prune-pool waits a whole window after the history began: an index from before it may still list an old version", async () => {
  await withTestStack(async (stack) => {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const [old] = await seedPool(objects, [
      syntheticRecord({ name: "kiro", version: "1.0", architecture: "amd64" }),
    ]);
    await stack.store.put({
      ...old!,
      channels: ["stable"],
      processed_timestamp: "2025-01-01T00:00:00.000Z",
    });
    await record(stack, "1.1", ["stable"]);
    await record(stack, "1.2", ["stable"]);
    // A publish from before the history existed lists every version …
    const { history: _none, ...withoutHistory } = rebuildDependencies(
      stack.outputs,
      stack.clients,
      {
        keys: await testSigningKeys(),
      },
    );
    await forceRebuild({ ...withoutHistory, policy: { channels: CHANNELS } });
    // … then keep_versions 2 takes 1.0 out, in the first recorded generation.
    await publish(stack, "keep two", 2);
    const deps = {
      store: stack.store,
      history: new PublishHistory(stack.clients.dynamo, stack.outputs.tableName),
      objects,
      policy: { channels: CHANNELS, keepVersions: new Map([["kiro", 2]]) },
    };
    const soon = await prunePool(deps, { now: new Date(Date.now() + DAY) });
    assert.deepEqual(soon.pruned, [], "a client may still hold the pre-history index");
    assert.ok(await objects.head(old!.pool_key));
    const later = await prunePool(deps, { now: new Date(Date.now() + 10 * DAY) });
    assert.deepEqual(later.pruned.map((item) => item.record.version), ["1.0"]);
  });
});
