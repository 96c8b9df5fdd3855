/**
 * Channels end to end, with the real `apt-get` (`--error-on=any`): clients of
 * `stable` and `beta`, promotion between channels and between environments,
 * retention and pool pruning, the publish history and rollback. The tasks run
 * in this process through their `main(args)` against test stacks.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { PublishHistory } from "../../lambda/store/history.ts";
import type { HistoryEntry } from "../../lambda/store/history.ts";
import { main as addDebTask } from "../../tasks/add_deb.ts";
import { prunePool } from "../../tasks/channels/prune.ts";
import { main as historyTask } from "../../tasks/history.ts";
import { main as promoteTask } from "../../tasks/promote.ts";
import { main as pruneTask } from "../../tasks/prune_pool.ts";
import { main as rollbackTask } from "../../tasks/rollback.ts";
import { KEYRING_NAME } from "../../lambda/publish/index_html.ts";
import { describeRun, openApt } from "../support/apt.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import {
  listed,
  listJson,
  needsApt,
  sha256Hex,
  shown,
  withRepository,
} from "../support/e2e_repository.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { captured } from "../support/task_output.ts";

const DAY = 86_400_000;

/** Every key under `pool/` with its last modification. */
async function poolObjects(repo: { stack: TestStack }): Promise<string[]> {
  const found: string[] = [];
  for await (const object of objectStoreFor(repo.stack.outputs, repo.stack.clients).list("pool/")) {
    found.push(`${object.key} ${object.lastModified.toISOString()}`);
  }
  return found.sort();
}

Deno.test({
  name:
    "clients of stable and beta see different versions of kiro, and promoting the beta one to stable reaches the stable client with no upload",
  ignore: needsApt(),
  async fn() {
    await withRepository(async (repo) => {
      const old = await repo.deb("kiro", "1.0", "amd64");
      const next = await repo.deb("kiro", "1.1", "amd64");
      assert.equal((await repo.task(addDebTask, [old.path, "--env", "local"])).code, 0);
      const toBeta = await repo.task(addDebTask, [
        next.path,
        "--channel",
        "beta",
        "--env",
        "local",
      ]);
      assert.equal(toBeta.code, 0, shown(toBeta));
      assert.match(
        toBeta.stderr,
        /uploaded to pool\/main\/k\/kiro\/kiro_1\.1_amd64\.deb and recorded in beta/,
      );

      const stable = await repo.apt();
      const beta = await repo.apt({ suite: "beta" });
      assert.deepEqual(listed(stable.update, "amd64"), ["kiro=1.0/amd64"]);
      assert.deepEqual(listed(beta.update, "amd64"), ["kiro=1.1/amd64"]);

      const poolBefore = await poolObjects(repo);
      const promoted = await repo.task(promoteTask, [
        "kiro",
        "1.1",
        "--to",
        "stable",
        "--env",
        "local",
      ]);
      assert.equal(promoted.code, 0, shown(promoted));
      assert.match(promoted.stderr, /Promoted to stable in local: kiro 1\.1 \(amd64\)/);
      assert.deepEqual(await poolObjects(repo), poolBefore, "no pool object was written");

      const after = await repo.apt();
      assert.deepEqual(listed(after.update, "amd64"), ["kiro=1.0/amd64", "kiro=1.1/amd64"]);
      const download = await after.session.download(["kiro=1.1"]);
      assert.ok(download.success, describeRun(download));
      assert.equal(download.files[0]?.sha256, next.sha256);
      const latest = (await listJson(repo, ["kiro"])).find((r) => r.version === "1.1");
      assert.deepEqual(latest?.channels, ["beta", "stable"]);
    });
  },
});

