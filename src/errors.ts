/**
 * The catalogue of domain errors. Each carries a stable code; the CLI maps codes to exit
 * codes in one place (`src/cli/exit-codes.ts`) and the server maps them to HTTP statuses.
 * Expected outcomes (a blocked batch, rejected rows) are return values, not errors.
 */
export const ERROR_CODES = {
  // Configuration
  CONFIG_INVALID: "bad-input",
  CONFIG_NOT_FOUND: "bad-input",
  // CSV input
  CSV_FILE_MISSING: "bad-input",
  CSV_FILE_EMPTY: "bad-input",
  CSV_HEADER_MISSING_COLUMN: "bad-input",
  CSV_HEADER_DUPLICATE_COLUMN: "bad-input",
  CSV_RAGGED_ROW: "bad-input",
  CSV_UNTERMINATED_QUOTE: "bad-input",
  CSV_BAD_QUOTE: "bad-input",
  CSV_BAD_ENCODING: "bad-input",
  CSV_RECORD_TOO_LARGE: "bad-input",
  // Export
  EXPORT_COMMAND_FAILED: "bad-input",
  EXPORT_NO_FILE: "bad-input",
  // Prepare
  PREPARE_NO_OUTPUT: "bad-input",
  PREVIOUS_INVALID: "bad-input",
  PREVIOUS_MISSING: "bad-input",
  MODE_MISMATCH: "bad-input",
  DELTA_BAD_COMMAND: "bad-input",
  /** A primary key, unique key or association end longer than the repository indexes (1024 bytes). */
  KEY_TOO_LONG: "bad-input",
  // Synchronization
  INITIAL_NOT_EMPTY: "bad-input",
  BATCH_NOT_FOUND: "bad-input",
  BATCH_STATE: "bad-input",
  // Review and decision
  /** A preview that a later applied batch made out of date. */
  BATCH_SUPERSEDED: "bad-input",
  /** A change id or key that is not a change of the batch. */
  CHANGE_NOT_FOUND: "bad-input",
  /** A selection that matches no change of the batch. */
  SELECTION_EMPTY: "bad-input",
  /** A decision that would apply a link without the resource it needs. */
  DECISION_INCONSISTENT: "bad-input",
  /** An apply of a batch with decided and undecided changes, without saying what the rest become. */
  DECISION_INCOMPLETE: "bad-input",
  /** The connector requires a second approver, who has not decided yet. */
  SECOND_APPROVER_REQUIRED: "bad-input",
  /** A batch applied before before-images were kept. */
  UNDO_UNAVAILABLE: "bad-input",
  /** Later batches changed what an undo would bring back. */
  UNDO_CONFLICT: "bad-input",
  CONVERSION_FAILED: "bad-input",
  DELTA_UNKNOWN_KEY: "bad-input",
  BASE_MISMATCH: "bad-input",
  DATABASE_URL_INVALID: "bad-input",
  PREPARED_MANIFEST_INVALID: "bad-input",
  PREPARED_FILE_MISSING: "bad-input",
  PREPARED_FILE_CHECKSUM: "bad-input",
  PREPARED_FILE_INVALID: "bad-input",
  RESOURCE_NOT_FOUND: "bad-input",
  /** A change feed cursor behind the retention: the events after it were pruned (410). */
  CHANGES_GONE: "bad-input",
  DATABASE_SCHEMA_NEWER: "bad-input",
  /** Another process holds the SQLite file where this one needs it to itself. */
  DATABASE_BUSY: "unexpected",
  /** PostgreSQL does not answer: the connection was lost (and is made again at the next statement), or cannot be made. */
  DATABASE_UNAVAILABLE: "unexpected",
  // Native connectors (LDAP, SCIM, SQL)
  /** The managed system refused the credentials (bind, token, password). */
  CONNECTOR_AUTH_FAILED: "bad-input",
  /** The managed system did not answer: connection refused, unknown host, timeout. */
  CONNECTOR_UNREACHABLE: "bad-input",
  /** The TLS handshake failed: certificate not trusted, expired or for another host. */
  CONNECTOR_TLS_FAILED: "bad-input",
  /** The managed system refused a request: a bad base DN, filter, query, endpoint. */
  CONNECTOR_REQUEST_FAILED: "bad-input",
  /** A secret's environment variable is not set or its file cannot be read. */
  CONNECTOR_SECRET_MISSING: "bad-input",
  /** An incremental export has no state of an earlier complete export to start from. */
  CONNECTOR_STATE_MISSING: "bad-input",
  /** The incremental state is unreadable or was made with other settings. */
  CONNECTOR_STATE_INVALID: "bad-input",
  /** Another process is synchronizing the connector right now. */
  CONNECTOR_BUSY: "bad-input",
  /** A blocked batch waits for `batches validate` or `batches cancel` (exit code 3). */
  CONNECTOR_BLOCKED: "blocked",
  // Agent and server (HTTP)
  /** No, or a wrong, bearer token (401). */
  UNAUTHORIZED: "bad-input",
  /** An authenticated caller acting outside its rights: another connector, an admin operation (403). */
  FORBIDDEN: "bad-input",
  /** A change asked through a console session without the session's CSRF token (403). */
  CSRF: "bad-input",
  /** An uploaded file's name is not one a batch may hold. */
  FILE_NAME_INVALID: "bad-input",
  /** An uploaded body does not match its announced SHA-256 (truncated or corrupted). */
  FILE_CHECKSUM_MISMATCH: "bad-input",
  /** A file of that name with another content is already in the batch. */
  FILE_CONFLICT: "bad-input",
  FILE_TOO_LARGE: "bad-input",
  /** A parameter, query or JSON body the API does not accept: a schema's rule, a NUL character (400). */
  REQUEST_INVALID: "bad-input",
  /** A JSON body over the server's 1 MiB (413); files are uploaded apart, up to server.maxFileMiB. */
  BODY_TOO_LARGE: "bad-input",
  /** A body in a media type the route does not take (415). */
  UNSUPPORTED_MEDIA_TYPE: "bad-input",
  /** No route of that method and path (404). */
  NOT_FOUND: "bad-input",
  /** A path parameter longer than the server reads (414). */
  URI_TOO_LONG: "bad-input",
  /** The request line and headers are larger than the server reads (431). */
  HEADERS_TOO_LARGE: "bad-input",
  /** The request did not arrive whole in time (408). */
  REQUEST_TIMEOUT: "bad-input",
  /** Too many failed authentications from an address or for an agent id; retry after Retry-After (429). */
  RATE_LIMITED: "bad-input",
  /** The seal lists a file the server does not hold, or with another SHA-256. */
  SEAL_INCOMPLETE: "bad-input",
  /** The server cannot be reached, or kept failing, after every retry. */
  SERVER_UNREACHABLE: "unexpected",
  /** The server refused a request for a reason this agent cannot handle. */
  SERVER_REFUSED: "bad-input",
  JOB_NOT_FOUND: "bad-input",
  /** No push sink of that name in server.changeFeed.sinks. */
  SINK_NOT_FOUND: "bad-input",
  /** A sink did not take the dead letters given to it again (unreachable, refused). */
  SINK_DELIVERY_FAILED: "bad-input",
  /** A job asked to run on the server whose connector an agent runs (409). */
  JOB_REMOTE: "bad-input",
  /** The job, or another job of its connector, is running (in this or another process). */
  JOB_RUNNING: "bad-input",
  // Anything else
  INTERNAL: "unexpected",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Where in an input file a problem is; every field is 1-based. */
export interface FilePosition {
  file: string;
  line?: number;
  column?: number;
}

/** A domain error: a stable code, a message that says what is wrong and what to do. */
export class SyncupError extends Error {
  readonly code: ErrorCode;
  readonly position: FilePosition | undefined;
  /** Further problems reported with this one (configuration checks list every problem). */
  readonly details: readonly string[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; position?: FilePosition; details?: readonly string[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SyncupError";
    this.code = code;
    this.position = options.position;
    this.details = options.details ?? [];
  }
}

/** Formats a file position the way every message names one: `"ad_entries.csv" line 12, column 3`. */
export function formatPosition(position: FilePosition): string {
  let text = `"${position.file}"`;
  if (position.line !== undefined) text += ` line ${position.line}`;
  if (position.column !== undefined) text += `, column ${position.column}`;
  return text;
}
