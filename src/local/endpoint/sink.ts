/**
 * Where the endpoint hands accepted records. The endpoint acknowledges a PutRecord/PutRecordBatch
 * to its client only after `accept` resolves, so an implementation must resolve ONLY once the
 * records are durably stored (fsync'd): "acknowledged" then means "will be delivered", as on AWS.
 */
export interface StreamSink {
  /**
   * Stores one call's accepted records (in request order) for `streamName`. Rejects when they could
   * not be stored; the endpoint then answers the whole call with a retryable error, so the client
   * resends and nothing acknowledged is lost.
   */
  accept(streamName: string, records: readonly Buffer[]): Promise<void>;
}
