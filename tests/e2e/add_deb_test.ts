/**
 * add-deb with Debian's own packages (an epoch, a lib* package, Architecture:
 * all, xz control members): uploaded, recorded, published, and then fetched
 * by the real apt-get, which checks every size and hash against the indexes.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { addDeb } from "../../tasks/lifecycle/add_deb.ts";
import { RecordConflictError } from "../../lambda/store/package_store.ts";
import { KEYRING_NAME } from "../../lambda/publish/index_html.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import { describeRun, openApt } from "../support/apt.ts";
import { debianPackagesMissing, fetchDebianPackages } from "../support/debian_packages.ts";
import { testSigningKeys } from "../support/publish_fixtures.ts";
import { startTestStack } from "../support/stack.ts";
import { missingTools } from "../support/tools.ts";

Deno.test({
  name: "Debian's own packages added with add-deb install-check with the real apt",
  ignore: debianPackagesMissing || missingTools(["apt-get"], { root: true }),
  async fn() {
    const debian = await fetchDebianPackages();
    const stack = await startTestStack();
    try {
      const objects = objectStoreFor(stack.outputs, stack.clients);
      const source = (path: string) => ({
        name: basename(path),
        url: `file://${path}`,
        open: async () => (await Deno.open(path)).readable,
      });
      const added = [];
      for (const path of debian.downloaded) {
        added.push(await addDeb(source(path), { objects, records: stack.store }));
      }
      assert.ok(added.every((a) => a.outcome === "created"));
      // The same package rebuilt with another compression: same version, other bytes.
      await assert.rejects(
        () => addDeb(source(debian.zstdControl), { objects, records: stack.store }),
        (error: unknown) => error instanceof RecordConflictError && /immutable/.test(error.message),
      );
      await forceRebuild(
        rebuildDependencies(stack.outputs, stack.clients, { keys: await testSigningKeys() }),
      );

      const apt = await openApt({
        repoUrl: stack.outputs.repoUrl,
        keyring: (await objects.get(KEYRING_NAME))!,
        architectures: ["amd64", "arm64"],
      });
      try {
        const update = await apt.update();
        assert.ok(update.success, describeRun(update));
        const specs = added.map(({ record }) =>
          `${record.package_name}:${
            record.architecture === "all" ? "amd64" : record.architecture
          }=${record.version}`
        );
        const download = await apt.download(specs);
        assert.ok(download.success, describeRun(download));
        assert.equal(download.files.length, debian.downloaded.length);
        for (const path of debian.downloaded) {
          const sha256 = createHash("sha256").update(await Deno.readFile(path)).digest("hex");
          assert.ok(
            download.files.some((file) => file.sha256 === sha256),
            `apt did not fetch ${basename(path)} unchanged`,
          );
        }
      } finally {
        await apt.close();
      }
    } finally {
      await stack.close();
    }
  },
});
