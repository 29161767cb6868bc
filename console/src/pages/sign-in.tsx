/** Sign-in: `<name>:<token>` (a token of `server.admins`, or admin:<token>), exchanged for a session cookie. */
import { useState } from "preact/hooks";
import { ApiError, post } from "../api.js";
import type { SessionView } from "../types.js";

export function SignInPage(props: {
  readonly why?: string | undefined;
  readonly onSignedIn: (s: SessionView) => void;
}) {
  const [name, setName] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await post<SessionView>("/session", { token: `${name.trim()}:${token.trim()}` }));
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.code === "UNAUTHORIZED"
          ? "The name or the token is wrong."
          : failure instanceof Error
            ? failure.message
            : String(failure),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>Sign in to syncup</h1>
      {props.why !== undefined && (
        <p class="banner notice" role="status">
          {props.why}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label for="name">Administrator name</label>
        <input
          id="name"
          name="name"
          autoComplete="username"
          required
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        {error !== null && (
          <p class="banner error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      <p class="hint">
        An administrator of <code>server.admins</code> (or <code>admin</code> for{" "}
        <code>server.adminTokenHash</code>). Make a token with{" "}
        <code>openssl rand -hex 32 | tee admin.token | npx syncup secret hash</code> and put the hash in the
        configuration.
      </p>
    </main>
  );
}
