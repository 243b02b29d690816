/**
 * `tributary status`: what is known about one dataset's data path, and the verdict drawn from it.
 * The same model serves the offline lake (a folder and DuckDB) and a stack on AWS (CloudWatch, SQS
 * and the ledger through the Data API); only the readers differ.
 */

export type Verdict = "OK" | "LATE" | "FAILING";

export interface DatasetFacts {
  readonly dataset: string;
  readonly stream: string;
  /** When the stream last accepted a record. */
  readonly lastReceivedAt?: Date;
  /** When the last object reached the curated zone. */
  readonly lastDeliveredAt?: Date;
  /** Records in the error output, by error output type (`processing-failed`, …). */
  readonly errorRecords: Readonly<Record<string, number>>;
  /** The dataset's last warehouse load. */
  readonly lastLoad?: { readonly at: Date; readonly objects: number; readonly rows?: number };
  /** Rows in history.<dataset> now. */
  readonly historyRows?: number;
  /** Delivered objects not yet loaded (offline), and the oldest one's delivery time. */
  readonly unloadedObjects?: number;
  readonly oldestUnloadedAt?: Date;
  /** Bytes accepted but not yet delivered (the offline spool). */
  readonly undeliveredBytes?: number;
}

/** Stack-wide facts of the loader: its queue and dead-letter queue. */
export interface LoaderFacts {
  readonly queued?: number;
  readonly deadLetters?: number;
  readonly oldestQueuedSeconds?: number;
}

export interface DatasetStatus extends DatasetFacts {
  readonly verdict: Verdict;
  /** Why, and what to do: one line each. */
  readonly reasons: readonly string[];
  readonly actions: readonly string[];
}

export interface JudgeOptions {
  readonly now: Date;
  /** Nothing new for longer than this is LATE (the stack's freshness threshold). */
  readonly lateAfterSeconds: number;
  /** The command-line flags that point a command at the same lake (`--local --dir D` or `--stack S`). */
  readonly target: string;
  /** What delivers a backlog (offline: `tributary local start --dir D`). */
  readonly deliverCommand?: string;
  /** What loads delivered objects now (offline: `tributary load --local --dir D`). */
  readonly loadCommand?: string;
}

const ago = (now: Date, at: Date): number => Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));

/** Pure: the verdict for one dataset. FAILING beats LATE beats OK; every reason comes with an action. */
export function judgeDataset(facts: DatasetFacts, options: JudgeOptions): DatasetStatus {
  const failing: string[] = [];
  const late: string[] = [];
  const actions: string[] = [];
  const errors = Object.values(facts.errorRecords).reduce((s, n) => s + n, 0);
  if (errors > 0) {
    const byType = Object.entries(facts.errorRecords)
      .filter(([, n]) => n > 0)
      .map(([type, n]) => `${n} ${type}`)
      .join(", ");
    failing.push(`${errors} record(s) in the error output (${byType})`);
    actions.push(
      `fix the cause (the reason is in each error record's errorMessage), then: tributary redrive --dataset ${facts.dataset} ${options.target}`,
    );
  }
  const limit = options.lateAfterSeconds;
  if (facts.lastReceivedAt === undefined) {
    late.push("no record received yet");
    actions.push(`check the producers: agents or \`tributary ship --dataset ${facts.dataset} …\``);
  } else if (ago(options.now, facts.lastReceivedAt) > limit) {
    late.push(`no record received for ${ago(options.now, facts.lastReceivedAt)} s (threshold ${limit} s)`);
    actions.push("check the producers (agent logs, `tributary ship`), or ignore if the source is quiet");
  }
  if ((facts.undeliveredBytes ?? 0) > 0 && facts.lastReceivedAt && ago(options.now, facts.lastReceivedAt) > limit) {
    late.push(`${facts.undeliveredBytes} byte(s) accepted but not delivered`);
    if (options.deliverCommand) actions.push(`deliver them: ${options.deliverCommand}`);
  }
  if ((facts.unloadedObjects ?? 0) > 0 && facts.oldestUnloadedAt && ago(options.now, facts.oldestUnloadedAt) > limit) {
    late.push(
      `${facts.unloadedObjects} delivered object(s) not loaded, the oldest for ${ago(options.now, facts.oldestUnloadedAt)} s`,
    );
    actions.push(options.loadCommand ? `load them: ${options.loadCommand}` : "check the loader's alarms and log");
  }
  if (facts.lastDeliveredAt !== undefined && facts.lastLoad === undefined && (facts.unloadedObjects ?? 1) > 0) {
    if (!late.some((r) => r.includes("not loaded"))) {
      late.push("delivered but never loaded");
      actions.push(options.loadCommand ? `load it: ${options.loadCommand}` : "check the loader's alarms and log");
    }
  }
  const verdict: Verdict = failing.length > 0 ? "FAILING" : late.length > 0 ? "LATE" : "OK";
  return { ...facts, verdict, reasons: [...failing, ...late], actions };
}
