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

/** The repository's root (where `deno.json` and `tasks/` are). */
export const REPOSITORY_ROOT = new URL("../../", import.meta.url).pathname;

/** Options of {@linkcode taskProcess}. */
export interface TaskProcessOptions {
  /** Variables added to this process's (or, with `clearEnv`, the only ones). */
  env?: Record<string, string>;
  /** Starts from an empty environment (`PATH` kept): only `env` is set. */
  clearEnv?: boolean;
  /** The working folder (default: the repository's root). */
  cwd?: string;
}

/** The command that runs a task script as the operator does (see {@linkcode taskProcess}). */
function taskCommand(
  script: string,
  args: readonly string[],
  options: TaskProcessOptions,
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--config",
      `${REPOSITORY_ROOT}deno.json`,
      `${REPOSITORY_ROOT}${script}`,
      ...args,
    ],
    cwd: options.cwd ?? REPOSITORY_ROOT,
    env: {
      ...(options.clearEnv ? { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" } : {}),
      ...options.env,
      NO_COLOR: "1",
      KIRO_ENV: "",
    },
    clearEnv: options.clearEnv ?? false,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * Runs a task script (`tasks/NAME.ts`, relative to the repository's root) as
 * the operator does, in its own process, with `env` added to this one's
 * (`NO_COLOR` set, `KIRO_ENV` cleared).
 */
export async function taskProcess(
  script: string,
  args: readonly string[],
  options: TaskProcessOptions = {},
): Promise<TaskRun> {
  const output = await taskCommand(script, args, options).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A task started in its own process and read as it prints (see {@linkcode startTaskProcess}). */
export interface RunningTask {
  /** The process (its `pid`, for checks of what it recorded). */
  readonly process: Deno.ChildProcess;
  /**
   * Reads stdout until what it printed so far matches `pattern`; resolves to
   * that text. Rejects when the task's stdout ends first.
   */
  waitFor(pattern: RegExp): Promise<string>;
  /**
   * Sends `signal` (default `SIGINT`, Ctrl-C) unless the task has ended,
   * reads the rest of its output, and resolves to its exit status and
   * everything it printed. Safe to call more than once.
   */
  stop(signal?: Deno.Signal): Promise<{ status: Deno.CommandStatus } & TaskRun>;
}

/**
 * Starts a task script as {@linkcode taskProcess} does, but returns at once:
 * for the long-running tasks (`dev`, `fake-feed`) that a test talks to while
 * they run. Always `stop()` it.
 */
export function startTaskProcess(
  script: string,
  args: readonly string[],
  options: TaskProcessOptions = {},
): RunningTask {
  const child = taskCommand(script, args, options).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let ended = false;
  const readMore = async (): Promise<boolean> => {
    if (ended) return false;
    const { value, done } = await reader.read();
    if (done) ended = true;
    else stdout += value;
    return !done;
  };
  let stopped: Promise<{ status: Deno.CommandStatus } & TaskRun> | undefined;
  return {
    process: child,
    async waitFor(pattern) {
      while (!pattern.test(stdout)) {
        if (!await readMore()) {
          throw new Error(`${script} ended before printing ${pattern}; it printed:\n${stdout}`);
        }
      }
      return stdout;
    },
    stop(signal = "SIGINT") {
      stopped ??= (async () => {
        try {
          child.kill(signal);
        } catch (error) {
          // The task has already ended: there is nothing to signal.
          if (!(error instanceof TypeError)) throw error;
        }
        while (await readMore()) { /* the rest of stdout */ }
        const status = await child.status;
        return { status, code: status.code, stdout, stderr: await stderr };
      })();
      return stopped;
    },
  };
}
