import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type ReceiveMessageCommandOutput,
} from "@aws-sdk/client-sqs";

/**
 * Moves the loader's parked notifications from its dead-letter queue back to its queue (SQS SDK v3):
 * ReceiveMessage from the DLQ, SendMessage of the same body and attributes to the queue, and only then
 * DeleteMessage from the DLQ. A crash between send and delete leaves the message in both queues; the
 * loader's ledger skips objects it has loaded, so a notification handled twice loads nothing twice.
 */
export interface SqsPort {
  send(command: ReceiveMessageCommand | SendMessageCommand | DeleteMessageCommand): Promise<unknown>;
}

export interface DlqRedriveOptions {
  readonly deadLetterQueueUrl: string;
  readonly queueUrl: string;
  /** Seconds a received message stays invisible to others while it is moved. @default 60 */
  readonly visibilityTimeoutSeconds?: number;
  /** Stop after this many messages (a DLQ being refilled as fast as it drains must not loop forever). @default 100_000 */
  readonly maxMessages?: number;
  readonly onMoved?: (moved: number) => void;
}

/** Resolves with the number of messages moved; stops at the first empty receive. */
export async function redriveDeadLetterQueue(sqs: SqsPort, options: DlqRedriveOptions): Promise<number> {
  const max = options.maxMessages ?? 100_000;
  let moved = 0;
  while (moved < max) {
    const received = (await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        VisibilityTimeout: options.visibilityTimeoutSeconds ?? 60,
        // Long polling for a second: an empty answer then means the queue is empty, not a sampled miss.
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
      }),
    )) as ReceiveMessageCommandOutput;
    const messages = received.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: options.queueUrl,
          MessageBody: message.Body ?? "",
          ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length > 0
            ? { MessageAttributes: message.MessageAttributes as Record<string, MessageAttributeValue> }
            : {}),
        }),
      );
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: options.deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      moved++;
      options.onMoved?.(moved);
    }
  }
  return moved;
}
