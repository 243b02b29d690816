/**
 * V8 flags the systemd unit runs the standalone shipper with (infra/shipper-install.ts). A young
 * generation of at most 2 MiB per semi-space (V8 grows it to 16 MiB under the shipper's allocation
 * rate, and that memory stays resident) lowered the peak RSS shipping 200 MB from 130 to 111 MiB at
 * the same throughput (`bench/ship.ts --standin standalone`, which measures with and without them).
 * They cannot be set from inside the process: V8 sizes its heap when the isolate starts.
 */
export const SHIPPER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2"];
