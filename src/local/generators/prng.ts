/**
 * A small seeded pseudo-random source (mulberry32). Generators and the endpoint's fault injection
 * use it instead of Math.random so that a seed reproduces the same bytes and the same failures on
 * every machine and Node version: tests assert exact counts, and a user can re-run a demo.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new RangeError(`seed must be an integer, got ${seed}`);
    }
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[Math.floor(this.next() * items.length)];
  }

  /** One element, with probability proportional to its weight. */
  weighted<T>(entries: ReadonlyArray<readonly [T, number]>): T {
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [value, weight] of entries) {
      r -= weight;
      if (r < 0) return value;
    }
    return entries[entries.length - 1][0];
  }

  /**
   * A Zipf-like index in [0, n): low indexes are much more frequent, as for popular songs, items
   * and pages in real traffic.
   */
  zipf(n: number, exponent = 1.1): number {
    // Inverse-CDF of a continuous power law, clamped: cheap and close enough for demo data.
    const u = this.next();
    const x = Math.pow(n + 1, 1 - exponent);
    const value = Math.pow(u * (x - 1) + 1, 1 / (1 - exponent)) - 1;
    return Math.min(n - 1, Math.max(0, Math.floor(value)));
  }

  /** A fresh generator whose sequence depends on this one's seed and `label` only. */
  fork(label: string): SeededRandom {
    let h = this.state ^ 0x9e3779b9;
    for (let i = 0; i < label.length; i++) {
      h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
    }
    return new SeededRandom(h >>> 0);
  }
}
