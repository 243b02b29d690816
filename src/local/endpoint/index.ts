/**
 * The offline Firehose endpoint: the Firehose JSON 1.1 protocol over loopback HTTP, in front of a
 * `StreamSink` (the durable spool here; the delivery pipeline later).
 */
export { startFirehoseEndpoint, type FirehoseEndpoint, type FirehoseEndpointOptions } from "./server";
export {
  FirehoseProtocol,
  FIREHOSE_LIMITS,
  FIREHOSE_TARGET_PREFIX,
  SUPPORTED_OPERATIONS,
  type EndpointCounters,
  type FirehoseHttpRequest,
  type FirehoseHttpResponse,
  type FirehoseProtocolOptions,
} from "./protocol";
export {
  DurableSpoolSink,
  SPOOL_NO_SPACE,
  encodeSpoolFrame,
  type DurableSpoolOptions,
  type SpoolWriteChunk,
  type ReadFramesOptions,
  type ReplayOptions,
  type SpoolBatch,
  type SpoolFrame,
  type SpoolPosition,
} from "./spool";
export type { StreamSink } from "./sink";
export { LOCAL_ACCOUNT_ID, deliveryStreamArn, validateLocalStreams, type LocalDeliveryStream } from "./streams";
export type { FaultInjectionOptions } from "./faults";
export { FirehoseApiError } from "./errors";
