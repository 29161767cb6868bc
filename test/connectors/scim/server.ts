/**
 * An in-process SCIM 2.0 service for the tests: scimmy's resource types (User with the
 * enterprise extension, Group) on scimmy-routers and express, listening on 127.0.0.1:0, with
 * an in-memory store behind scimmy's ingress/egress/degress handlers, a bearer token, and
 * switches that make it fail the next requests (to exercise retries).
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

export type Resource = Record<string, unknown> & { id: string; meta: Record<string, unknown> };

const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/** scimmy's "not found" (its typings want a scimType, which a 404 does not have). */
function notFound(id: string | undefined): Error {
  return new SCIMMY.Types.Error(404, null as unknown as string, `Resource ${id ?? ""} not found`);
}

function plain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

export class ScimTestServer {
  readonly users = new Map<string, Resource>();
  readonly groups = new Map<string, Resource>();
  /** Requests seen (method and URL), for assertions on paging and filters. */
  readonly requests: string[] = [];
  private failures: { status: number; retryAfter: string | undefined }[] = [];
  private lastStamp = 0;
  private server: Server | undefined;

  constructor(readonly token: string) {}

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/scim/v2`;
  }

  /** The next `count` requests answer `status` (with Retry-After when given). */
  failNext(count: number, status: number, retryAfter?: string): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, retryAfter });
  }

  /** A strictly increasing lastModified, so that every change has its own time. */
  private stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }

  private store(kind: "User" | "Group"): Map<string, Resource> {
    return kind === "User" ? this.users : this.groups;
  }

  private write(kind: "User" | "Group", id: string | undefined, data: Record<string, unknown>): Resource {
    const store = this.store(kind);
    const previous = id === undefined ? undefined : store.get(id);
    if (id !== undefined && previous === undefined) throw notFound(id);
    const now = this.stamp();
    const { schemas: _schemas, meta: _meta, id: _id, ...rest } = plain(data);
    const resource: Resource = {
      ...rest,
      id: id ?? randomUUID(),
      meta: { resourceType: kind, created: previous?.meta["created"] ?? now, lastModified: now },
    };
    store.set(resource.id, resource);
    return resource;
  }

  /** Deletes a user and, as directories do, removes it from the groups it was a member of. */
  deleteUser(id: string): void {
    if (!this.users.delete(id)) throw notFound(id);
    for (const group of this.groups.values()) {
      const members = (group["members"] as { value: string }[] | undefined) ?? [];
      if (members.some((m) => m.value === id)) {
        group["members"] = members.filter((m) => m.value !== id);
        group.meta = { ...group.meta, lastModified: this.stamp() };
      }
    }
  }

  /** The store behind scimmy's handlers (results cast: scimmy types them per resource type). */
  private handlers(kind: "User" | "Group") {
    return {
      ingress: (resource: { id?: string | undefined }, data: unknown) =>
        this.write(kind, resource.id, data as Record<string, unknown>) as never,
      egress: (resource: {
        id?: string | undefined;
        filter?: { match(items: unknown[]): unknown[] } | undefined;
      }) => {
        const store = this.store(kind);
        if (resource.id !== undefined) {
          const found = store.get(resource.id);
          if (found === undefined) throw notFound(resource.id);
          return found as never;
        }
        const all = [...store.values()];
        return (resource.filter === undefined ? all : resource.filter.match(all)) as never;
      },
      degress: (resource: { id?: string | undefined }) => {
        if (kind === "User") this.deleteUser(resource.id ?? "");
        else if (!this.groups.delete(resource.id ?? "")) throw notFound(resource.id);
      },
    };
  }

  async start(): Promise<void> {
    SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false));
    SCIMMY.Resources.declare(SCIMMY.Resources.Group);
    const user = this.handlers("User");
    SCIMMY.Resources.User.ingress(user.ingress).egress(user.egress).degress(user.degress);
    const group = this.handlers("Group");
    SCIMMY.Resources.Group.ingress(group.ingress).egress(group.egress).degress(group.degress);
    const app = express();
    app.use((req: Request, res: Response, next: NextFunction) => {
      this.requests.push(`${req.method} ${req.originalUrl}`);
      const failure = this.failures.shift();
      if (failure !== undefined) {
        if (failure.retryAfter !== undefined) res.setHeader("Retry-After", failure.retryAfter);
        res
          .status(failure.status)
          .json({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(failure.status) });
        return;
      }
      // Express 5 re-parses req.query on every read; scimmy-routers casts startIndex/count in place.
      Object.defineProperty(req, "query", { value: { ...req.query }, writable: true, configurable: true });
      next();
    });
    app.use(
      "/scim/v2",
      new SCIMMYRouters({
        type: "bearer",
        handler: (req: Request) => {
          if (req.header("Authorization") !== `Bearer ${this.token}`) throw new Error("Invalid bearer token");
          return "test-admin";
        },
      }),
    );
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, "127.0.0.1", () => resolve());
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server === undefined ? resolve() : this.server.close(() => resolve()),
    );
  }

  /** A request to the service as a client would make it (JSON in, JSON out). */
  async request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/scim+json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
  }

  createUser(user: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.request("POST", "/Users", {
      schemas: [USER_SCHEMA, ...(ENTERPRISE in user ? [ENTERPRISE] : [])],
      ...user,
    });
  }

  createGroup(group: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.request("POST", "/Groups", { schemas: [GROUP_SCHEMA], ...group });
  }
}
