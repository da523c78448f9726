export function SignedOut() {
  return (
    <main id="main" className="signed-out">
      <h1>Sign in to Meterline billing</h1>
      <p>
        You are not signed in, or your session has ended. Open a sign-in link: locally, make one with{" "}
        <code>meterline api login-link --user YOUR_USER [--org YOUR_ORG]</code>; on the host platform, use its
        “Billing” link.
      </p>
    </main>
  );
}
