/** Runs `body` with process.stdout.write captured (EMF metric lines go there); returns what was written. */
export async function capturingStdout<T>(body: () => Promise<T>): Promise<{ result: T; written: string[] }> {
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await body(), written };
  } finally {
    process.stdout.write = write;
  }
}
