/**
 * The stack outputs of a made-up deployed `dev` stack, for tests that run a
 * task against fake AWS endpoints (`KIRO_OUTPUTS_FILE`).
 *
 * @module
 */

/** A `dev` stack's outputs (`pulumi stack output --json` shape). */
export const DEV_OUTPUTS = {
  environment: "dev",
  tableName: "kiro-debian-repo-manager-packages-dev",
  legacyTableName: "kiro-package-versions-dev",
  bucketName: "kiro-debian-repo-manager-repo-dev",
  functionName: "kiro-debian-repo-manager-publisher-dev",
  repoUrl: "https://repo.example.com",
  distributionId: "E123",
  signingKeySecretId: "kiro-debian-repo-manager-signing-key-dev",
  notificationTopicArn: "arn:aws:sns:us-east-1:123456789012:kiro",
  region: "us-east-1",
} as const;
