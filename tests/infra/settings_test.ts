/**
 * The stack settings: what each stack's config must contain, and the errors
 * an operator sees for a wrong value.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  LOG_RETENTION_DAYS,
  MAX_SCHEDULE_SECONDS,
  parseStackSettings,
  type RawStackSettings,
  schedulePeriodSeconds,
  StackSettingsError,
} from "../../infra/settings.ts";

const BASE: RawStackSettings = {
  stack: "dev",
  region: "eu-west-1",
  values: {
    scheduleRate: "rate(30 minutes)",
    logRetentionDays: "14",
    validUntilDays: "7",
    legacyTableName: "kiro-package-versions-dev",
  },
};

function withValues(values: Record<string, string | undefined>, stack = "dev"): RawStackSettings {
  return { ...BASE, stack, values: { ...BASE.values, ...values } };
}

function rejects(raw: RawStackSettings, message: RegExp): void {
  assert.throws(() => parseStackSettings(raw), (error: unknown) => {
    assert.ok(error instanceof StackSettingsError, String(error));
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("settings take the stack name as the environment and fill in the defaults", () => {
  assert.deepEqual(parseStackSettings(BASE), {
    environment: "dev",
    region: "eu-west-1",
    scheduleRate: "rate(30 minutes)",
    schedulePeriodSeconds: 1800,
    logRetentionDays: 14,
    validUntilDays: 7,
    channels: ["stable", "beta"],
    legacyTableName: "kiro-package-versions-dev",
    deletionProtection: false,
    stagingExpirationDays: 7,
    noncurrentVersionExpirationDays: 30,
    logLevel: "INFO",
    architectures: ["amd64", "arm64", "all"],
    priceClass: "PriceClass_100",
    lambdaEntry: "lambda/handler.ts",
  });
});

Deno.test("the architectures setting is a comma-separated list, never with source", () => {
  assert.deepEqual(
    parseStackSettings(withValues({ architectures: "amd64, all" })).architectures,
    ["amd64", "all"],
  );
  rejects(withValues({ architectures: "amd64,source" }), /architectures lists "source"/);
  rejects(withValues({ architectures: "AMD64" }), /not a Debian architecture name/);
});

Deno.test("prod gets deletion protection unless its config says otherwise", () => {
  const prod = withValues({ legacyTableName: "kiro-package-versions-prod" }, "prod");
  assert.equal(parseStackSettings(prod).deletionProtection, true);
  assert.equal(
    parseStackSettings({ ...prod, values: { ...prod.values, deletionProtection: "false" } })
      .deletionProtection,
    false,
  );
  assert.equal(
    parseStackSettings(withValues({ deletionProtection: "true" })).deletionProtection,
    true,
  );
  rejects(
    withValues({ deletionProtection: "yes" }),
    /deletionProtection must be true or false \(got "yes"\)/,
  );
});

Deno.test("a stack that is neither dev nor prod is refused with what to run", () => {
  rejects(
    withValues({}, "staging"),
    /stack "staging": .*must be one of dev, prod \(pulumi stack select dev\)/,
  );
});

Deno.test("missing required keys name the file, the key and the command that sets it", () => {
  rejects(
    withValues({ scheduleRate: undefined }),
    /^Cannot use the stack config in Pulumi\.dev\.yaml: kiro-debian-repo-manager:scheduleRate is missing \(set it with: pulumi config set scheduleRate "rate\(15 minutes\)"\)$/,
  );
  rejects(withValues({ legacyTableName: " " }), /legacyTableName is missing/);
  rejects(
    { ...BASE, region: undefined },
    /aws:region is missing \(set it with: pulumi config set aws:region us-east-1\)/,
  );
  rejects(
    { ...BASE, region: "Europe" },
    /aws:region must be an AWS region such as us-east-1 \(got "Europe"\)/,
  );
});

Deno.test("the schedule must be a rate of at most 12 hours", () => {
  rejects(
    withValues({ scheduleRate: "cron(0 * * * ? *)" }),
    /scheduleRate must be an EventBridge rate/,
  );
  rejects(
    withValues({ scheduleRate: "rate(1 minutes)" }),
    /scheduleRate must be an EventBridge rate/,
  );
  rejects(withValues({ scheduleRate: "rate(2 hour)" }), /scheduleRate must be an EventBridge rate/);
  rejects(withValues({ scheduleRate: "rate(13 hours)" }), /must be at most rate\(12 hours\)/);
  rejects(withValues({ scheduleRate: "rate(1 day)" }), /must be at most rate\(12 hours\)/);
  assert.equal(
    parseStackSettings(withValues({ scheduleRate: "rate(12 hours)" })).schedulePeriodSeconds,
    43200,
  );
});

Deno.test("schedulePeriodSeconds reads every well-formed rate and nothing else", () => {
  const units = [["minute", 60], ["hour", 3600], ["day", 86400]] as const;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }),
      fc.constantFrom(...units),
      (count, [unit, seconds]) => {
        const rate = `rate(${count} ${unit}${count === 1 ? "" : "s"})`;
        assert.equal(schedulePeriodSeconds(rate), count * seconds);
        const wrongPlural = `rate(${count} ${unit}${count === 1 ? "s" : ""})`;
        assert.equal(schedulePeriodSeconds(wrongPlural), undefined);
        assert.equal(schedulePeriodSeconds(` ${rate}`), undefined);
      },
    ),
    { numRuns: 200 },
  );
  assert.equal(schedulePeriodSeconds("rate(0 minutes)"), undefined);
  assert.ok(
    MAX_SCHEDULE_SECONDS * 2 <= 86400,
    "two periods fit in CloudWatch's one-day alarm window",
  );
});

Deno.test("log retention must be a period CloudWatch accepts", () => {
  for (const days of LOG_RETENTION_DAYS) {
    assert.equal(
      parseStackSettings(withValues({ logRetentionDays: String(days) })).logRetentionDays,
      days,
    );
  }
  rejects(
    withValues({ logRetentionDays: "10" }),
    /logRetentionDays must be one of CloudWatch's retention periods/,
  );
});

Deno.test("Valid-Until days and expiration days must be whole numbers in range", () => {
  rejects(
    withValues({ validUntilDays: "0" }),
    /validUntilDays must be a whole number from 1 to 365 \(got "0"\)/,
  );
  rejects(withValues({ validUntilDays: "7.5" }), /validUntilDays must be a whole number/);
  rejects(
    withValues({ stagingExpirationDays: "-1" }),
    /stagingExpirationDays must be a whole number/,
  );
  assert.equal(
    parseStackSettings(withValues({ noncurrentVersionExpirationDays: "90" }))
      .noncurrentVersionExpirationDays,
    90,
  );
});

Deno.test("the legacy table must be this environment's", () => {
  rejects(
    withValues({ legacyTableName: "kiro-package-versions-prod" }),
    /legacyTableName must name this environment's table \(a name containing "dev", got "kiro-package-versions-prod"\)/,
  );
  rejects(
    withValues({ legacyTableName: "kiro package versions dev" }),
    /must be a DynamoDB table name/,
  );
  assert.equal(
    parseStackSettings(withValues({ legacyTableName: "kiro_package_versions_dev" }))
      .legacyTableName,
    "kiro_package_versions_dev",
  );
});

Deno.test("a custom domain needs a host name and a us-east-1 certificate, the zone is optional", () => {
  const certificateArn =
    "arn:aws:acm:us-east-1:123456789012:certificate/abcdef01-2345-6789-abcd-ef0123456789";
  assert.deepEqual(
    parseStackSettings(withValues({ domainName: "APT.Example.com", certificateArn })).customDomain,
    { domainName: "apt.example.com", certificateArn },
  );
  assert.deepEqual(
    parseStackSettings(
      withValues({ domainName: "apt.example.com", certificateArn, hostedZoneId: "Z123ABC" }),
    )
      .customDomain,
    { domainName: "apt.example.com", certificateArn, hostedZoneId: "Z123ABC" },
  );
  rejects(
    withValues({ domainName: "apt.example.com" }),
    /certificateArn is missing: a custom domain needs both/,
  );
  rejects(withValues({ certificateArn }), /domainName is missing: a custom domain needs both/);
  rejects(
    withValues({
      domainName: "apt.example.com",
      certificateArn: certificateArn.replace("us-east-1", "eu-west-1"),
    }),
    /certificateArn must be the ARN of an ACM certificate in us-east-1/,
  );
  rejects(
    withValues({ domainName: "https://apt.example.com", certificateArn }),
    /domainName must be a host name/,
  );
  rejects(
    withValues({ domainName: "apt.example.com", certificateArn, hostedZoneId: "zone" }),
    /hostedZoneId must be a Route 53 hosted zone ID/,
  );
});

Deno.test("the alarm e-mail, log level and price class are checked", () => {
  assert.equal(
    parseStackSettings(withValues({ alarmEmail: "ops@example.com" })).alarmEmail,
    "ops@example.com",
  );
  rejects(withValues({ alarmEmail: "ops" }), /alarmEmail must be an e-mail address \(got "ops"\)/);
  assert.equal(parseStackSettings(withValues({ logLevel: "debug" })).logLevel, "DEBUG");
  rejects(withValues({ logLevel: "TRACE" }), /logLevel must be one of DEBUG, INFO, WARN, ERROR/);
  rejects(
    withValues({ priceClass: "cheap" }),
    /priceClass must be one of PriceClass_100, PriceClass_200, PriceClass_All/,
  );
});
