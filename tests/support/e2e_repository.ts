/**
 * An end-to-end harness: a test stack recorded as the running local stack of
 * its temp folder (`KIRO_LOCAL_DIR`), so the tasks' `--env local` finds it
 * exactly as it finds a running `deno task dev`; a folder of `.deb` files;
 * the tasks run in this process through their `main(args)`; and isolated
 * real `apt-get` clients (`--error-on=any`) of the repository's channels.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { addDeb, type AddDebResult } from "../../tasks/lifecycle/add_deb.ts";
import { KEYRING_NAME } from "../../lambda/publish/index_html.ts";
import type { S3ObjectStore } from "../../lambda/aws/object_store.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { writeStackRecord } from "../../tasks/lib/local_stack.ts";
import type { ListedIdentity } from "../../tasks/lifecycle/listing.ts";
import { main as listTask } from "../../tasks/list.ts";
import { type AptSession, type AptUpdateResult, describeRun, openApt } from "./apt.ts";
import { makeTestDeb } from "./deb_fixtures.ts";
import { startTestStack, type TestStack } from "./stack.ts";
import { missingTools } from "./tools.ts";
import { captured, type TaskMain, type TaskRun } from "./task_output.ts";

// ---------------------------------------------------------------------------
// The harness: one stack, its bucket, a folder of .debs, the tasks, apt.

/** A `.deb` written to disk for the tasks. */
export interface DebFile {
  path: string;
  bytes: Uint8Array;
  sha256: string;
  name: string;
  version: string;
  architecture: string;
}

/** A running local environment the tasks find as `--env local`. */
export interface Repository {
  stack: TestStack;
  objects: S3ObjectStore;
  /** Builds a `.deb` (a small payload, so the two builds of one version differ in bytes too). */
  deb(name: string, version: string, architecture: string): Promise<DebFile>;
  /** Runs a task's `main(args)` in this process, capturing what it prints. */
  task(main: TaskMain, args: string[]): Promise<TaskRun>;
  /** `addDeb` (add-deb's engine) alone: records the file, publishes nothing. */
  record(deb: DebFile): Promise<AddDebResult>;
  /**
   * A fresh isolated apt (amd64 + arm64) of one channel (default `stable`)
   * that has just run `apt-get update --error-on=any`.
   */
  apt(options?: { suite?: string }): Promise<{ session: AptSession; update: AptUpdateResult }>;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function shown(run: TaskRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

export const needsApt = () => missingTools(["apt-get"], { root: true });

/** Runs `fn` with a repository (see {@linkcode Repository}); stops and removes everything after. */
export async function withRepository(fn: (repo: Repository) => Promise<void>): Promise<void> {
  const stack = await startTestStack();
  const debs = await Deno.makeTempDir({ prefix: "kiro-lifecycle-debs-" });
  const previousDir = Deno.env.get("KIRO_LOCAL_DIR");
  const sessions: AptSession[] = [];
  try {
    // What `deno task dev` does: the tasks' `--env local` now uses this stack.
    await writeStackRecord({ outputs: stack.outputs, dir: stack.dir, close: () => stack.close() });
    Deno.env.set("KIRO_LOCAL_DIR", stack.dir);
    const objects = objectStoreFor(stack.outputs, stack.clients);
    await fn({
      stack,
      objects,
      async deb(name, version, architecture) {
        const bytes = await makeTestDeb({
          name,
          version,
          architecture,
          payloadSize: 4096,
          extraControl: { Description: `${name} ${version} built for ${architecture}\n A test.` },
        });
        const path = join(debs, `${name}_${version}_${architecture}.deb`);
        await Deno.writeFile(path, bytes);
        return { path, bytes, sha256: sha256Hex(bytes), name, version, architecture };
      },
      task: (main, args) => captured(() => main(args)),
      record(deb) {
        return addDeb({
          name: deb.path,
          url: `file://${deb.path}`,
          open: async () => (await Deno.open(deb.path)).readable,
        }, { objects, records: stack.store });
      },
      async apt(options = {}) {
        const keyring = await objects.get(KEYRING_NAME);
        assert.ok(keyring, `the repository has no ${KEYRING_NAME}: it was never published`);
        const session = await openApt({
          repoUrl: stack.outputs.repoUrl,
          keyring,
          architectures: ["amd64", "arm64"],
          ...(options.suite === undefined ? {} : { suite: options.suite }),
        });
        sessions.push(session);
        const update = await session.update();
        assert.ok(update.success, `apt-get update --error-on=any failed: ${describeRun(update)}`);
        return { session, update };
      },
    });
  } finally {
    if (previousDir === undefined) Deno.env.delete("KIRO_LOCAL_DIR");
    else Deno.env.set("KIRO_LOCAL_DIR", previousDir);
    for (const session of sessions) await session.close();
    await Deno.remove(debs, { recursive: true });
    await stack.close();
  }
}

/** `name=version` of every stanza apt stored for `architecture`, sorted. */
export function listed(update: AptUpdateResult, architecture: string): string[] {
  return update.lists
    .filter((list) => list.architecture === architecture)
    .flatMap((list) => list.text.split(/\n\n+/))
    .map((stanza) => {
      const name = /^Package: (.+)$/m.exec(stanza)?.[1];
      const version = /^Version: (.+)$/m.exec(stanza)?.[1];
      const arch = /^Architecture: (.+)$/m.exec(stanza)?.[1];
      return name === undefined ? undefined : `${name}=${version}/${arch}`;
    })
    .filter((entry) => entry !== undefined)
    .sort();
}

/** `deno task list … --json`, parsed. */
export async function listJson(repo: Repository, args: string[]): Promise<ListedIdentity[]> {
  const run = await repo.task(listTask, [...args, "--env", "local", "--json"]);
  assert.equal(run.code, 0, shown(run));
  return JSON.parse(run.stdout) as ListedIdentity[];
}
