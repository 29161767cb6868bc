import { readFile } from "node:fs/promises";
import { SyncupError } from "../errors.js";

/** Where a secret comes from: an environment variable's name or a file's path, never the value. */
export interface SecretSource {
  readonly env?: string | undefined;
  readonly file?: string | undefined;
}

/**
 * Reads a secret from the environment or a file (one trailing line break is dropped).
 * `what` names it in messages, e.g. `LDAP connection "ad": the bind password`; the value
 * itself never appears in a message.
 */
export async function readSecret(
  source: SecretSource,
  env: Readonly<Record<string, string | undefined>>,
  what: string,
): Promise<string | undefined> {
  if (source.env !== undefined) {
    const value = env[source.env];
    if (value === undefined || value === "") {
      throw new SyncupError(
        "CONNECTOR_SECRET_MISSING",
        `${what} is read from the environment variable ${source.env}, which is not set: set it in the environment of the process that runs the export.`,
      );
    }
    return value;
  }
  if (source.file !== undefined) {
    let text: string;
    try {
      text = await readFile(source.file, "utf8");
    } catch (error) {
      throw new SyncupError(
        "CONNECTOR_SECRET_MISSING",
        `${what} is read from "${source.file}", which cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}): check the path and its permissions.`,
        { cause: error },
      );
    }
    const value = text.replace(/\r?\n$/, "");
    if (value === "") {
      throw new SyncupError(
        "CONNECTOR_SECRET_MISSING",
        `${what} is read from "${source.file}", which is empty.`,
      );
    }
    return value;
  }
  return undefined;
}

/** Reads a small file that the settings name (a CA certificate), with a message that names the setting. */
export async function readSettingFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new SyncupError(
      "CONFIG_INVALID",
      `${what} "${path}" cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}): check the path and its permissions.`,
      { cause: error },
    );
  }
}
