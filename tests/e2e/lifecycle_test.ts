/**
 * The life of a package identity (name, version, architecture), end to end:
 * recorded by `deno task add-deb` or the scheduled sync, refused when dpkg
 * would see it as one version with other bytes, withdrawn and reinstated by
 * the operator's tasks, and what the real `apt-get` (`--error-on=any`, its own
 * configuration, amd64 + arm64) sees after each step.
 *
 * The tasks run in this process through their `main(args)`, against a test
 * stack recorded as the running local stack of its temp folder
 * (`KIRO_LOCAL_DIR`), exactly as `--env local` finds a running `deno task dev`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describeIdentity, type PackageRecord } from "../../lambda/domain/package_record.ts";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import { FileNotifier } from "../../lambda/notify/notifier.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { rebuildDependencies } from "../../lambda/dependencies.ts";
import { parsePackageConfigs } from "../../lambda/sources/config.ts";
import { runScheduledSync, type SyncSummary } from "../../lambda/sources/sync.ts";
import { IdentityConflictError, RecordConflictError } from "../../lambda/store/package_store.ts";
import { main as addDebTask } from "../../tasks/add_deb.ts";
import { main as reinstateTask } from "../../tasks/reinstate.ts";
import { main as withdrawTask } from "../../tasks/withdraw.ts";
import { describeRun } from "../support/apt.ts";
import { makeTestDeb } from "../support/deb_fixtures.ts";
import { FeedServer, kiroFeed, makeSigningIdentity } from "../support/feed_server.ts";
import { missingTools } from "../support/tools.ts";
import {
  listed,
  listJson,
  needsApt,
  sha256Hex,
  shown,
  withRepository,
} from "../support/e2e_repository.ts";

// ---------------------------------------------------------------------------
// 1. Architectures side by side.

Deno.test({
  name:
    "amd64 and arm64 builds of one version are published side by side and apt downloads each for its architecture",
  ignore: needsApt(),
  async fn() {
    await withRepository(async (repo) => {
      const amd64 = await repo.deb("kiro-cli", "1.2.0", "amd64");
      const arm64 = await repo.deb("kiro-cli", "1.2.0", "arm64");
      assert.notEqual(amd64.sha256, arm64.sha256);

      const added = await repo.task(addDebTask, [amd64.path, arm64.path, "--env", "local"]);
      assert.equal(added.code, 0, shown(added));

      const records = await repo.stack.store.versionRecords({
        package_name: "kiro-cli",
        version: "1.2.0",
      });
      assert.deepEqual(
        records.map((record) => [record.architecture, record.sha256_hash, record.status]),
        [["amd64", amd64.sha256, "published"], ["arm64", arm64.sha256, "published"]],
      );

      const { session, update } = await repo.apt();
      assert.deepEqual(listed(update, "amd64"), ["kiro-cli=1.2.0/amd64"]);
      assert.deepEqual(listed(update, "arm64"), ["kiro-cli=1.2.0/arm64"]);
      const download = await session.download(["kiro-cli:amd64=1.2.0", "kiro-cli:arm64=1.2.0"]);
      assert.ok(download.success, describeRun(download));
      assert.deepEqual(download.files.map((file) => [file.name, file.sha256]), [
        ["kiro-cli_1.2.0_amd64.deb", amd64.sha256],
        ["kiro-cli_1.2.0_arm64.deb", arm64.sha256],
      ]);
    });
  },
});

// ---------------------------------------------------------------------------
// 2. One version, whatever its spelling.

Deno.test({
  name: "every spelling dpkg holds equal is refused, naming the identity it collides with",
  ignore: needsApt(),
  async fn() {
    await withRepository(async (repo) => {
      const original = await repo.deb("kiro", "1.0", "amd64");
      const added = await repo.task(addDebTask, [original.path, "--env", "local"]);
      assert.equal(added.code, 0, shown(added));

      for (const spelling of ["1.0-0", "1.00", "0:1.0"]) {
        const other = await repo.deb("kiro", spelling, "amd64");
        assert.notEqual(other.sha256, original.sha256);
        await assert.rejects(
          () => repo.record(other),
          (error: unknown) => {
            assert.ok(error instanceof RecordConflictError, `${spelling}: ${error}`);
            assert.match(error.message, /kiro 1\.0 \(amd64\) is already recorded/);
            assert.ok(
              error.message.includes(`dpkg holds ${spelling} and 1.0 equal`),
              error.message,
            );
            return true;
          },
          `kiro ${spelling} (amd64) was recorded beside kiro 1.0 (amd64)`,
        );
        // Nothing of the refused file reached the pool.
        assert.equal(
          await repo.objects.head(
            poolKey({ name: "kiro", version: spelling, architecture: "amd64" }),
          ),
          undefined,
          `kiro ${spelling} reached the pool`,
        );
      }

      // The operator's task says the same and fails.
      const viaTask = await repo.task(addDebTask, [
        (await repo.deb("kiro", "1.00", "amd64")).path,
        "--env",
        "local",
      ]);
      assert.equal(viaTask.code, 1, shown(viaTask));
      assert.match(viaTask.stderr, /kiro 1\.0 \(amd64\) is already recorded/);

      // On another architecture the version must be spelled as recorded.
      await assert.rejects(
        async () => await repo.record(await repo.deb("kiro", "0:1.0", "arm64")),
        (error: unknown) => {
          assert.ok(error instanceof IdentityConflictError, String(error));
          assert.match(error.message, /already recorded as 1\.0 \(kiro 1\.0 \(amd64\)\)/);
          return true;
        },
      );

      const all = await repo.stack.store.listAll();
      assert.deepEqual(
        all.map((record) => [describeIdentity(record), record.sha256_hash]),
        [["kiro 1.0 (amd64)", original.sha256]],
      );

      const { session, update } = await repo.apt();
      assert.deepEqual(listed(update, "amd64"), ["kiro=1.0/amd64"]);
      assert.deepEqual(listed(update, "arm64"), []);
      const download = await session.download(["kiro=1.0"]);
      assert.ok(download.success, describeRun(download));
      assert.deepEqual(download.files.map((file) => file.sha256), [original.sha256]);
    });
  },
});

// ---------------------------------------------------------------------------
// 3. `Architecture: all` or architecture-specific, never both.

Deno.test({
  name: "an Architecture: all build beside architecture-specific builds of one version is refused",
  ignore: needsApt(),
  async fn() {
    await withRepository(async (repo) => {
      // kiro-tools 2.0: amd64 and arm64 first, then an `all` build.
      const toolsAmd64 = await repo.deb("kiro-tools", "2.0", "amd64");
      const toolsArm64 = await repo.deb("kiro-tools", "2.0", "arm64");
      // kiro-docs 3.0: `all` first, then an amd64 build.
      const docsAll = await repo.deb("kiro-docs", "3.0", "all");
      const first = await repo.task(addDebTask, [
        toolsAmd64.path,
        toolsArm64.path,
        docsAll.path,
        "--env",
        "local",
      ]);
      assert.equal(first.code, 0, shown(first));

      const toolsAll = await repo.deb("kiro-tools", "2.0", "all");
      await assert.rejects(
        () => repo.record(toolsAll),
        (error: unknown) => {
          assert.ok(error instanceof IdentityConflictError, String(error));
          assert.match(error.message, /^Cannot record kiro-tools 2\.0 \(all\): /);
          assert.match(error.message, /kiro-tools 2\.0 \(amd64\), kiro-tools 2\.0 \(arm64\)/);
          return true;
        },
      );
      const docsAmd64 = await repo.deb("kiro-docs", "3.0", "amd64");
      await assert.rejects(
        () => repo.record(docsAmd64),
        (error: unknown) => {
          assert.ok(error instanceof IdentityConflictError, String(error));
          assert.match(error.message, /^Cannot record kiro-docs 3\.0 \(amd64\): /);
          assert.match(error.message, /kiro-docs 3\.0 \(all\) already exists/);
          return true;
        },
      );
      // Through the task too: both refused, exit 1, nothing published beside them.
      const again = await repo.task(addDebTask, [
        toolsAll.path,
        docsAmd64.path,
        "--env",
        "local",
      ]);
      assert.equal(again.code, 1, shown(again));
      assert.match(again.stderr, /2 of 2 file\(s\) failed/);

      for (const refused of [toolsAll, docsAmd64]) {
        const key = poolKey(refused);
        assert.equal(await repo.objects.head(key), undefined, `${key} reached the pool`);
      }
      assert.deepEqual(
        (await repo.stack.store.listAll()).map(describeIdentity).sort(),
        ["kiro-docs 3.0 (all)", "kiro-tools 2.0 (amd64)", "kiro-tools 2.0 (arm64)"],
      );

      const { session, update } = await repo.apt();
      assert.deepEqual(listed(update, "amd64"), ["kiro-docs=3.0/all", "kiro-tools=2.0/amd64"]);
      assert.deepEqual(listed(update, "arm64"), ["kiro-docs=3.0/all", "kiro-tools=2.0/arm64"]);
      const download = await session.download([
        "kiro-tools:amd64=2.0",
        "kiro-tools:arm64=2.0",
        // apt files an `all` package under the native architecture.
        "kiro-docs=3.0",
      ]);
      assert.ok(download.success, describeRun(download));
      assert.deepEqual(download.files.map((file) => [file.name, file.sha256]), [
        ["kiro-docs_3.0_all.deb", docsAll.sha256],
        ["kiro-tools_2.0_amd64.deb", toolsAmd64.sha256],
        ["kiro-tools_2.0_arm64.deb", toolsArm64.sha256],
      ]);
    });
  },
});

// ---------------------------------------------------------------------------
// 4. Withdraw and reinstate.

Deno.test({
  name: "withdraw hides a version from apt; reinstate brings it back",
  ignore: needsApt(),
  async fn() {
    await withRepository(async (repo) => {
      const v1 = await repo.deb("kiro", "1.0", "amd64");
      const v2 = await repo.deb("kiro", "2.0", "amd64");
      const added = await repo.task(addDebTask, [v1.path, v2.path, "--env", "local"]);
      assert.equal(added.code, 0, shown(added));
      {
        const { update } = await repo.apt();
        assert.deepEqual(listed(update, "amd64"), ["kiro=1.0/amd64", "kiro=2.0/amd64"]);
      }

      const withdrawn = await repo.task(withdrawTask, [
        "kiro",
        "2.0",
        "--reason",
        "crashes on start",
        "--env",
        "local",
      ]);
      assert.equal(withdrawn.code, 0, shown(withdrawn));
      assert.match(withdrawn.stderr, /One identity withdrawn in local: kiro 2\.0 \(amd64\)/);

      const record = await repo.stack.store.get({
        package_name: "kiro",
        version: "2.0",
        architecture: "amd64",
      });
      assert.ok(record, "the withdrawn record is still in the table");
      {
        const { session, update } = await repo.apt();
        assert.deepEqual(listed(update, "amd64"), ["kiro=1.0/amd64"]);
        const hidden = await session.download(["kiro=2.0"]);
        assert.equal(hidden.success, false, describeRun(hidden));
        assert.match(hidden.stderr, /Version '2\.0' for 'kiro' was not found/);
        assert.deepEqual(hidden.files, []);
        const older = await session.download(["kiro=1.0"]);
        assert.ok(older.success, describeRun(older));
        assert.deepEqual(older.files.map((file) => file.sha256), [v1.sha256]);
      }
      // The file stays in the pool, whole: a client holding an older index still gets it.
      const head = await repo.objects.head(record.pool_key);
      assert.equal(head?.size, v2.bytes.length);
      const served = await fetch(`${repo.stack.outputs.repoUrl}/${record.pool_key}`);
      assert.equal(served.status, 200);
      assert.equal(sha256Hex(new Uint8Array(await served.arrayBuffer())), v2.sha256);

      // `list` hides it unless asked for --all, and then says who, when and why.
      assert.deepEqual(
        (await listJson(repo, ["kiro"])).map((identity) => identity.version),
        ["1.0"],
      );
      const everything = await listJson(repo, ["kiro", "--all"]);
      assert.deepEqual(
        everything.map((identity) => [identity.version, identity.status]),
        [["1.0", "published"], ["2.0", "withdrawn"]],
      );
      const listedV2 = everything[1]!;
      assert.equal(listedV2.withdraw_reason, "crashes on start");
      assert.ok((listedV2.withdrawn_by ?? "").trim() !== "", "withdrawn_by is empty");
      assert.ok(!Number.isNaN(Date.parse(listedV2.withdrawn_at ?? "")), "withdrawn_at is no date");
      assert.equal(listedV2.sha256_hash, v2.sha256);

      const reinstated = await repo.task(reinstateTask, ["kiro", "2.0", "--env", "local"]);
      assert.equal(reinstated.code, 0, shown(reinstated));
      {
        const { session, update } = await repo.apt();
        assert.deepEqual(listed(update, "amd64"), ["kiro=1.0/amd64", "kiro=2.0/amd64"]);
        const back = await session.download(["kiro=2.0"]);
        assert.ok(back.success, describeRun(back));
        assert.deepEqual(back.files.map((file) => [file.name, file.sha256]), [
          ["kiro_2.0_amd64.deb", v2.sha256],
        ]);
      }
      const after = await listJson(repo, ["kiro"]);
      assert.deepEqual(after.map((identity) => [identity.version, identity.status]), [
        ["1.0", "published"],
        ["2.0", "published"],
      ]);
      assert.equal(after[1]!.withdrawn_by, undefined);
      assert.equal(after[1]!.withdraw_reason, undefined);
    });
  },
});

// ---------------------------------------------------------------------------
// 5. The scheduled sync and a withdrawn version.

Deno.test({
  name: "a withdrawn version offered again by the feed is not ingested",
  ignore: missingTools(["openssl", "apt-get"], { root: true }),
  async fn() {
    const server = FeedServer.start();
    const ec = await makeSigningIdentity({ type: "ec" });
    try {
      await withRepository(async (repo) => {
        const deb = await makeTestDeb({
          name: "kiro",
          version: "1.0.338",
          architecture: "amd64",
          payloadSize: 4096,
        });
        const release = await server.addRelease({ version: "1.0.338", deb, identity: ec });
        server.setFeed(kiroFeed([release]));
        const kiro = parse(await Deno.readTextFile("config/packages/kiro.yaml")) as {
          source: Record<string, unknown>;
        };
        kiro.source.feed_url = server.feedUrl;
        kiro.source.certificate_sha256 = ec.fingerprint256;
        const { stack } = repo;
        const sync = (): Promise<SyncSummary> =>
          runScheduledSync({
            configs: parsePackageConfigs([{
              path: "config/packages/kiro.yaml",
              text: stringify(kiro),
            }]),
            objects: repo.objects,
            records: stack.store,
            publish: () => forceRebuild(rebuildDependencies(stack.outputs, stack.clients)),
            notifier: new FileNotifier(join(stack.dir, "notifications.jsonl")),
            environment: "local",
          });
        const identity = { package_name: "kiro", version: "1.0.338", architecture: "amd64" };

        const first = await sync();
        assert.deepEqual(first.new_packages.map((p) => p.version), ["1.0.338"]);
        assert.equal(server.count(".deb"), 1);

        const withdrawn = await repo.task(withdrawTask, [
          "kiro",
          "1.0.338",
          "--reason",
          "corrupt download",
          "--env",
          "local",
        ]);
        assert.equal(withdrawn.code, 0, shown(withdrawn));

        const second = await sync();
        assert.deepEqual(second.new_packages, [], JSON.stringify(second));
        assert.deepEqual(second.failures, []);
        const skipped = second.skipped.find((entry) => entry.package_name === "kiro");
        assert.equal(skipped?.version, "1.0.338", JSON.stringify(second.skipped));
        assert.match(skipped.reason, /withdrawn .*corrupt download.*not ingested again/);
        assert.equal(server.count(".deb"), 1, "the withdrawn version was downloaded again");
        assert.equal(second.published, false, JSON.stringify(second.publish_reasons));

        const record = await stack.store.get(identity) as PackageRecord;
        assert.equal(record.status, "withdrawn");
        assert.equal(record.withdraw_reason, "corrupt download");
        assert.equal(record.sha256_hash, sha256Hex(deb));

        const { session, update } = await repo.apt();
        assert.deepEqual(listed(update, "amd64"), []);
        const hidden = await session.download(["kiro=1.0.338"]);
        assert.equal(hidden.success, false, describeRun(hidden));
      });
    } finally {
      await server.close();
      await ec.remove();
    }
  },
});

// ---------------------------------------------------------------------------
// 6. An add-deb killed between its record and its publish.

Deno.test({
  name: "an add-deb interrupted after its record is finished by running it again",
  ignore: needsApt(),
  async fn() {
    await withRepository(async (repo) => {
      const published = await repo.deb("kiro-cli", "1.0", "amd64");
      const first = await repo.task(addDebTask, [published.path, "--env", "local"]);
      assert.equal(first.code, 0, shown(first));

      // The interrupted run: add-deb's engine uploaded and recorded the file
      // (what the task does before it publishes), and then the process died.
      const interrupted = await repo.deb("kiro-cli", "1.1", "amd64");
      const recorded = await repo.record(interrupted);
      assert.equal(recorded.outcome, "created");
      {
        const { update } = await repo.apt();
        assert.deepEqual(listed(update, "amd64"), ["kiro-cli=1.0/amd64"], "not published yet");
      }

      const rerun = await repo.task(addDebTask, [interrupted.path, "--env", "local"]);
      assert.equal(rerun.code, 0, shown(rerun));
      assert.match(rerun.stderr, /already recorded with the same bytes/);

      const { session, update } = await repo.apt();
      assert.deepEqual(listed(update, "amd64"), ["kiro-cli=1.0/amd64", "kiro-cli=1.1/amd64"]);
      const download = await session.download(["kiro-cli=1.1"]);
      assert.ok(download.success, describeRun(download));
      assert.deepEqual(download.files.map((file) => [file.name, file.sha256]), [
        ["kiro-cli_1.1_amd64.deb", interrupted.sha256],
      ]);

      // And a third run has nothing left to do.
      const third = await repo.task(addDebTask, [interrupted.path, "--env", "local"]);
      assert.equal(third.code, 0, shown(third));
      assert.match(third.stderr, /already lists every recorded package: nothing to publish/);
    });
  },
});
