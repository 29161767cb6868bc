/** The frame of every page: the navigation, who is signed in with which role, sign-out. */
import type { ComponentChildren } from "preact";
import { href } from "../router.js";
import type { SessionView } from "../types.js";

const PAGES = [
  ["", "Overview"],
  ["batches", "Batches"],
  ["resources", "Resources"],
  ["jobs", "Jobs"],
  ["orphans", "Orphans"],
] as const;

export function Layout(props: {
  readonly session: SessionView;
  readonly page: string;
  readonly onSignOut: () => void;
  readonly children: ComponentChildren;
}) {
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to the page
      </a>
      <header class="top">
        <span class="brand">syncup</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map(([path, label]) => (
              <li key={path}>
                <a href={href(path)} aria-current={props.page === path ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {props.session.id} <span class="role">({props.session.role})</span>
          </span>
          <button type="button" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}
