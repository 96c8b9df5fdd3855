/**
 * Running a task's `main` in-process with its console output captured (the
 * tasks print with `console.*`).
 *
 * @module
 */

/** What a task printed and returned. */
export interface TaskRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A task's entry point. */
export type TaskMain = (args: string[]) => Promise<number>;

/** Runs `fn` with `console.log/info/debug` and `console.error/warn` captured. */
export async function captured(fn: () => Promise<number>): Promise<TaskRun> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...console };
  const text = (args: unknown[]) =>
    args.map((arg) => typeof arg === "string" ? arg : Deno.inspect(arg)).join(" ");
  console.log = console.info = console.debug = (...args: unknown[]) => out.push(text(args));
  console.error = console.warn = (...args: unknown[]) => err.push(text(args));
  try {
    const code = await fn();
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    Object.assign(console, saved);
  }
}
