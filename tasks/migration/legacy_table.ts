/**
 * The legacy table (`kiro-package-versions-{env}`: partition key `version`,
 * only Kiro items) and what its items looked like, for the local demo and the
 * tests. The real legacy tables exist in AWS already; nothing here touches
 * them.
 *
 * @module
 */

import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import type { Item } from "./attribute_value.ts";
import type { DynamoDbSender } from "./table_ops.ts";

/** The `CreateTable` input of a legacy table named `tableName` (key `version`, S). */
export function legacyTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "version", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "version", KeyType: "HASH" }],
  };
}

/**
 * Creates the legacy table `tableName` unless it exists, and waits until it is
 * active. Returns whether it was created.
 */
export async function ensureLegacyTable(
  client: DynamoDbSender,
  tableName: string,
  options: { sleep?: (ms: number) => Promise<void> } = {},
): Promise<boolean> {
  let created = true;
  try {
    await client.send(new CreateTableCommand(legacyTableDefinition(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    created = false;
  }
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  for (let attempt = 0; attempt < 400; attempt++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === "ACTIVE") return created;
    await sleep(25);
  }
  throw new Error(
    `The legacy table ${tableName} did not become ACTIVE: check the DynamoDB endpoint`,
  );
}

/** What one legacy Kiro version record is made from. */
export interface LegacyItemInput {
  version: string;
  /** Release date as the feed gave it. */
  pubDate: string;
  /** When the legacy Lambda processed it (ISO 8601). */
  processedTimestamp: string;
  /** Where it was downloaded from. */
  debUrl: string;
  /** The downloaded file's name (the legacy pool object's name). */
  actualFilename: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  certificateUrl?: string;
  signatureUrl?: string;
  notes?: string;
}

/**
 * A legacy item as the legacy Lambda (boto3) wrote it: `version` key, strings,
 * `file_size` as a DynamoDB number, optional URLs and notes.
 */
export function legacyItem(input: LegacyItemInput): Item {
  return {
    version: { S: input.version },
    pub_date: { S: input.pubDate },
    processed_timestamp: { S: input.processedTimestamp },
    deb_url: { S: input.debUrl },
    actual_filename: { S: input.actualFilename },
    file_size: { N: String(input.size) },
    md5_hash: { S: input.md5 },
    sha1_hash: { S: input.sha1 },
    sha256_hash: { S: input.sha256 },
    ...(input.certificateUrl === undefined ? {} : { certificate_url: { S: input.certificateUrl } }),
    ...(input.signatureUrl === undefined ? {} : { signature_url: { S: input.signatureUrl } }),
    ...(input.notes === undefined ? {} : { notes: { S: input.notes } }),
  };
}
