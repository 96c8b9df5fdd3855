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

import { readFileSync } from "node:fs";
import { type AwsClients, awsClients } from "../../lambda/aws/clients.ts";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { PackageStore } from "../../lambda/store/package_store.ts";
import { startTestStack } from "../support/stack.ts";

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

/** Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, every thread) of process `pid` so far, in ms,
 * from `/proc/PID/stat` (Linux).
 *
 * @param pid The process, or `self`.
 */
export function processCpuMs(pid: number | "self"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The fields after the command name (which is in parentheses and may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`Cannot read the CPU time in /proc/${pid}/stat`);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
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
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      throw new Error("The stand-ins' process ended before it printed its outputs");
    }
    text += value;
  }
  const outputs = JSON.parse(text.slice(0, text.indexOf("\n"))) as StackOutputs;
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
