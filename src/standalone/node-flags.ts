/**
 * How the systemd unit runs the standalone shipper (infra/shipper-install.ts): V8 flags, which cannot be
 * set from inside the process (V8 sizes its heap when the isolate starts), and environment variables
 * read by glibc's allocator at startup. `bench/ship.ts --standin standalone` runs plain `node` and this
 * configuration; measured shipping 1 GB of the Apache log on 2 cores (README, "Standalone shipper"):
 *
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (libuv's file-read pool, V8's GC
 *   helpers) its own 64 MiB arena; their short peaks were the gap between the kernel's peak RSS and
 *   the highest `process.memoryUsage()` sample (125 MiB vs 91). With two arenas the peak was 86–87 MiB
 *   with the same V8 flags, and plain `node` went from 138 to 125–129 MiB.
 * - `--max-semi-space-size=8`: V8 grows the young generation to 16 MiB per semi-space under the
 *   shipper's allocation rate, and that memory stays resident. 2 MiB held the peak lowest (86 MiB) but
 *   cost 10–15% of the throughput in extra scavenges; 8 MiB peaked at 99 MiB at 93–96% of plain
 *   `node`'s rate.
 * - `--max-old-space-size=128`: with a smaller young generation, short-lived request and chunk objects
 *   are promoted; a stated limit makes V8 collect the old generation sooner. The shipper's heap holds
 *   about 10–30 MiB in use (its buffers are outside the heap), so 128 MiB leaves it ample room.
 */
export const SHIPPER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=8", "--max-old-space-size=128"];

/** Environment the unit sets for the shipper (see above). */
export const SHIPPER_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "2" };
