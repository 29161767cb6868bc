/** Pieces of the native connectors' connection schemas and settings (zod only: loaded by the configuration). */
import { z } from "zod";

/** A table name: the file is `<connection>_<table>.csv`. */
export const tableName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "use letters, digits, '_' and '-', starting with a letter");

export const timeoutSeconds = z
  .number()
  .positive()
  .max(86_400)
  .default(30)
  .describe("Seconds to wait for a connection and for each answer of the server (default 30).");

export const retries = z
  .number()
  .int()
  .min(0)
  .max(10)
  .default(3)
  .describe(
    "Further attempts after a transient failure (connection refused or lost, timeout, busy server), with exponential backoff from 1 s (default 3).",
  );

/**
 * Reports a problem when both or (if `required`) neither of a secret's two sources are set.
 * Secrets are never written inline: they come from an environment variable or a file.
 */
export function checkSecretSources(
  value: Record<string, unknown>,
  ctx: z.core.$RefinementCtx,
  keys: { env: string; file: string; what: string; required: boolean; path?: (string | number)[] },
): void {
  const hasEnv = value[keys.env] !== undefined;
  const hasFile = value[keys.file] !== undefined;
  const path = keys.path ?? [];
  if (hasEnv && hasFile) {
    ctx.addIssue({
      code: "custom",
      path: [...path, keys.file],
      message: `set either ${keys.env} or ${keys.file} for ${keys.what}, not both`,
    });
  } else if (keys.required && !hasEnv && !hasFile) {
    ctx.addIssue({
      code: "custom",
      path,
      message: `${keys.what} is needed: set ${keys.env} (the name of an environment variable) or ${keys.file} (the path of a file holding it)`,
    });
  }
}

/** The files a connection may name besides its queries: a password file, a CA file. */
interface FileSettings {
  readonly passwordFile?: string | undefined;
  readonly tls?: { readonly caFile?: string | undefined } | undefined;
}

/** `passwordFile` and `tls.caFile` made absolute with `abs` (relative to the configuration file). */
export function absoluteFiles<Settings extends FileSettings>(
  settings: Settings,
  abs: (path: string) => string,
): Settings {
  return {
    ...settings,
    ...(settings.passwordFile === undefined ? {} : { passwordFile: abs(settings.passwordFile) }),
    ...(settings.tls?.caFile === undefined
      ? {}
      : { tls: { ...settings.tls, caFile: abs(settings.tls.caFile) } }),
  };
}
