/**
 * `deno task outputs [ENV]`: prints an environment's stack outputs as JSON.
 *
 * For `local` it prints the running `deno task dev` stack's outputs, or, when
 * none runs, the outputs the local stack has on its stable ports (without
 * starting it).
 *
 * @module
 */

import { environmentName, readStackOutputs, taskFailureCode } from "./lib/env.ts";
import { ENV_OPTION, parseCommandLine } from "./lib/cli.ts";
import {
  localPorts,
  localStackOutputs,
  localStateDir,
  runningLocalStack,
} from "./lib/local_stack.ts";
import type { StackOutputs } from "../lambda/environment/outputs.ts";

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "outputs",
    summary: "Print an environment's stack outputs (resource names, URLs) as JSON",
    description: "dev and prod read `pulumi stack output` (or $KIRO_OUTPUTS_FILE); local prints\n" +
      "the outputs of the running `deno task dev`, or those it will have on its ports.",
    options: { env: ENV_OPTION },
    examples: ["deno task outputs prod", "deno task outputs --env local"],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  try {
    const name = environmentName({ env: cli.values.env });
    let outputs: StackOutputs;
    if (name === "local") {
      const dir = localStateDir();
      const running = await runningLocalStack(dir);
      if (running === undefined) {
        console.error("The local stack is not running (start it with: deno task dev)");
      }
      outputs = running ?? localStackOutputs({ dir, ports: localPorts() });
    } else {
      outputs = await readStackOutputs(name);
    }
    console.log(JSON.stringify(outputs, null, 2));
    return 0;
  } catch (error) {
    return taskFailureCode(error, "outputs");
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
