/**
 * The local stand-ins (dynalite and s3rver, `tests/support/stack.ts`) in a
 * process of their own, for the rebuild benchmark: DynamoDB and S3 are not
 * in the Lambda's process, and stand-ins inside the measuring process would
 * share its JavaScript thread with a Deno rebuild (their work counted as the
 * rebuild's) and its heap with everything measured before.
 *
 * Run as a script, it starts a test stack, prints its outputs as one JSON
 * line, and stops when its standard input closes (also when the bench that
 * started it dies). {@linkcode startStandInsProcess} starts it and connects.
 *
 * @module
 */

import { type AwsClients, awsClients } from "../../lambda/aws/clients.ts";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { PackageStore } from "../../lambda/store/package_store.ts";
import { startTestStack } from "../support/stack.ts";
import { processCpuMs } from "./process_usage.ts";

/** The stand-ins' process, connected. */
export interface StandInsProcess {
  /** The stack's outputs (environment `local`, endpoints on free ports). */
  readonly outputs: StackOutputs;
  /** AWS clients for it, made in this process. */
  readonly clients: AwsClients;
  /** The package store over its table. */
  readonly store: PackageStore;
  /** CPU time the stand-ins' process has used so far (user + system), ms. */
  cpuMs(): number;
  /** Destroys the clients and stops the process (its state is removed). */
  close(): Promise<void>;
}

/** Starts the stand-ins in a Deno process of their own (see the module docs). */
export async function startStandInsProcess(): Promise<StandInsProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let outputs: StackOutputs;
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("The stand-ins' process ended before it printed its outputs");
      text += value;
    }
    outputs = JSON.parse(text.slice(0, text.indexOf("\n"))) as StackOutputs;
  } catch (error) {
    // Not up: stop it rather than leave it running.
    try {
      child.kill("SIGTERM");
    } catch (killError) {
      if (!(killError instanceof TypeError)) throw killError; // it had already ended
    }
    await child.status;
    throw error;
  }
  const clients = awsClients(outputs);
  const stdin = child.stdin.getWriter();
  return {
    outputs,
    clients,
    store: new PackageStore(clients.dynamo, outputs.tableName),
    cpuMs: () => processCpuMs(child.pid),
    async close() {
      clients.destroy();
      await stdin.close();
      await lines.cancel();
      await child.status;
    },
  };
}

if (import.meta.main) {
  const stack = await startTestStack();
  console.log(JSON.stringify(stack.outputs));
  for await (const _ of Deno.stdin.readable) {
    // Nothing is read: the stand-ins stop when the bench closes this stream.
  }
  await stack.close();
}
