/**
 * Notifications for operators: one message per new package version and one
 * per failure. On AWS they go to the environment's SNS topic; locally (no
 * topic) they are written to the log and appended to a JSON-lines file
 * (`.local/notifications.jsonl`).
 *
 * @module
 */

import { redactUrl } from "../redact.ts";
import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { PackageRecord } from "../domain/package_record.ts";

/** What a notification is about. */
export type NotificationKind = "new_package" | "failure";

/** One notification. */
export interface Notification {
  kind: NotificationKind;
  /** At most 100 characters (SNS's limit for email subjects). */
  subject: string;
  /** Human-readable text. */
  message: string;
  /** Structured details (also sent as SNS message attributes where they are strings). */
  details: Record<string, string | number>;
  /** When it was made (ISO 8601). */
  time: string;
}

/** Sends notifications. Implementations must not log secrets. */
export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

function subjectOf(text: string): string {
  // SNS subjects: ASCII, no line breaks, at most 100 characters.
  const ascii = text.replace(/[^\x20-\x7e]/g, "?");
  return ascii.length > 100 ? `${ascii.slice(0, 97)}...` : ascii;
}

/** The notification for a newly published package version. */
export function newPackageNotification(
  record: PackageRecord,
  options: { environment: string; now?: Date },
): Notification {
  return {
    kind: "new_package",
    subject: subjectOf(
      `[kiro-repo ${options.environment}] New package: ${record.package_name} ${record.version}`,
    ),
    message: [
      `${record.package_name} ${record.version} (${record.architecture}) is now in the ${options.environment} repository.`,
      "",
      `Source: ${redactUrl(record.deb_url)}`,
      `Pool: ${record.pool_key}`,
      `Size: ${record.file_size} bytes`,
      `SHA256: ${record.sha256_hash}`,
      ...(record.pub_date ? [`Published upstream: ${record.pub_date}`] : []),
      ...(record.notes ? ["", `Notes: ${record.notes}`] : []),
    ].join("\n"),
    details: {
      environment: options.environment,
      package_name: record.package_name,
      version: record.version,
      architecture: record.architecture,
      pool_key: record.pool_key,
      sha256: record.sha256_hash,
      file_size: record.file_size,
    },
    time: (options.now ?? new Date()).toISOString(),
  };
}

/** The notification for a failure (`what` names the source or step that failed). */
export function failureNotification(
  what: string,
  error: string,
  options: { environment: string; now?: Date; details?: Record<string, string | number> },
): Notification {
  return {
    kind: "failure",
    subject: subjectOf(`[kiro-repo ${options.environment}] FAILED: ${what}`),
    message: [
      `${what} failed in the ${options.environment} repository run.`,
      "",
      error,
    ].join("\n"),
    details: { environment: options.environment, what, error, ...options.details },
    time: (options.now ?? new Date()).toISOString(),
  };
}

/** Publishes to an SNS topic. */
export class SnsNotifier implements Notifier {
  readonly #sns: SNSClient;
  readonly #topicArn: string;
  readonly #logger: Logger | undefined;

  /** @param options.logger records each message id */
  constructor(sns: SNSClient, topicArn: string, options: { logger?: Logger } = {}) {
    this.#sns = sns;
    this.#topicArn = topicArn;
    this.#logger = options.logger;
  }

  /** Publishes one message; rejects when SNS refuses it. */
  async notify(notification: Notification): Promise<void> {
    const attributes: Record<string, { DataType: string; StringValue: string }> = {
      kind: { DataType: "String", StringValue: notification.kind },
    };
    const name = notification.details.package_name;
    if (typeof name === "string") {
      attributes.package_name = { DataType: "String", StringValue: name };
    }
    const result = await this.#sns.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Subject: notification.subject,
        Message: notification.message,
        MessageAttributes: attributes,
      }),
    );
    this.#logger?.info("Notification sent", {
      kind: notification.kind,
      subject: notification.subject,
      messageId: result.MessageId,
    });
  }
}

/** Local stand-in: logs each notification and appends it as one JSON line to `path`. */
export class FileNotifier implements Notifier {
  readonly #path: string;
  readonly #logger: Logger | undefined;

  constructor(path: string, options: { logger?: Logger } = {}) {
    this.#path = path;
    this.#logger = options.logger;
  }

  /** The file the notifications are appended to. */
  get path(): string {
    return this.#path;
  }

  /** Appends one line (creating the folder and file as needed). */
  async notify(notification: Notification): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true });
    await appendFile(this.#path, `${JSON.stringify(notification)}\n`, "utf8");
    this.#logger?.info("Notification (local)", {
      kind: notification.kind,
      subject: notification.subject,
      file: this.#path,
    });
  }
}

/** The default file of the local notifier, relative to the project root. */
export const LOCAL_NOTIFICATIONS_FILE = ".local/notifications.jsonl";

/**
 * The notifier for an environment: SNS when a topic ARN is given, otherwise
 * the local file.
 */
export function createNotifier(
  target: { sns?: SNSClient; topicArn?: string | undefined },
  options: { logger?: Logger; localFile?: string } = {},
): Notifier {
  const logger = options.logger === undefined ? {} : { logger: options.logger };
  if (target.topicArn !== undefined && target.topicArn !== "") {
    if (target.sns === undefined) {
      throw new Error(`Cannot notify ${target.topicArn}: no SNS client was given`);
    }
    return new SnsNotifier(target.sns, target.topicArn, logger);
  }
  return new FileNotifier(options.localFile ?? LOCAL_NOTIFICATIONS_FILE, logger);
}
