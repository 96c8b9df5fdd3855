/**
 * Running an external program (apt-get, pulumi, dpkg-deb, gpgv, …) to the
 * end and reading what it printed, for the tasks and the tests.
 *
 * @module
 */

/** How {@linkcode runCommand} runs the program. */
export interface RunCommandOptions {
  /** The working folder (default: this process's). */
  cwd?: string;
  /** Variables added to (or replacing) this process's environment. */
  env?: Record<string, string>;
}

/** A finished program: its exit status and its output as text. */
export interface CommandResult {
  success: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` with `args` (stdin closed) and returns its exit status and
 * its stdout and stderr decoded as UTF-8. A failing exit status is returned,
 * not thrown; a program that is not on the PATH throws `Deno.errors.NotFound`.
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const output = await new Deno.Command(command, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
  }).output();
  const decoder = new TextDecoder();
  return {
    success: output.success,
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A program exited with a failing status (see {@linkcode commandOutput}). */
export class CommandFailedError extends Error {
  override name = "CommandFailedError";
  /** The program's result. */
  readonly result: CommandResult;

  constructor(command: string, args: readonly string[], result: CommandResult) {
    super(
      `${command} ${args.join(" ")} failed with exit code ${result.code}` +
        (result.stderr.trim() === "" ? "" : `: ${result.stderr.trim()}`),
    );
    this.result = result;
  }
}

/**
 * Runs `command` like {@linkcode runCommand} and returns its stdout; throws
 * {@linkcode CommandFailedError} (naming the command line, the exit code and
 * stderr) when it fails.
 */
export async function commandOutput(
  command: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<string> {
  const result = await runCommand(command, args, options);
  if (!result.success) throw new CommandFailedError(command, args, result);
  return result.stdout;
}
