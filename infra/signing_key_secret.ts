/**
 * The Secrets Manager secret that holds the repository's signing key(s).
 *
 * The program creates the secret only: its value is set by
 * `deno task keygen --env ENV` with the operator's credentials, so that the
 * private key is never in Pulumi's state, in the program, or in git.
 *
 * @module
 */

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type DeployEnvironment, resourceName } from "./naming.ts";

/** Arguments of {@linkcode SigningKeySecret}. */
export interface SigningKeySecretArgs {
  environment: DeployEnvironment;
  kmsKeyArn: pulumi.Input<string>;
  /** Pulumi `protect` and a 30-day recovery window (prod). */
  protect: boolean;
}

/** The signing-key secret (no value: see the module comment). */
export class SigningKeySecret extends pulumi.ComponentResource {
  /** The secret's name: what the Lambda and the tasks pass as `SecretId`. */
  readonly secretName: pulumi.Output<string>;
  readonly secretArn: pulumi.Output<string>;

  constructor(name: string, args: SigningKeySecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:SigningKeySecret", name, {}, opts);
    const secret = new aws.secretsmanager.Secret("signing-key", {
      name: resourceName("signing-key", args.environment),
      description:
        "Armored OpenPGP private key(s) that sign the Kiro APT repository's Release files. " +
        `Set with: deno task keygen --env ${args.environment}`,
      kmsKeyId: args.kmsKeyArn,
      recoveryWindowInDays: args.protect ? 30 : 7,
    }, { parent: this, protect: args.protect });
    this.secretName = secret.name;
    this.secretArn = secret.arn;
    this.registerOutputs({ secretName: this.secretName, secretArn: this.secretArn });
  }
}
