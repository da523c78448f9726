export function SignedOut() {
  return (
    <main id="main" className="signed-out">
      <h1>Sign in to Meterline billing</h1>
      <p>You are not signed in, or your session has ended.</p>
      {/* The customer's way first: they reach billing from their platform; the command is for running Meterline. */}
      <p>To sign in, open the “Billing” link of your platform again.</p>
      <p className="hint">
        Running Meterline yourself? Make a sign-in link with{" "}
        <code>meterline api login-link --user YOUR_USER [--org YOUR_ORG]</code>.
      </p>
    </main>
  );
}
