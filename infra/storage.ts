/**
 * Storage: the packages table (the single source of truth) and the private
 * repository bucket.
 *
 * @module
 */

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type DeployEnvironment, resourceName } from "./naming.ts";

/** The packages table's global secondary index (`package_name`, `version`). */
export const PACKAGE_NAME_INDEX = "package-name-index";

/** The bucket prefix where uploads wait before the publisher moves them to the pool. */
export const STAGING_PREFIX = "staging/";

/** Arguments of {@linkcode Storage}. */
export interface StorageArgs {
  environment: DeployEnvironment;
  /** The environment's KMS key, for the table. */
  kmsKeyArn: pulumi.Input<string>;
  /** Table deletion protection, Pulumi `protect`, no force-destroy of the bucket (prod). */
  deletionProtection: boolean;
  stagingExpirationDays: number;
  noncurrentVersionExpirationDays: number;
}

/** The packages table and the repository bucket with its settings. */
export class Storage extends pulumi.ComponentResource {
  readonly tableName: pulumi.Output<string>;
  readonly tableArn: pulumi.Output<string>;
  /** The ARN of {@linkcode PACKAGE_NAME_INDEX} (for IAM). */
  readonly packageNameIndexArn: pulumi.Output<string>;
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  /** The bucket's regional endpoint, CloudFront's origin. */
  readonly bucketRegionalDomainName: pulumi.Output<string>;
  /** Settles once public access is blocked: the bucket policy waits for it. */
  readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kiro:infra:Storage", name, {}, opts);
    const { environment } = args;
    const protect = args.deletionProtection;

    const table = new aws.dynamodb.Table("packages", {
      name: resourceName("packages", environment),
      billingMode: "PAY_PER_REQUEST",
      // One item per binary package identity: name#canonical version, architecture.
      hashKey: "package_id",
      rangeKey: "architecture",
      attributes: [
        { name: "package_id", type: "S" },
        { name: "architecture", type: "S" },
        { name: "package_name", type: "S" },
        { name: "version", type: "S" },
      ],
      globalSecondaryIndexes: [{
        name: PACKAGE_NAME_INDEX,
        keySchemas: [
          { attributeName: "package_name", keyType: "HASH" },
          { attributeName: "version", keyType: "RANGE" },
        ],
        projectionType: "ALL",
      }],
      serverSideEncryption: { enabled: true, kmsKeyArn: args.kmsKeyArn },
      pointInTimeRecovery: { enabled: true },
      deletionProtectionEnabled: protect,
    }, { parent: this, protect });

    const bucket = new aws.s3.Bucket("repository", {
      bucket: resourceName("repo", environment),
      // dev can be torn down with its objects; prod's bucket is never emptied by Pulumi.
      forceDestroy: !protect,
    }, { parent: this, protect });

    this.publicAccessBlock = new aws.s3.BucketPublicAccessBlock("repository-public-access", {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }, { parent: this });

    // ACLs off: the bucket owner owns every object, access is by policy only.
    new aws.s3.BucketOwnershipControls("repository-ownership", {
      bucket: bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    }, { parent: this });

    const versioning = new aws.s3.BucketVersioning("repository-versioning", {
      bucket: bucket.id,
      versioningConfiguration: { status: "Enabled" },
    }, { parent: this });

    // SSE-S3 rather than KMS: CloudFront's origin access control reads every
    // object on a cache miss, and SSE-S3 needs no key grant for it nor a KMS
    // request per miss. Everything at rest is encrypted either way.
    new aws.s3.BucketServerSideEncryptionConfiguration("repository-encryption", {
      bucket: bucket.id,
      rules: [{
        applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" },
        bucketKeyEnabled: true,
      }],
    }, { parent: this });

    new aws.s3.BucketLifecycleConfiguration("repository-lifecycle", {
      bucket: bucket.id,
      rules: [
        {
          id: "expire-abandoned-staging-uploads",
          status: "Enabled",
          filter: { prefix: STAGING_PREFIX },
          expiration: { days: args.stagingExpirationDays },
        },
        {
          // Every rebuild overwrites dists/*; keep old versions long enough to
          // roll back a bad publish by hand, then let them go.
          id: "expire-old-object-versions",
          status: "Enabled",
          filter: {},
          noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays },
          expiration: { expiredObjectDeleteMarker: true },
          abortIncompleteMultipartUpload: { daysAfterInitiation: 2 },
        },
      ],
    }, { parent: this, dependsOn: [versioning] });

    this.tableName = table.name;
    this.tableArn = table.arn;
    this.packageNameIndexArn = pulumi.interpolate`${table.arn}/index/${PACKAGE_NAME_INDEX}`;
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.bucketRegionalDomainName = bucket.bucketRegionalDomainName;
    this.registerOutputs({
      tableName: this.tableName,
      tableArn: this.tableArn,
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
    });
  }
}
