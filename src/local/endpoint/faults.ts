import { TributaryError } from "../../errors";
import { SeededRandom } from "../generators/prng";

/**
 * Deliberate failures, for testing producers' retry paths against the offline endpoint: a seeded
 * fraction of PutRecordBatch entries answer `ServiceUnavailableException` (the call itself
 * succeeds with `FailedPutCount` > 0, as AWS does under throttling), and the same fraction of
 * PutRecord calls fail whole with a 503.
 */
export interface FaultInjectionOptions {
  /** Fraction in [0, 1] of entries (or PutRecord calls) that fail. */
  readonly serviceUnavailableRate: number;
  /** Seed of the failure sequence; the same seed and the same calls fail the same entries. */
  readonly seed: number;
}

export class FaultInjector {
  private readonly random: SeededRandom;

  constructor(readonly options: FaultInjectionOptions) {
    const rate = options.serviceUnavailableRate;
    if (!(rate >= 0 && rate <= 1)) {
      throw new TributaryError(
        "TRIBUTARY_ENDPOINT_INVALID_FAULTS",
        `faults.serviceUnavailableRate must be a fraction between 0 and 1, got ${rate}.`,
      );
    }
    if (!Number.isInteger(options.seed)) {
      throw new TributaryError(
        "TRIBUTARY_ENDPOINT_INVALID_FAULTS",
        `faults.seed must be an integer, got ${options.seed}.`,
      );
    }
    this.random = new SeededRandom(options.seed);
  }

  /** Whether the next entry (or call) fails. */
  shouldFail(): boolean {
    return this.random.chance(this.options.serviceUnavailableRate);
  }
}
