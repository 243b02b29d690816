import { TributaryError } from "../errors";

/**
 * Progress for a run without a terminal (cron, CI, systemd, a pipe): the progress bars draw only on a
 * TTY, so a long `ship`, `upload` or `demo` would otherwise say nothing until it finishes. Instead it
 * writes one JSON line to stderr every few seconds (`{"progress":"<command>","elapsedSeconds":…,…}`),
 * which a log collector can parse, and a last one with `"done":true` when it stops.
 */

/** Environment variable that sets the interval in seconds. @default 10 */
export const PROGRESS_INTERVAL_ENV = "TRIBUTARY_PROGRESS_SECONDS";
const DEFAULT_INTERVAL_SECONDS = 10;

export interface ProgressReporter {
  /** Stops the timer and writes the final line, `"done":true` (nothing when progress lines are off). */
  stop(extra?: Readonly<Record<string, unknown>>): void;
  /** Stops the timer without a final line: the run failed, and its error says so. No-op after `stop`. */
  cancel(): void;
}

export interface ProgressOptions {
  /** @default process.stderr */
  readonly stream?: NodeJS.WriteStream | { isTTY?: boolean; write(text: string): unknown };
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The interval from TRIBUTARY_PROGRESS_SECONDS (a positive number of seconds). */
export function progressIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[PROGRESS_INTERVAL_ENV];
  if (text === undefined || text === "") return DEFAULT_INTERVAL_SECONDS * 1000;
  const seconds = Number(text);
  if (!(seconds > 0 && seconds <= 86_400)) {
    throw new TributaryError(
      "TRIBUTARY_BAD_PROGRESS_INTERVAL",
      `${PROGRESS_INTERVAL_ENV} must be a number of seconds above 0 and at most 86400, got "${text}".`,
    );
  }
  return Math.round(seconds * 1000);
}

/**
 * Starts periodic progress lines for `command` when `stream` is not a terminal; `sample` returns the
 * counters to report (plain JSON values). On a terminal it does nothing: the progress bar shows the same.
 */
export function startProgressLines(
  command: string,
  sample: () => Readonly<Record<string, unknown>>,
  options: ProgressOptions = {},
): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY === true) return { stop: () => undefined, cancel: () => undefined };
  const now = options.now ?? Date.now;
  const started = now();
  const line = (extra: Readonly<Record<string, unknown>>) => {
    const elapsedSeconds = Math.round((now() - started) / 100) / 10;
    stream.write(`${JSON.stringify({ progress: command, elapsedSeconds, ...sample(), ...extra })}\n`);
  };
  const timer = setInterval(() => line({}), progressIntervalMs(options.env));
  // A progress timer must never keep a finished process alive.
  timer.unref();
  let stopped = false;
  return {
    stop: (extra = {}) => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      line({ ...extra, done: true });
    },
    cancel: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
