// Printed by `npm start` after the quickstart's run: where the admin console is and how to sign in.
const lines = [
  "",
  "The admin console: start the server on the same repository,",
  "  npx syncup server --config examples/quickstart/syncup.yaml",
  "then open http://127.0.0.1:8080/ and sign in as demo with the token quickstart-demo-token",
  "(the quickstart's example approver; make your own token with",
  "  openssl rand -hex 32 | tee admin.token | npx syncup secret hash",
  "and put the hash under server.admins.<name>.tokenHash, with role viewer or approver).",
];
console.log(lines.join("\n"));
