/**
 * The CDN: CloudFront in front of the private bucket, through an origin
 * access control, HTTPS only, with cache lifetimes that match the repository
 * layout (`docs/design.md`, "Repository layout and publishing"): mutable
 * names (`dists/*`, `index.html`, `kiro-repo.deb`, the keyring) briefly,
 * content-addressed ones (`pool/*`, `by-hash/*`) for a year.
 *
 * @module
 */

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type DeployEnvironment, resourceName } from "./naming.ts";
import type { CustomDomain } from "./settings.ts";

/** The bucket's origin ID inside the distribution. */
const ORIGIN_ID = "repository-bucket";

/** Cache lifetimes (seconds) of the mutable paths: apt sees a new Release within minutes. */
export const SHORT_TTL = { min: 0, default: 60, max: 300 } as const;

/** Cache lifetimes (seconds) of immutable paths: a pool file or by-hash name never changes content. */
export const LONG_TTL = { min: 86400, default: 31536000, max: 31536000 } as const;

/** Path patterns cached for {@linkcode LONG_TTL}, in CloudFront's evaluation order. */
export const IMMUTABLE_PATHS: readonly string[] = ["pool/*", "*/by-hash/*"];

/** Path patterns cached for {@linkcode SHORT_TTL} (the default behaviour is short too). */
export const MUTABLE_PATHS: readonly string[] = [
  "dists/*",
  "index.html",
  "kiro-repo.deb",
  "kiro-archive-keyring.pgp",
];

/**
 * The bucket policy: CloudFront may read objects (and list, so that a missing
 * key is a 404 rather than a 403) only on behalf of this distribution, and
 * nobody may use plain HTTP. No other principal is allowed anything.
 */
export function repositoryBucketPolicy(
  inputs: { bucketArn: string; distributionArn: string },
): Record<string, unknown> {
  const { bucketArn, distributionArn } = inputs;
  const fromThisDistribution = { StringEquals: { "AWS:SourceArn": distributionArn } };
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "CloudFrontReadsObjects",
        Effect: "Allow",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "s3:GetObject",
        Resource: `${bucketArn}/*`,
        Condition: fromThisDistribution,
      },
      {
        Sid: "CloudFrontListsSoMissingKeysAre404",
        Effect: "Allow",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "s3:ListBucket",
        Resource: bucketArn,
        Condition: fromThisDistribution,
      },
      {
        Sid: "DenyPlainHttp",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/** Arguments of {@linkcode Cdn}. */
export interface CdnArgs {
  environment: DeployEnvironment;
  bucketName: pulumi.Input<string>;
  bucketArn: pulumi.Input<string>;
  bucketRegionalDomainName: pulumi.Input<string>;
  priceClass: string;
  customDomain?: CustomDomain;
  /** Resources the bucket policy must follow (the public access block). */
  bucketPolicyDependsOn?: pulumi.Resource[];
}

/** The distribution, its origin access control, cache policies and the bucket policy. */
export class Cdn extends pulumi.ComponentResource {
  readonly distributionId: pulumi.Output<string>;
  readonly distributionArn: pulumi.Output<string>;
  readonly domainName: pulumi.Output<string>;
  /** `https://{custom domain or CloudFront domain}`, without a trailing slash. */
  readonly repoUrl: pulumi.Output<string>;

  constructor(name: string, args: CdnArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:Cdn", name, {}, opts);
    const { environment, customDomain } = args;

    const originAccess = new aws.cloudfront.OriginAccessControl("origin-access", {
      name: resourceName("origin-access", environment),
      description: `CloudFront reads the Kiro APT repository bucket (${environment})`,
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    }, { parent: this });

    const cacheKey = (compress: boolean) => ({
      cookiesConfig: { cookieBehavior: "none" },
      headersConfig: { headerBehavior: "none" },
      queryStringsConfig: { queryStringBehavior: "none" },
      enableAcceptEncodingGzip: compress,
      enableAcceptEncodingBrotli: compress,
    });
    const shortCache = new aws.cloudfront.CachePolicy("short-cache", {
      name: resourceName("short-cache", environment),
      comment: "Mutable repository paths: Release, Packages, index.html, kiro-repo.deb",
      minTtl: SHORT_TTL.min,
      defaultTtl: SHORT_TTL.default,
      maxTtl: SHORT_TTL.max,
      parametersInCacheKeyAndForwardedToOrigin: cacheKey(true),
    }, { parent: this });
    const longCache = new aws.cloudfront.CachePolicy("long-cache", {
      name: resourceName("long-cache", environment),
      comment: "Immutable repository paths: pool files and by-hash indexes",
      minTtl: LONG_TTL.min,
      defaultTtl: LONG_TTL.default,
      maxTtl: LONG_TTL.max,
      // .deb and .xz/.gz files are compressed already.
      parametersInCacheKeyAndForwardedToOrigin: cacheKey(false),
    }, { parent: this });

    const behaviour = (cachePolicyId: pulumi.Output<string>, compress: boolean) => ({
      targetOriginId: ORIGIN_ID,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD"],
      cachedMethods: ["GET", "HEAD"],
      cachePolicyId,
      compress,
    });

    const distribution = new aws.cloudfront.Distribution("distribution", {
      comment: resourceName("repo", environment),
      enabled: true,
      isIpv6Enabled: true,
      httpVersion: "http2and3",
      priceClass: args.priceClass,
      defaultRootObject: "index.html",
      aliases: customDomain === undefined ? [] : [customDomain.domainName],
      origins: [{
        originId: ORIGIN_ID,
        domainName: args.bucketRegionalDomainName,
        originAccessControlId: originAccess.id,
      }],
      defaultCacheBehavior: behaviour(shortCache.id, true),
      orderedCacheBehaviors: [
        ...IMMUTABLE_PATHS.map((pathPattern) => ({
          pathPattern,
          ...behaviour(longCache.id, false),
        })),
        ...MUTABLE_PATHS.map((pathPattern) => ({ pathPattern, ...behaviour(shortCache.id, true) })),
      ],
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: customDomain === undefined ? { cloudfrontDefaultCertificate: true } : {
        acmCertificateArn: customDomain.certificateArn,
        sslSupportMethod: "sni-only",
        minimumProtocolVersion: "TLSv1.2_2021",
      },
    }, { parent: this });

    new aws.s3.BucketPolicy("repository-policy", {
      bucket: args.bucketName,
      policy: pulumi.all([args.bucketArn, distribution.arn]).apply(([bucketArn, distributionArn]) =>
        JSON.stringify(repositoryBucketPolicy({ bucketArn, distributionArn }))
      ),
    }, { parent: this, dependsOn: args.bucketPolicyDependsOn ?? [] });

    if (customDomain?.hostedZoneId !== undefined) {
      for (const type of ["A", "AAAA"] as const) {
        new aws.route53.Record(`alias-${type.toLowerCase()}`, {
          zoneId: customDomain.hostedZoneId,
          name: customDomain.domainName,
          type,
          aliases: [{
            name: distribution.domainName,
            zoneId: distribution.hostedZoneId,
            evaluateTargetHealth: false,
          }],
        }, { parent: this });
      }
    }

    this.distributionId = distribution.id;
    this.distributionArn = distribution.arn;
    this.domainName = distribution.domainName;
    this.repoUrl = customDomain === undefined
      ? pulumi.interpolate`https://${distribution.domainName}`
      : pulumi.output(`https://${customDomain.domainName}`);
    this.registerOutputs({
      distributionId: this.distributionId,
      distributionArn: this.distributionArn,
      repoUrl: this.repoUrl,
    });
  }
}
