/**
 * V8 flags the systemd unit runs the standalone shipper with (infra/shipper-install.ts); they cannot be
 * set from inside the process, V8 sizes its heap when the isolate starts. Measured shipping 200 MB
 * (`bench/ship.ts --standin standalone` runs plain node and these flags):
 *
 * - `--max-semi-space-size=2`: V8 grows the young generation to 16 MiB per semi-space under the
 *   shipper's allocation rate, and that memory stays resident (peak 130 → about 115 MiB).
 * - `--max-old-space-size=128`: with a small young generation, short-lived request and chunk objects
 *   are promoted, and the old generation grew to 40 MiB between full collections; a stated limit makes
 *   V8 collect it sooner (peak about 90–98 MiB), at the same throughput. The shipper's heap holds about
 *   10 MiB in use (its buffers are outside the heap), so 128 MiB leaves it ample room.
 */
export const SHIPPER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2", "--max-old-space-size=128"];