Deno.test({
  name:
    "keep_versions 2 leaves two versions in the index and the older ones downloadable until prune-pool removes them after its window",
  ignore: needsApt(),
  async fn() {
    const configs = await Deno.makeTempDir({ prefix: "kiro-channels-configs-" });
    const previous = Deno.env.get("KIRO_PACKAGE_CONFIG_DIR");
    try {
      for await (const entry of Deno.readDir("config/packages")) {
        if (!entry.name.endsWith(".yaml")) continue;
        let text = await Deno.readTextFile(join("config/packages", entry.name));
        if (entry.name === "kiro.yaml") text += "keep_versions: 2\n";
        await Deno.writeTextFile(join(configs, entry.name), text);
      }
      Deno.env.set("KIRO_PACKAGE_CONFIG_DIR", configs);
      await withRepository(async (repo) => {
        const debs = [];
        for (const version of ["1.0", "1.1", "1.2"]) {
          debs.push(await repo.deb("kiro", version, "amd64"));
        }
        const added = await repo.task(addDebTask, [...debs.map((d) => d.path), "--env", "local"]);
        assert.equal(added.code, 0, shown(added));

        const { update } = await repo.apt();
        assert.deepEqual(listed(update, "amd64"), ["kiro=1.1/amd64", "kiro=1.2/amd64"]);
        const oldUrl = `${repo.stack.outputs.repoUrl}/pool/main/k/kiro/kiro_1.0_amd64.deb`;
        const stillThere = await fetch(oldUrl);
        assert.equal(
          stillThere.status,
          200,
          "a client holding an older index can still download it",
        );
        assert.equal(sha256Hex(new Uint8Array(await stillThere.arrayBuffer())), debs[0]!.sha256);
        const retained = (await listJson(repo, ["kiro", "--all"])).find((r) => r.version === "1.0");
        assert.deepEqual(retained?.retained_out, ["stable"]);
        assert.deepEqual(retained?.indexed_in, []);

        // Today: inside the window, nothing goes.
        const dry = await repo.task(pruneTask, ["local", "--dry-run", "--json"]);
        assert.equal(dry.code, 0, shown(dry));
        assert.deepEqual(JSON.parse(dry.stdout).pruned, []);
        assert.match(
          dry.stderr,
          /Keeping pool\/main\/k\/kiro\/kiro_1\.0_amd64\.deb \(kiro 1\.0 \(amd64\), retained out\) until /,
        );
        const now = await repo.task(pruneTask, ["local"]);
        assert.equal(now.code, 0, shown(now));
        assert.equal((await fetch(oldUrl)).status, 200);
        const short = await repo.task(pruneTask, ["local", "--window-days", "1"]);
        assert.equal(short.code, 1, shown(short));
        assert.match(
          short.stderr,
          /Cannot prune with a window of 1 day: clients may use an index for 9 days/,
        );

        // Ten days on (the engine with a later clock): the dry run lists it, then it goes.
        const deps = {
          store: repo.stack.store,
          history: new PublishHistory(repo.stack.clients.dynamo, repo.stack.outputs.tableName),
          objects: repo.objects,
          policy: { channels: ["stable", "beta"], keepVersions: new Map([["kiro", 2]]) },
        };
        const later = new Date(Date.now() + 10 * DAY);
        const plan = await prunePool(deps, { now: later, dryRun: true });
        assert.deepEqual(plan.pruned.map((item) => item.record.version), ["1.0"]);
        assert.equal(plan.bytes, debs[0]!.bytes.byteLength);
        assert.equal((await fetch(oldUrl)).status, 200);
        await prunePool(deps, { now: later });
        const gone = await fetch(oldUrl);
        await gone.body?.cancel();
        assert.equal(gone.status, 404);
        const afterPrune = await repo.apt();
        assert.deepEqual(listed(afterPrune.update, "amd64"), ["kiro=1.1/amd64", "kiro=1.2/amd64"]);
        const pruned = (await listJson(repo, ["kiro", "--all"])).find((r) => r.version === "1.0");
        assert.equal(pruned?.pruned_at, later.toISOString());
      });
    } finally {
      if (previous === undefined) Deno.env.delete("KIRO_PACKAGE_CONFIG_DIR");
      else Deno.env.set("KIRO_PACKAGE_CONFIG_DIR", previous);
      await Deno.remove(configs, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "history --json lists the test's publishes, and rollback restores an earlier set that apt sees",
  ignore: needsApt(),
  async fn() {
    await withRepository(async (repo) => {
      const first = await repo.deb("kiro", "1.0", "amd64");
      const second = await repo.deb("kiro", "1.1", "amd64");
      assert.equal((await repo.task(addDebTask, [first.path, "--env", "local"])).code, 0);
      assert.equal((await repo.task(addDebTask, [second.path, "--env", "local"])).code, 0);

      const history = await repo.task(historyTask, ["local", "--channel", "stable", "--json"]);
      assert.equal(history.code, 0, shown(history));
      const entries = JSON.parse(history.stdout) as HistoryEntry[];
      assert.deepEqual(entries.map((e) => [e.generation, e.channel, e.added, e.removed]), [
        [1, "stable", ["kiro 1.0 amd64"], []],
        [2, "stable", ["kiro 1.1 amd64"], []],
      ]);
      for (const entry of entries) {
        assert.match(entry.started_by, /^deno task rebuild by /);
        assert.match(entry.published_at, /^\d{4}-\d\d-\d\dT/);
        assert.match(entry.release_sha256, /^[0-9a-f]{64}$/);
      }

      const dry = await repo.task(rollbackTask, ["--to", "1", "--env", "local", "--dry-run"]);
      assert.equal(dry.code, 0, shown(dry));
      assert.match(
        dry.stderr,
        /Would roll back local stable to generation 1: add nothing; remove kiro 1\.1 \(amd64\)/,
      );
      assert.deepEqual(listed((await repo.apt()).update, "amd64"), [
        "kiro=1.0/amd64",
        "kiro=1.1/amd64",
      ]);

      const rolled = await repo.task(rollbackTask, ["--to", "1", "--env", "local"]);
      assert.equal(rolled.code, 0, shown(rolled));
      const { session, update } = await repo.apt();
      assert.deepEqual(listed(update, "amd64"), ["kiro=1.0/amd64"]);
      const download = await session.download(["kiro=1.0"]);
      assert.ok(download.success, describeRun(download));

      const after = JSON.parse(
        (await repo.task(historyTask, ["local", "--channel", "stable", "--json"])).stdout,
      ) as HistoryEntry[];
      const last = after[after.length - 1]!;
      assert.deepEqual([last.generation, last.added, last.removed], [3, [], ["kiro 1.1 amd64"]]);
      assert.match(last.started_by, /^deno task rollback by /);
      const text = await repo.task(historyTask, ["local"]);
      assert.match(
        text.stdout,
        /^stable #3 .* by deno task rollback by .*\n {2}- kiro 1\.1 amd64$/m,
      );

      const refused = await repo.task(rollbackTask, ["--to", "9", "--env", "local"]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /its history holds generations 1 to 3/);
    });
  },
});

Deno.test({
  name:
    "promotion from dev to prod moves the exact bytes that apt then installs from prod, and refuses kiro-repo and a conflicting prod record",
  ignore: needsApt(),
  async fn() {
    const dev = await startTestStack();
    const prod = await startTestStack();
    const dir = await Deno.makeTempDir({ prefix: "kiro-promote-" });
    const saved = Deno.env.get("KIRO_OUTPUTS_FILE");
    const sessions = [];
    try {
      const file = join(dir, "outputs.json");
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          dev: { ...dev.outputs, environment: "dev" },
          prod: { ...prod.outputs, environment: "prod" },
        }),
      );
      Deno.env.set("KIRO_OUTPUTS_FILE", file);
      const deb = async (name: string, version: string, payloadSize: number) => {
        const path = join(dir, `${name}_${version}_${payloadSize}.deb`);
        const bytes = await makeTestDeb({ name, version, architecture: "amd64", payloadSize });
        await Deno.writeFile(path, bytes);
        return { path, sha256: sha256Hex(bytes) };
      };
      const run = (main: (args: string[]) => Promise<number>, args: string[]) =>
        captured(() => main(args));

      const kiro = await deb("kiro", "2.0", 2048);
      const added = await run(addDebTask, [kiro.path, "--env", "dev"]);
      assert.equal(added.code, 0, shown(added));
      const promoted = await run(promoteTask, [
        "kiro",
        "2.0",
        "--from-env",
        "dev",
        "--env",
        "prod",
      ]);
      assert.equal(promoted.code, 0, shown(promoted));
      assert.match(
        promoted.stderr,
        /Copied pool\/main\/k\/kiro\/kiro_2\.0_amd64\.deb to prod \(streamed\)/,
      );
      assert.match(promoted.stderr, /Promoted from dev to prod: kiro 2\.0 \(amd64\)/);

      const keyring = await objectStoreFor(prod.outputs, prod.clients).get(KEYRING_NAME);
      assert.ok(keyring);
      const apt = await openApt({
        repoUrl: prod.outputs.repoUrl,
        keyring,
        architectures: ["amd64"],
      });
      sessions.push(apt);
      const update = await apt.update();
      assert.ok(update.success, describeRun(update));
      const download = await apt.download(["kiro=2.0"]);
      assert.ok(download.success, describeRun(download));
      assert.equal(download.files[0]?.sha256, kiro.sha256, "prod serves dev's exact bytes");

      const repoPackage = await deb("kiro-repo", "1.0", 16);
      assert.equal((await run(addDebTask, [repoPackage.path, "--env", "dev"])).code, 0);
      const refusedRepo = await run(promoteTask, [
        "kiro-repo",
        "1.0",
        "--from-env",
        "dev",
        "--env",
        "prod",
      ]);
      assert.equal(refusedRepo.code, 1, shown(refusedRepo));
      assert.match(
        refusedRepo.stderr,
        /build it for the target with deno task build-kiro-repo --env prod/,
      );

      const devBuild = await deb("kiro", "3.0", 100);
      const prodBuild = await deb("kiro", "3.0", 200);
      assert.equal((await run(addDebTask, [devBuild.path, "--env", "dev"])).code, 0);
      assert.equal((await run(addDebTask, [prodBuild.path, "--env", "prod"])).code, 0);
      const conflict = await run(promoteTask, [
        "kiro",
        "3.0",
        "--from-env",
        "dev",
        "--env",
        "prod",
      ]);
      assert.equal(conflict.code, 1, shown(conflict));
      assert.match(conflict.stderr, /kiro 3\.0 \(amd64\) is already recorded with other content/);
      const kept = await prod.store.get({
        package_name: "kiro",
        version: "3.0",
        architecture: "amd64",
      });
      assert.equal(kept?.sha256_hash, prodBuild.sha256, "prod keeps its own bytes");
    } finally {
      if (saved === undefined) Deno.env.delete("KIRO_OUTPUTS_FILE");
      else Deno.env.set("KIRO_OUTPUTS_FILE", saved);
      for (const session of sessions) await session.close();
      await Deno.remove(dir, { recursive: true });
      await dev.close();
      await prod.close();
    }
  },
});
