/** What a page says when it has nothing to show, is loading, or was refused. */
import type { ComponentChildren } from "preact";
import { ApiError } from "../api.js";

/** A refusal or failure, in the server's words, with what to do for the common ones. */
export function ErrorBanner({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  return (
    <div class="banner error" role="alert">
      <strong>{titleOf(error)}</strong> {error.message}
    </div>
  );
}

function titleOf(error: Error): string {
  if (!(error instanceof ApiError)) return "The server could not be reached.";
  switch (error.code) {
    case "BATCH_NOT_FOUND":
    case "RESOURCE_NOT_FOUND":
    case "NOT_FOUND":
      return "Not found.";
    case "FORBIDDEN":
      return "Not allowed.";
    case "BATCH_STATE":
    case "BATCH_SUPERSEDED":
      return "The batch changed meanwhile; nothing was changed.";
    case "CSRF":
      return "The page is out of date: reload it.";
    default:
      return `${error.code}:`;
  }
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="banner notice" role="status">
      {children}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

const STATE_CLASS: Record<string, string> = {
  blocked: "bad",
  failed: "bad",
  applied: "good",
  running: "busy",
  staging: "busy",
  waiting: "busy",
  sealed: "busy",
  notified: "busy",
};

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge ${STATE_CLASS[state] ?? "neutral"}`}>{state}</span>;
}
