/**
 * Asking the deployed publisher Lambda for a force rebuild (a synchronous
 * invoke), and reading its answer the same way as the in-process handler's.
 *
 * @module
 */

import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";

/** The body of a successful force rebuild answer. */
export interface RebuildAnswer {
  message: string;
  packages: number;
  written: number;
  skipped: number;
  pruned: number;
  date?: string;
  validUntil?: string;
  invalidationId?: string;
  [key: string]: unknown;
}

/** The heading line printed (on stderr) before an invocation's log tail. */
export const LOG_TAIL_HEADING = "Lambda log tail (last 4 KB):";

/**
 * The invocation's log tail for people: {@linkcode LOG_TAIL_HEADING} then the
 * decoded `LogResult` of an `InvokeCommand` sent with `LogType: "Tail"` (the
 * last 4 KB of what the invocation logged, base64), or `undefined` when the
 * answer has none. Tasks print it on stderr, never on stdout.
 */
export function logTailText(logResult: string | undefined): string | undefined {
  if (logResult === undefined || logResult === "") return undefined;
  const bytes = Uint8Array.from(atob(logResult), (char) => char.charCodeAt(0));
  const text = new TextDecoder().decode(bytes).trimEnd();
  return text === "" ? undefined : `${LOG_TAIL_HEADING}\n${text}`;
}

/** What one invocation of the deployed Lambda gave back. */
export interface Invocation {
  /** The function's answer (its JSON text), or its error document when it failed. */
  payload: string;
  /** Set when the function failed (`Unhandled`, …). */
  functionError?: string;
  /** {@linkcode logTailText} of the invocation, when there was a log. */
  logTail?: string;
}

/**
 * Invokes `functionName` with `event` and waits for its answer
 * (`RequestResponse`), asking for the tail of its log (`LogType: "Tail"`):
 * the one way the tasks invoke the Lambda (`rebuild`, `sync`). Failures to
 * invoke are the SDK's errors; a failed function is `functionError`.
 */
export async function invokeLambda(
  lambda: LambdaClient,
  functionName: string,
  options: { event: unknown },
): Promise<Invocation> {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: "RequestResponse",
      LogType: "Tail",
      Payload: new TextEncoder().encode(JSON.stringify(options.event)),
    }),
  );
  const logTail = logTailText(out.LogResult);
  return {
    payload: out.Payload === undefined ? "" : new TextDecoder().decode(out.Payload),
    ...(out.FunctionError === undefined ? {} : { functionError: out.FunctionError }),
    ...(logTail === undefined ? {} : { logTail }),
  };
}

/** The force rebuild failed (the Lambda threw, or answered a non-200 status). */
export class RebuildFailedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RebuildFailedError";
  }
}

/**
 * Reads a handler answer (`{statusCode, body}`) of a force rebuild; throws
 * {@linkcode RebuildFailedError} with the answer's error for any status but 200.
 */
export function readRebuildAnswer(answer: unknown, options: { where: string }): RebuildAnswer {
  const response = answer as { statusCode?: unknown; body?: unknown } | null;
  if (typeof response !== "object" || response === null || typeof response.body !== "string") {
    throw new RebuildFailedError(
      `The force rebuild in ${options.where} gave an answer without a body: ${
        JSON.stringify(answer)?.slice(0, 500)
      }`,
    );
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    throw new RebuildFailedError(
      `The force rebuild in ${options.where} answered ${response.statusCode} with a body that ` +
        `is not JSON: ${response.body.slice(0, 500)}`,
    );
  }
  if (response.statusCode !== 200) {
    throw new RebuildFailedError(
      `The force rebuild in ${options.where} failed (status ${response.statusCode}): ${
        typeof body.error === "string" ? body.error : response.body.slice(0, 500)
      }`,
    );
  }
  return body as RebuildAnswer;
}

/**
 * Invokes `functionName` with `{"force_rebuild": true}` and waits for its
 * answer, asking for the tail of its log (`LogType: "Tail"`): `onLogTail`
 * gets it ({@linkcode logTailText}) as soon as the Lambda answered, whether it
 * succeeded or failed. Throws {@linkcode RebuildFailedError} naming the
 * function when the invoke fails, the function errors (`FunctionError`), or it
 * answers non-200.
 */
export async function invokeForceRebuild(
  lambda: LambdaClient,
  functionName: string,
  options: { startedBy?: string; onLogTail?: (text: string) => void } = {},
): Promise<RebuildAnswer> {
  const where = `the Lambda ${functionName}`;
  let out;
  try {
    out = await invokeLambda(lambda, functionName, {
      event: {
        force_rebuild: true,
        ...(options.startedBy === undefined ? {} : { started_by: options.startedBy }),
      },
    });
  } catch (error) {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new RebuildFailedError(
      `Cannot invoke ${where} (${why}): check your AWS credentials and that the stack is deployed`,
      { cause: error },
    );
  }
  if (out.logTail !== undefined) options.onLogTail?.(out.logTail);
  const text = out.payload;
  if (out.functionError !== undefined) {
    let detail = text;
    try {
      const payload = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      detail = `${payload.errorType ?? "Error"}: ${payload.errorMessage ?? text}`;
    } catch {
      // Not JSON: show it as it is.
    }
    throw new RebuildFailedError(
      `The force rebuild in ${where} failed (${out.functionError}): ${detail.slice(0, 1000)}; ` +
        "see its CloudWatch logs",
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new RebuildFailedError(
      `${where} answered something that is not JSON: ${text.slice(0, 500)}`,
    );
  }
  return readRebuildAnswer(answer, { where });
}
