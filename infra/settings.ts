/**
 * The per-stack settings of the Pulumi program, validated.
 *
 * `infra/index.ts` reads the raw values from the stack's config
 * (`Pulumi.{stack}.yaml`) and hands them to {@linkcode parseStackSettings};
 * the components receive the typed result and never read config themselves.
 *
 * @module
 */

import { DEFAULT_ARCHITECTURES, parseArchitectures } from "../lambda/domain/architectures.ts";
import { DEPLOY_ENVIRONMENTS, type DeployEnvironment } from "./naming.ts";
import { DEFAULT_CHANNELS } from "../lambda/domain/channels.ts";
import { parseChannelList } from "../lambda/environment/outputs.ts";

/** The Pulumi project name: the namespace of every config key. */
export const PROJECT_NAME = "kiro-debian-repo-manager";

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1,
  3,
  5,
  7,
  14,
  30,
  60,
  90,
  120,
  150,
  180,
  365,
  400,
  545,
  731,
  1096,
  1827,
  2192,
  2557,
  2922,
  3288,
  3653,
];

/** The longest schedule period: the "no successful run" alarm spans two periods, ≤ 1 day. */
export const MAX_SCHEDULE_SECONDS = 12 * 3600;

const PRICE_CLASSES = ["PriceClass_100", "PriceClass_200", "PriceClass_All"] as const;
const LOG_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"] as const;

/** A custom domain for the repository (CloudFront alias), with its certificate. */
export interface CustomDomain {
  /** The host name users put in their sources, e.g. `apt.example.com`. */
  domainName: string;
  /** An ACM certificate in us-east-1 (CloudFront's region) covering `domainName`. */
  certificateArn: string;
  /** When set, the program creates the A/AAAA alias records in this Route 53 zone. */
  hostedZoneId?: string;
}

/** The validated settings of one stack. */
export interface StackSettings {
  environment: DeployEnvironment;
  region: string;
  /** EventBridge schedule expression, `rate(N minutes|hours)`. */
  scheduleRate: string;
  /** The schedule period in seconds (parsed from {@linkcode scheduleRate}). */
  schedulePeriodSeconds: number;
  /** Retention of the Lambda's log group. */
  logRetentionDays: number;
  /** `Valid-Until` of the Release file, in days after `Date`. */
  validUntilDays: number;
  /** The channels (APT suites) the repository publishes, the default one first. */
  channels: string[];
  /** Where alarms and notifications are e-mailed (the subscription must be confirmed). */
  alarmEmail?: string;
  customDomain?: CustomDomain;
  /** The pre-migration table (not managed by this program). */
  legacyTableName: string;
  /** Table deletion protection, and Pulumi `protect` on the stateful resources. */
  deletionProtection: boolean;
  /** Days after which uploads left under `staging/` expire. */
  stagingExpirationDays: number;
  /** Days after which overwritten or deleted object versions expire. */
  noncurrentVersionExpirationDays: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** The architectures the repository publishes (default `amd64`, `arm64`, `all`). */
  architectures: string[];
  priceClass: (typeof PRICE_CLASSES)[number];
  /** The Lambda's entry module, relative to the project root. */
  lambdaEntry: string;
}

/** The raw values read from the stack config. */
export interface RawStackSettings {
  /** The stack name (`pulumi.getStack()`). */
  stack: string;
  /** `aws:region`. */
  region: string | undefined;
  /** `kiro-debian-repo-manager:*` values by key (without the namespace). */
  values: Record<string, string | undefined>;
}

/** The stack config is missing a value or has a bad one. */
export class StackSettingsError extends Error {
  override name = "StackSettingsError";
}

/**
 * Parses an EventBridge `rate(…)` expression into seconds.
 *
 * @example
 * ```ts
 * schedulePeriodSeconds("rate(15 minutes)"); // 900
 * ```
 */
export function schedulePeriodSeconds(rate: string): number | undefined {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(rate);
  if (match === null) return undefined;
  const count = Number(match[1]);
  const unit = match[2] as string;
  if (count < 1 || (count === 1) !== !unit.endsWith("s")) return undefined;
  const seconds = unit.startsWith("minute") ? 60 : unit.startsWith("hour") ? 3600 : 86400;
  return count * seconds;
}

/**
 * Validates the raw stack config into {@linkcode StackSettings}. Errors name
 * the stack's config file and the key, and say what a good value looks like.
 */
