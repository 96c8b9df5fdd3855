/**
 * Who is running a task, for the audit fields a task writes
 * (`withdrawn_by`): the AWS caller identity (its ARN) on dev and prod, the
 * user name and host locally.
 *
 * @module
 */

import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { hostname, userInfo } from "node:os";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { EnvironmentError } from "./env.ts";

/** The local user, as `user@host`. */
export function localOperator(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = Deno.env.get("USER") ?? Deno.env.get("USERNAME") ?? "unknown";
  }
  return `${user}@${hostname()}`;
}

/**
 * The operator of `outputs`' environment: the caller identity's ARN from STS
 * (dev/prod), or {@linkcode localOperator} (local). `send` replaces STS in tests.
 *
 * @throws {EnvironmentError} when STS cannot say who the caller is (no credentials).
 */
export async function operatorIdentity(
  outputs: StackOutputs,
  options: { send?: (command: GetCallerIdentityCommand) => Promise<{ Arn?: string }> } = {},
): Promise<string> {
  if (outputs.endpoints !== undefined) return localOperator();
  let client: STSClient | undefined;
  const send = options.send ?? ((command: GetCallerIdentityCommand) => {
    client ??= new STSClient({ region: outputs.region });
    return client.send(command);
  });
  try {
    const { Arn } = await send(new GetCallerIdentityCommand({}));
    if (Arn === undefined || Arn === "") throw new Error("STS returned no ARN");
    return Arn;
  } catch (error) {
    if (error instanceof EnvironmentError) throw error;
    throw new EnvironmentError(
      "credentials",
      `Cannot tell who you are in ${outputs.environment} (sts get-caller-identity: ${
        error instanceof Error ? error.message : String(error)
      }): configure AWS credentials for the account (aws configure, SSO or environment variables)`,
    );
  } finally {
    client?.destroy();
  }
}
