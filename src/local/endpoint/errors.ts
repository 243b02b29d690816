/**
 * Firehose's error responses, as the service sends them over the JSON 1.1 protocol: an HTTP status,
 * a body `{"__type": "...", "message": "..."}` and the `x-amzn-ErrorType` header. The AWS SDKs read
 * the name after the last `#` of `__type` as the exception name (`err.name` in SDK v3).
 */
export class FirehoseApiError extends Error {
  constructor(
    /** `__type` as AWS writes it; framework errors carry Coral's namespace. */
    readonly type: string,
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = type.slice(type.lastIndexOf("#") + 1);
  }
}

const CORAL_VALIDATE = "com.amazon.coral.validate#";
const CORAL_SERVICE = "com.amazon.coral.service#";

/**
 * Model-constraint violations, worded and joined as AWS's request validator does
 * ("1 validation error detected: Value '…' at 'records' failed to satisfy constraint: …").
 */
export function validationError(violations: readonly string[]): FirehoseApiError {
  const count = violations.length;
  return new FirehoseApiError(
    `${CORAL_VALIDATE}ValidationException`,
    400,
    `${count} validation error${count === 1 ? "" : "s"} detected: ${violations.join("; ")}`,
  );
}

export function serializationError(message: string): FirehoseApiError {
  return new FirehoseApiError(`${CORAL_SERVICE}SerializationException`, 400, message);
}

export function unknownOperationError(message: string): FirehoseApiError {
  return new FirehoseApiError(`${CORAL_SERVICE}UnknownOperationException`, 400, message);
}

export function missingAuthenticationError(): FirehoseApiError {
  return new FirehoseApiError("MissingAuthenticationTokenException", 400, "Missing Authentication Token");
}

export function incompleteSignatureError(message: string): FirehoseApiError {
  return new FirehoseApiError("IncompleteSignatureException", 400, message);
}

export function resourceNotFoundError(streamName: string, accountId: string): FirehoseApiError {
  return new FirehoseApiError(
    "ResourceNotFoundException",
    400,
    `Firehose ${streamName} under account ${accountId} not found.`,
  );
}

/** What AWS answers for a PutRecordBatch whose records add up to more than 4 MiB. */
export function recordsTooLargeError(): FirehoseApiError {
  return new FirehoseApiError("InvalidArgumentException", 400, "Records size exceeds 4 MB limit");
}

/** Throttling, whole-call or per entry; "Slow down." is the message AWS sends with it. */
export const SERVICE_UNAVAILABLE = "ServiceUnavailableException";
export const SERVICE_UNAVAILABLE_MESSAGE = "Slow down.";

export function serviceUnavailableError(): FirehoseApiError {
  return new FirehoseApiError(SERVICE_UNAVAILABLE, 503, SERVICE_UNAVAILABLE_MESSAGE);
}

/** The sink could not store the records: a 500, which every AWS SDK retries. */
export function internalFailureError(message: string): FirehoseApiError {
  return new FirehoseApiError("InternalFailure", 500, message);
}
