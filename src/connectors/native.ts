/**
 * The shape every native connector (LDAP, SCIM, SQL, …) has: one folder per connector with
 * the same files — `schema.ts` (its connection settings), `export.ts` (the export), tests —
 * and one `NativeConnector` value registered in `./index.ts`. The connection's `type` in
 * `syncup.yaml` selects it.
 */
import type { z } from "zod";
import type { Mode } from "../protocol/mode.js";

export interface NativeExportContext {
  /** The connection's name: files are named `<connection>_<table>.csv`. */
  readonly connection: string;
  readonly connector: string;
  readonly mode: Mode;
  /** A fresh folder to write `<connection>_<table>.csv` files into (UTF-8, ";", a header line; use CsvFileWriter). */
  readonly outputDir: string;
  /** A folder kept between runs for opaque cookies/watermarks of incremental exports. */
  readonly stateDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onProgress?: (table: string, done: number, total: number) => void;
  /** Diagnostic lines (never secrets). */
  readonly log?: (line: string) => void;
}

export interface NativeExportResult {
  /** Rows written per table name (without the connection prefix). */
  readonly tables: Readonly<Record<string, number>>;
  /**
   * Called by the export once every connection of the connector succeeded and the files
   * were moved into the export directory: the place to advance a watermark/cookie, so that a
   * failed export never moves it.
   */
  readonly commit?: () => Promise<void>;
}

/**
 * What the configuration reads of a native connection: its schema, its tables and its paths.
 * Each connector's `schema.ts` holds it, so that loading a configuration loads no client library.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each connector has its own settings type
export interface NativeConnection<Settings = any> {
  /** The `type` of the connection in syncup.yaml. */
  readonly type: string;
  /** A zod strictObject with `type: z.literal(<type>)`. */
  readonly schema: z.ZodType<Settings>;
  /** The table names this connection writes (the mappings' `table` is `<connection>_<table>`). */
  tables(settings: Settings): string[];
  /** Makes relative paths of the settings absolute (relative to the configuration file). */
  resolvePaths?(settings: Settings, abs: (path: string) => string): Settings;
}

/** A native connection with its export (`./<type>/index.ts`), which loads the client library. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each connector has its own settings type
export interface NativeConnector<Settings = any> extends NativeConnection<Settings> {
  export(settings: Settings, ctx: NativeExportContext): Promise<NativeExportResult>;
}
