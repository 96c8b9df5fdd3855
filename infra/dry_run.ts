/**
 * A dry run of the Pulumi program: no Pulumi CLI, no AWS. The program runs
 * against `pulumi.runtime.setMocks` with mocks that record every registered
 * resource and give each the identifiers AWS would (ARNs, IDs, domain names),
 * with a stack's config read from its `Pulumi.{stack}.yaml` the way the CLI
 * passes it (`PULUMI_CONFIG`).
 *
 * Used by `deno task preflight` (under the Node that Pulumi will use) and by
 * the infra tests (under Deno), so it uses `node:` APIs only. Never imported
 * by the program itself.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

/** The AWS account the mocks pretend to deploy to. */
export const MOCK_ACCOUNT_ID = "123456789012";

/** A resource the program registered, with the state the mocks gave it. */
export interface RecordedResource {
  /** Pulumi type token, e.g. `aws:dynamodb/table:Table`. */
  type: string;
  /** Pulumi logical name. */
  name: string;
  /** Whether it is a cloud resource (false for components). */
  custom: boolean;
  /** The resolved inputs the program passed. */
  inputs: Record<string, unknown>;
  id: string;
  /** Inputs plus what AWS would compute (`arn`, …). */
  state: Record<string, unknown>;
}

/** The result of {@linkcode runProgramWithMocks}. */
export interface MockedStack {
  resources: RecordedResource[];
  /** The stack outputs, resolved. */
  outputs: Record<string, unknown>;
  /** The URNs of every registered resource (they encode the parent chain). */
  urns: string[];
  /** The invokes (data sources) the program called. */
  invokes: string[];
}

