/**
 * Standard output and error when their reader goes away. `syncup resources list --json | head`
 * closes the pipe after a few lines; the next write fails with EPIPE, which Node reports as an
 * 'error' event on the stream, and an 'error' event nobody listens to ends the process with a
 * stack trace. Instead, what the command would still have printed is dropped, and the command
 * ends as it would have (exit 0 when it succeeded, as for a reader that stopped on purpose). A
 * synchronization is never cut short because its report has no reader.
 */

const QUIET = new Set(["EPIPE", "ERR_STREAM_DESTROYED"]);
const watched = new WeakSet<NodeJS.WritableStream>();

/** Makes writes to `stream` after its reader closed it a no-op rather than a crash. */
export function dropWritesAfterClose(stream: NodeJS.WritableStream): void {
  if (watched.has(stream)) return;
  watched.add(stream);
  stream.on("error", (error: NodeJS.ErrnoException) => {
    // Any other failure of the output (a full disk) stays an unexpected error.
    if (!QUIET.has(error.code ?? "")) throw error;
  });
}