export function parseStackSettings(raw: RawStackSettings): StackSettings {
  const file = `Pulumi.${raw.stack}.yaml`;
  const fail = (key: string, what: string): never => {
    throw new StackSettingsError(`Cannot use the stack config in ${file}: ${key} ${what}`);
  };
  const key = (name: string) => `${PROJECT_NAME}:${name}`;
  const optional = (name: string): string | undefined => {
    const value = raw.values[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const required = (name: string, example: string): string =>
    optional(name) ??
      fail(key(name), `is missing (set it with: pulumi config set ${name} ${example})`);
  const integer = (name: string, value: string, min: number, max: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      fail(key(name), `must be a whole number from ${min} to ${max} (got "${value}")`);
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, value: string, allowed: readonly T[]): T => {
    if (!(allowed as readonly string[]).includes(value)) {
      fail(key(name), `must be one of ${allowed.join(", ")} (got "${value}")`);
    }
    return value as T;
  };
  const boolean = (name: string, value: string): boolean => {
    if (value !== "true" && value !== "false") {
      fail(key(name), `must be true or false (got "${value}")`);
    }
    return value === "true";
  };

  if (!(DEPLOY_ENVIRONMENTS as readonly string[]).includes(raw.stack)) {
    throw new StackSettingsError(
      `Cannot deploy the stack "${raw.stack}": the stack name is the environment and must be one of ${
        DEPLOY_ENVIRONMENTS.join(", ")
      } (pulumi stack select dev)`,
    );
  }
  const environment = raw.stack as DeployEnvironment;

  const region = raw.region?.trim();
  if (region === undefined || region === "") {
    fail("aws:region", "is missing (set it with: pulumi config set aws:region us-east-1)");
  } else if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    fail("aws:region", `must be an AWS region such as us-east-1 (got "${region}")`);
  }

  const scheduleRate = required("scheduleRate", '"rate(15 minutes)"');
  const period = schedulePeriodSeconds(scheduleRate);
  if (period === undefined) {
    fail(
      key("scheduleRate"),
      `must be an EventBridge rate such as "rate(15 minutes)" or "rate(1 hour)" (got "${scheduleRate}")`,
    );
  } else if (period > MAX_SCHEDULE_SECONDS) {
    fail(
      key("scheduleRate"),
      `must be at most rate(12 hours): the "no successful run" alarm spans two periods (got "${scheduleRate}")`,
    );
  }

  const retention = required("logRetentionDays", "30");
  const logRetentionDays = Number(retention);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    fail(
      key("logRetentionDays"),
      `must be one of CloudWatch's retention periods (${
        LOG_RETENTION_DAYS.join(", ")
      }) (got "${retention}")`,
    );
  }

  const validUntilDays = integer("validUntilDays", required("validUntilDays", "7"), 1, 365);

  const channelsText = optional("channels") ?? DEFAULT_CHANNELS.join(",");
  let channels: string[] = [];
  try {
    channels = parseChannelList(channelsText);
  } catch (error) {
    fail(key("channels"), (error as Error).message);
  }

  const alarmEmail = optional("alarmEmail");
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
    fail(key("alarmEmail"), `must be an e-mail address (got "${alarmEmail}")`);
  }

  const domainName = optional("domainName");
  const certificateArn = optional("certificateArn");
  const hostedZoneId = optional("hostedZoneId");
  let customDomain: CustomDomain | undefined;
  if (domainName !== undefined || certificateArn !== undefined || hostedZoneId !== undefined) {
    if (domainName === undefined || certificateArn === undefined) {
      fail(
        domainName === undefined ? key("domainName") : key("certificateArn"),
        "is missing: a custom domain needs both domainName and certificateArn (or neither)",
      );
    }
    const domain = (domainName as string).toLowerCase();
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domain)) {
      fail(key("domainName"), `must be a host name such as apt.example.com (got "${domainName}")`);
    }
    if (
      !/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]+$/.test(
        certificateArn as string,
      )
    ) {
      fail(
        key("certificateArn"),
        `must be the ARN of an ACM certificate in us-east-1, where CloudFront reads certificates (got "${certificateArn}")`,
      );
    }
    if (hostedZoneId !== undefined && !/^Z[A-Z0-9]{1,31}$/.test(hostedZoneId)) {
      fail(
        key("hostedZoneId"),
        `must be a Route 53 hosted zone ID such as Z0123456789ABC (got "${hostedZoneId}")`,
      );
    }
    customDomain = {
      domainName: domain,
      certificateArn: certificateArn as string,
      ...(hostedZoneId === undefined ? {} : { hostedZoneId }),
    };
  }

  const legacyTableName = required("legacyTableName", `kiro-package-versions-${environment}`);
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(legacyTableName)) {
    fail(key("legacyTableName"), `must be a DynamoDB table name (got "${legacyTableName}")`);
  }
  if (!legacyTableName.split(/[-_.]/).includes(environment)) {
    fail(
      key("legacyTableName"),
      `must name this environment's table (a name containing "${environment}", got "${legacyTableName}")`,
    );
  }

  const protection = optional("deletionProtection");
  const deletionProtection = protection === undefined
    ? environment === "prod"
    : boolean("deletionProtection", protection);

  const staging = optional("stagingExpirationDays");
  const noncurrent = optional("noncurrentVersionExpirationDays");
  const logLevel = optional("logLevel");
  const architectureList = optional("architectures");
  let architectures = [...DEFAULT_ARCHITECTURES];
  if (architectureList !== undefined) {
    try {
      architectures = parseArchitectures(architectureList, { setting: key("architectures") });
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new StackSettingsError(`Cannot use the stack config in ${file}: ${error.message}`);
    }
  }
  const priceClass = optional("priceClass");

  return {
    environment,
    region: region as string,
    scheduleRate,
    schedulePeriodSeconds: period as number,
    logRetentionDays,
    validUntilDays,
    channels,
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    ...(customDomain === undefined ? {} : { customDomain }),
    legacyTableName,
    deletionProtection,
    stagingExpirationDays: staging === undefined
      ? 7
      : integer("stagingExpirationDays", staging, 1, 365),
    noncurrentVersionExpirationDays: noncurrent === undefined
      ? 30
      : integer("noncurrentVersionExpirationDays", noncurrent, 1, 3650),
    architectures,
    logLevel: logLevel === undefined
      ? "INFO"
      : oneOf("logLevel", logLevel.toUpperCase(), LOG_LEVELS),
    priceClass: priceClass === undefined
      ? "PriceClass_100"
      : oneOf("priceClass", priceClass, PRICE_CLASSES),
    lambdaEntry: optional("lambdaEntry") ?? "lambda/handler.ts",
  };
}
