/**
 * The console: the session first (GET /api/v1/session; the sign-in page when there is none or
 * it ended), then the page of the address. A request that finds the session ended brings the
 * sign-in page back with a message.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, request, setCsrfToken, whenSignedOut } from "./api.js";
import { Layout } from "./components/layout.js";
import { ErrorBanner, Loading } from "./components/feedback.js";
import { BatchPage } from "./pages/batch.js";
import { BatchesPage } from "./pages/batches.js";
import { JobsPage } from "./pages/jobs.js";
import { OrphansPage } from "./pages/orphans.js";
import { OverviewPage } from "./pages/overview.js";
import { ResourcePage } from "./pages/resource.js";
import { ResourcesPage } from "./pages/resources.js";
import { SignInPage } from "./pages/sign-in.js";
import { useRoute, type Route } from "./router.js";
import type { SessionView } from "./types.js";

type SessionState =
  { readonly kind: "loading" } | { readonly kind: "out"; readonly why?: string } | SessionView;

export function App() {
  const [session, setSession] = useState<SessionState>({ kind: "loading" });
  const route = useRoute();

  const signedIn = (view: SessionView) => {
    setCsrfToken(view.csrfToken);
    setSession(view);
  };
  useEffect(() => {
    whenSignedOut(() => {
      setCsrfToken(null);
      setSession({
        kind: "out",
        why: "Your session has ended (signed out, expired or the server restarted): sign in again.",
      });
    });
    get<SessionView>("/session").then(signedIn, (e: unknown) => {
      setSession({ kind: "out", ...(e instanceof ApiError && e.status === 401 ? {} : { why: String(e) }) });
    });
  }, []);

  if ("kind" in session) {
    if (session.kind === "loading") return <Loading what="the console" />;
    return <SignInPage why={session.why} onSignedIn={signedIn} />;
  }
  const signOut = async () => {
    try {
      await request("DELETE", "/session");
    } finally {
      setCsrfToken(null);
      setSession({ kind: "out", why: "You are signed out." });
    }
  };
  return (
    <Layout session={session} page={route.parts[0] ?? ""} onSignOut={() => void signOut()}>
      <Page route={route} session={session} />
    </Layout>
  );
}

function Page({ route, session }: { route: Route; session: SessionView }) {
  const [page, id] = route.parts;
  const approver = session.role === "approver";
  switch (page) {
    case undefined:
      return <OverviewPage />;
    case "batches":
      return id === undefined ? (
        <BatchesPage query={route.query} />
      ) : (
        <BatchPage id={id} approver={approver} />
      );
    case "resources":
      return id === undefined ? <ResourcesPage query={route.query} /> : <ResourcePage id={id} />;
    case "jobs":
      return <JobsPage approver={approver} />;
    case "orphans":
      return <OrphansPage query={route.query} />;
    default:
      return <ErrorBanner error={new Error(`There is no page "${page}": use the navigation above.`)} />;
  }
}