function shortHash(text: string): string {
  let hash = 2166136261;
  for (const char of text) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/**
 * Mocks that record resources and compute realistic identifiers for the AWS
 * resources this program uses (unknown types get a generic ARN).
 */
export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  readonly invokes: string[] = [];
  readonly region: string;
  readonly accountId: string;

  constructor(options: { region: string; accountId?: string }) {
    this.region = options.region;
    this.accountId = options.accountId ?? MOCK_ACCOUNT_ID;
  }

  newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    const { id, computed } = this.#computed(args.type, args.name, inputs);
    const state = { ...inputs, ...computed };
    this.resources.push({
      type: args.type,
      name: args.name,
      custom: args.custom ?? false,
      inputs,
      id,
      state,
    });
    return { id, state };
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    this.invokes.push(args.token);
    switch (args.token) {
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return {
          accountId: this.accountId,
          arn: `arn:aws:iam::${this.accountId}:user/operator`,
          userId: "AIDAMOCKOPERATOR",
          id: this.accountId,
        };
      case "aws:index/getPartition:getPartition":
        return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
      case "aws:index/getRegion:getRegion":
        return { name: this.region, region: this.region, id: this.region };
      default:
        throw new Error(
          `The Pulumi mocks do not know the invoke ${args.token}: add it to tests/support/pulumi_mocks.ts`,
        );
    }
  }

  #computed(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
  ): { id: string; computed: Record<string, unknown> } {
    const { region, accountId } = this;
    const named = (key: string) => (typeof inputs[key] === "string" ? inputs[key] as string : name);
    const hash = shortHash(`${type}/${name}/${named("name")}`);
    switch (type) {
      case "aws:kms/key:Key": {
        const keyId = `${hash}-0000-4000-8000-${hash}0000`;
        return {
          id: keyId,
          computed: { keyId, arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}` },
        };
      }
      case "aws:kms/alias:Alias":
        return {
          id: named("name"),
          computed: { arn: `arn:aws:kms:${region}:${accountId}:${named("name")}` },
        };
      case "aws:dynamodb/table:Table":
        return {
          id: named("name"),
          computed: { arn: `arn:aws:dynamodb:${region}:${accountId}:table/${named("name")}` },
        };
      case "aws:s3/bucket:Bucket": {
        const bucket = named("bucket");
        return {
          id: bucket,
          computed: {
            bucket,
            arn: `arn:aws:s3:::${bucket}`,
            bucketDomainName: `${bucket}.s3.amazonaws.com`,
            bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`,
            region,
          },
        };
      }
      case "aws:secretsmanager/secret:Secret": {
        const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${named("name")}-${
          hash.slice(0, 6)
        }`;
        return { id: arn, computed: { arn } };
      }
      case "aws:sns/topic:Topic": {
        const arn = `arn:aws:sns:${region}:${accountId}:${named("name")}`;
        return { id: arn, computed: { arn } };
      }
      case "aws:sns/topicSubscription:TopicSubscription": {
        const arn = `${String(inputs.topic)}:${hash}`;
        return { id: arn, computed: { arn } };
      }
      case "aws:sqs/queue:Queue": {
        const url = `https://sqs.${region}.amazonaws.com/${accountId}/${named("name")}`;
        return {
          id: url,
          computed: { url, arn: `arn:aws:sqs:${region}:${accountId}:${named("name")}` },
        };
      }
      case "aws:cloudwatch/logGroup:LogGroup":
        return {
          id: named("name"),
          computed: { arn: `arn:aws:logs:${region}:${accountId}:log-group:${named("name")}` },
        };
      case "aws:iam/role:Role":
        return {
          id: named("name"),
          computed: {
            arn: `arn:aws:iam::${accountId}:role/${named("name")}`,
            uniqueId: `AROA${hash}`,
          },
        };
      case "aws:lambda/function:Function": {
        const arn = `arn:aws:lambda:${region}:${accountId}:function:${named("name")}`;
        return {
          id: named("name"),
          computed: {
            arn,
            qualifiedArn: `${arn}:$LATEST`,
            invokeArn:
              `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
            version: "$LATEST",
          },
        };
      }
      case "aws:cloudfront/distribution:Distribution": {
        const id = `E${hash.toUpperCase()}MOCK`;
        return {
          id,
          computed: {
            arn: `arn:aws:cloudfront::${accountId}:distribution/${id}`,
            domainName: `d${hash}.cloudfront.net`,
            hostedZoneId: "Z2FDTNDATAQYW2",
            status: "Deployed",
          },
        };
      }
      case "aws:cloudwatch/eventRule:EventRule":
        return {
          id: named("name"),
          computed: { arn: `arn:aws:events:${region}:${accountId}:rule/${named("name")}` },
        };
      case "aws:cloudwatch/metricAlarm:MetricAlarm":
        return {
          id: named("name"),
          computed: { arn: `arn:aws:cloudwatch:${region}:${accountId}:alarm:${named("name")}` },
        };
      default:
        return {
          id: `${name}-${hash}`,
          computed: {
            arn: `arn:aws:mock:${region}:${accountId}:${
              type.replace(/[^a-zA-Z0-9]/g, "-")
            }/${name}`,
          },
        };
    }
  }
}

/**
 * A stack's config as the Pulumi CLI hands it to the program (the
 * `PULUMI_CONFIG` map): the `config` of a `Pulumi.{stack}.yaml` file, every
 * value a string (objects as JSON), with `overrides` applied (`undefined`
 * removes a key).
 */
export function stackConfigFromFile(
  file: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const document = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(document?.config ?? {})) {
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  return config;
}

/** {@linkcode stackConfigFromFile} for `{root}/Pulumi.{stack}.yaml`. */
export function stackConfig(
  stack: string,
  options: { root: string; overrides?: Record<string, string | undefined> },
): Record<string, string> {
  return stackConfigFromFile(join(options.root, `Pulumi.${stack}.yaml`), options.overrides ?? {});
}

/** Options of {@linkcode runProgramWithMocks} and {@linkcode loadProgramWithMocks}. */
export interface MockedProgramOptions {
  /** The Pulumi project name (`name` in Pulumi.yaml). */
  project: string;
  stack: string;
  /** The stack config, as {@linkcode stackConfig} returns it. */
  config: Record<string, string>;
  /** Imports the program module (its default export is the program). */
  load: () => Promise<{ default: () => unknown }>;
}

/**
 * Installs {@linkcode RecordingMocks} and the stack config (`PULUMI_CONFIG`),
 * then loads the program: the mocks must be in place before the program runs.
 */
export async function loadProgramWithMocks(
  options: MockedProgramOptions,
): Promise<{ mocks: RecordingMocks; program: () => unknown }> {
  const region = options.config["aws:region"] ?? "us-east-1";
  const mocks = new RecordingMocks({ region });
  process.env.PULUMI_CONFIG = JSON.stringify(options.config);
  pulumi.runtime.setAllConfig(options.config);
  await pulumi.runtime.setMocks(mocks, options.project, options.stack, false);
  const module = await options.load();
  return { mocks, program: module.default };
}

/**
 * Runs the program the way Pulumi's Node.js runtime does (inside the root
 * stack resource; the default export's result is the stack outputs) against
 * {@linkcode RecordingMocks}, and waits until every resource is registered.
 */
export async function runProgramWithMocks(options: MockedProgramOptions): Promise<MockedStack> {
  const { mocks, program } = await loadProgramWithMocks(options);
  const outputs = await pulumi.runtime.runInPulumiStack(async () => await program());
  // Resources that no output depends on may still be registering.
  const waitForRpcs =
    (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
  if (waitForRpcs === undefined) {
    throw new Error(
      "@pulumi/pulumi no longer exports runtime.waitForRPCs: update tests/support/pulumi_mocks.ts",
    );
  }
  await waitForRpcs();
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    getRegisteredResources?: () => Map<string, unknown>;
  };
  const urns = [...(monitor.getRegisteredResources?.().keys() ?? [])];
  return {
    resources: mocks.resources,
    outputs: (outputs ?? {}) as Record<string, unknown>,
    urns,
    invokes: mocks.invokes,
  };
}
