/**
 * Channels: what each channel's index lists (membership, status, pruning,
 * `keep_versions`), and the publish history's replay.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  channelIndex,
  channelNameProblem,
  channelsOf,
  identityLabel,
} from "../../lambda/domain/channels.ts";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { compareVersions } from "../../lambda/domain/version.ts";
import { type HistoryEntry, replayHistory } from "../../lambda/store/history.ts";
import { syntheticRecord } from "../support/publish_fixtures.ts";

function record(
  name: string,
  version: string,
  architecture: string,
  extra: Partial<PackageRecord> = {},
): PackageRecord {
  return { ...syntheticRecord({ name, version, architecture }).record, ...extra };
}

Deno.test("a record without channels is in stable, and only there", () => {
  const legacy: PackageRecord = record("kiro", "1.0", "amd64");
  delete legacy.channels;
  assert.deepEqual(channelsOf(legacy), ["stable"]);
  assert.deepEqual(channelIndex([legacy], "stable").listed, [legacy]);
  assert.deepEqual(channelIndex([legacy], "beta").listed, []);
});

Deno.test("a channel lists its published members that were not pruned", () => {
  const stable = record("kiro", "1.0", "amd64", { channels: ["stable"] });
  const beta = record("kiro", "1.1", "amd64", { channels: ["beta"] });
  const both = record("kiro", "0.9", "amd64", { channels: ["beta", "stable"] });
  const withdrawn = record("kiro", "0.8", "amd64", { channels: ["stable"], status: "withdrawn" });
  const pruned = record("kiro", "0.7", "amd64", {
    channels: ["stable"],
    pruned_at: "2026-01-01T00:00:00.000Z",
  });
  const nowhere = record("kiro", "0.6", "amd64", { channels: [] });
  const records = [stable, beta, both, withdrawn, pruned, nowhere];
  assert.deepEqual(channelIndex(records, "stable").listed, [stable, both]);
  assert.deepEqual(channelIndex(records, "beta").listed, [beta, both]);
});

Deno.test("keep_versions keeps the newest versions per package and architecture, the rest retained out", () => {
  const records = ["1.0", "1.10", "1.9", "1.2"].flatMap((version) => [
    record("kiro", version, "amd64"),
    record("kiro", version, "arm64"),
  ]);
  const other = record("kiro-cli", "0.1", "amd64");
  const selection = channelIndex([...records, other], "stable", {
    keepVersions: new Map([["kiro", 2]]),
  });
  assert.deepEqual(
    selection.listed.map(identityLabel).sort(),
    [
      "kiro 1.10 amd64",
      "kiro 1.10 arm64",
      "kiro 1.9 amd64",
      "kiro 1.9 arm64",
      "kiro-cli 0.1 amd64",
    ],
  );
  assert.deepEqual(
    selection.retainedOut.map(identityLabel).sort(),
    ["kiro 1.0 amd64", "kiro 1.0 arm64", "kiro 1.2 amd64", "kiro 1.2 arm64"],
  );
});

Deno.test("channel names are what an APT suite and an S3 folder can hold", () => {
  for (const good of ["stable", "beta", "nightly-2", "1.0", "a"]) {
    assert.equal(channelNameProblem(good), undefined, good);
  }
  for (const bad of ["", "Stable", "-beta", "a/b", "has space", "x".repeat(65)]) {
    assert.match(channelNameProblem(bad) ?? "", /is not a channel name/, bad);
  }
});

const versionArb = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 12 }))
  .map(([major, minor]) => `${major}.${minor}`);
const recordArb = fc.record({
  name: fc.constantFrom("kiro", "kiro-cli"),
  version: versionArb,
  architecture: fc.constantFrom("amd64", "arm64", "all"),
  channels: fc.subarray(["stable", "beta"]),
  withdrawn: fc.boolean(),
  pruned: fc.boolean(),
});

Deno.test("for any records and any keep_versions, a channel's index and what it retains out partition its published, unpruned members, keeping the newest", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(recordArb, {
        selector: (r) => `${r.name} ${r.version} ${r.architecture}`,
        maxLength: 30,
      }),
      fc.constantFrom("stable", "beta"),
      fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      (specs, channel, keep) => {
        const records = specs.map((spec) =>
          record(spec.name, spec.version, spec.architecture, {
            channels: spec.channels,
            ...(spec.withdrawn ? { status: "withdrawn" as const } : {}),
            ...(spec.pruned ? { pruned_at: "2026-01-01T00:00:00.000Z" } : {}),
          })
        );
        const keepVersions = keep === undefined ? undefined : new Map([["kiro", keep]]);
        const { listed, retainedOut } = channelIndex(
          records,
          channel,
          keepVersions === undefined ? {} : { keepVersions },
        );
        const members = records.filter((r) =>
          r.status !== "withdrawn" && r.pruned_at === undefined && channelsOf(r).includes(channel)
        );
        assert.deepEqual(
          [...listed, ...retainedOut].map(identityLabel).sort(),
          members.map(identityLabel).sort(),
        );
        for (const out of retainedOut) {
          assert.equal(out.package_name, "kiro");
          const kept = listed.filter((r) =>
            r.package_name === out.package_name && r.architecture === out.architecture
          );
          assert.equal(kept.length, keep);
          for (const newer of kept) assert.ok(compareVersions(newer.version, out.version) > 0);
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("replaying a channel's history up to a generation gives what that publish listed", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uniqueArray(fc.constantFrom("a 1 all", "b 1 amd64", "b 2 amd64", "c 1 arm64")), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.nat(),
      (sets, pick) => {
        // What each publish listed → the entries a PublishHistory writes for them.
        const entries: HistoryEntry[] = [];
        let before = new Set<string>();
        for (const [index, listed] of sets.entries()) {
          const now = new Set<string>(listed);
          entries.push({
            channel: "stable",
            generation: index + 1,
            published_at: new Date(Date.UTC(2026, 0, 1 + index)).toISOString(),
            started_by: "test",
            release_sha256: "0".repeat(64),
            added: [...now].filter((label) => !before.has(label)).sort(),
            removed: [...before].filter((label) => !now.has(label)).sort(),
          });
          before = now;
        }
        const generation = (pick % sets.length) + 1;
        const shuffled = [...entries].reverse();
        assert.deepEqual(
          [...replayHistory(shuffled, generation)].sort(),
          [...new Set(sets[generation - 1])].sort(),
        );
      },
    ),
    { numRuns: 200 },
  );
});
