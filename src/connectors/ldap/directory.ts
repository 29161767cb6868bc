/** The LDAP client of the export (ldapts): connection, StartTLS, bind, schema, paged searches. */
import { isIP } from "node:net";
import { Client, NoSuchObjectError, type Entry } from "ldapts";
import { SyncupError } from "../../errors.js";
import type { LdapSettings } from "./schema.js";
import { addRange, readEntry, type EntryValues } from "./entry.js";
import { parseAttributeTypes, type AttributeTypeInfo } from "./values.js";

export interface DirectoryOptions {
  readonly settings: LdapSettings;
  readonly label: string;
  readonly password: string | undefined;
  readonly ca: string | undefined;
}

export interface SearchRequest {
  readonly filter: string;
  readonly attributes: readonly string[];
  /** Attribute names (every spelling the server may answer with) to read as bytes. */
  readonly binary: readonly string[];
}

/** An open, bound connection to the directory. */
export class Directory {
  private constructor(
    private readonly client: Client,
    private readonly settings: LdapSettings,
    private readonly label: string,
  ) {}

  /** Connects (StartTLS when asked) and binds; anonymous when there is no bindDN. */
  static async open(options: DirectoryOptions): Promise<Directory> {
    const { settings } = options;
    const ms = Math.round(settings.timeoutSeconds * 1000);
    const tlsOptions = {
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      rejectUnauthorized: settings.tls?.rejectUnauthorized ?? true,
    };
    const client = new Client({
      url: settings.url,
      timeout: ms,
      connectTimeout: ms,
      strictDN: false,
      ...(/^ldaps:/i.test(settings.url) ? { tlsOptions } : {}),
    });
    try {
      if (settings.tls?.startTLS === true) {
        // ldapts does not pass the host on: without it the certificate would be checked against another name.
        const host = new URL(settings.url).hostname.replace(/^\[(.*)\]$/, "$1");
        await client.startTLS({ ...tlsOptions, host, ...(isIP(host) === 0 ? { servername: host } : {}) });
      }
      if (settings.bindDN !== undefined) await client.bind(settings.bindDN, options.password ?? "");
    } catch (error) {
      await client.unbind().catch(() => undefined);
      throw error;
    }
    return new Directory(client, settings, options.label);
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }

  /**
   * The attribute types of the directory's schema (from the subschema entry the root DSE
   * names), or undefined when it cannot be read.
   */
  async attributeTypes(): Promise<Map<string, AttributeTypeInfo> | undefined> {
    try {
      const root = await this.client.search("", {
        scope: "base",
        filter: "(objectClass=*)",
        attributes: ["subschemaSubentry"],
      });
      const subschema = valuesOf(root.searchEntries[0], "subschemaSubentry")[0];
      if (typeof subschema !== "string") return undefined;
      const schema = await this.client.search(subschema, {
        scope: "base",
        filter: "(objectClass=subschema)",
        attributes: ["attributeTypes"],
      });
      const definitions = valuesOf(schema.searchEntries[0], "attributeTypes").filter(
        (v): v is string => typeof v === "string",
      );
      return definitions.length === 0 ? undefined : parseAttributeTypes(definitions);
    } catch {
      return undefined;
    }
  }

  /** The entries under `base` matching the request, page by page, ranged attributes completed. */
  async *pages(base: string, request: SearchRequest): AsyncGenerator<EntryValues[]> {
    const pages = this.client.searchPaginated(base, {
      scope: this.settings.scope,
      filter: request.filter,
      attributes: [...request.attributes],
      explicitBufferAttributes: [...request.binary],
      paged: { pageSize: this.settings.pageSize },
    });
    try {
      for await (const page of pages) {
        const entries: EntryValues[] = [];
        for (const entry of page.searchEntries) entries.push(await this.complete(readEntry(entry), request));
        yield entries;
      }
    } catch (error) {
      throw this.searchError(error, base, request.filter);
    }
  }

  /** One entry, if it exists and matches the request's filter. */
  async entry(dn: string, request: SearchRequest): Promise<EntryValues | undefined> {
    try {
      const result = await this.client.search(dn, {
        scope: "base",
        filter: request.filter,
        attributes: [...request.attributes],
        explicitBufferAttributes: [...request.binary],
      });
      const entry = result.searchEntries[0];
      return entry === undefined ? undefined : await this.complete(readEntry(entry), request);
    } catch (error) {
      if (error instanceof NoSuchObjectError) return undefined;
      throw error;
    }
  }

  /** Fetches the further ranges of attributes the server returned in pieces (Active Directory). */
  private async complete(entry: EntryValues, request: SearchRequest): Promise<EntryValues> {
    for (const { attribute, next: first } of entry.pending) {
      let next: number | undefined = first;
      while (next !== undefined) {
        const result = await this.client.search(entry.dn, {
          scope: "base",
          filter: "(objectClass=*)",
          attributes: [`${attribute};range=${next}-*`],
          explicitBufferAttributes: [...request.binary],
        });
        const piece = result.searchEntries[0];
        next = piece === undefined ? undefined : addRange(entry, piece, attribute);
      }
    }
    entry.pending.length = 0;
    return entry;
  }

  private searchError(error: unknown, base: string, filter: string): unknown {
    if (error instanceof NoSuchObjectError) {
      return new SyncupError(
        "CONNECTOR_REQUEST_FAILED",
        `${this.label}: the base DN "${base}" does not exist on ${this.settings.url} (or the account cannot see it): check baseDNs.`,
        { cause: error },
      );
    }
    if (error instanceof Error && /filter/i.test(error.message) && !("code" in error)) {
      return new SyncupError(
        "CONNECTOR_REQUEST_FAILED",
        `${this.label}: the filter ${filter} is not a valid LDAP filter (${error.message}): check filter.`,
        { cause: error },
      );
    }
    return error;
  }
}

function valuesOf(entry: Entry | undefined, attribute: string): (string | Buffer)[] {
  if (entry === undefined) return [];
  const lower = attribute.toLowerCase();
  for (const [key, value] of Object.entries(entry)) {
    if (key.toLowerCase() !== lower) continue;
    return Array.isArray(value) ? value : [value];
  }
  return [];
}
