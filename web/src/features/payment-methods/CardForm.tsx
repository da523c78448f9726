import { Elements, PaymentElement, useElements, useStripe } from "@stripe/react-stripe-js";
import { loadStripe, type Stripe } from "@stripe/stripe-js";
import { useEffect, useState } from "react";
import { ErrorState, Loading } from "../../ui/states";

// Publishable keys are public by design; a deployment builds with its own (VITE_STRIPE_PUBLISHABLE_KEY).
const PUBLISHABLE_KEY = import.meta.env.VITE_STRIPE_PUBLISHABLE_KEY ?? "pk_test_meterline_local";

type Loaded = { state: "loading" } | { state: "ready"; stripe: Stripe } | { state: "unavailable"; reason: string };

/** Stripe's Payment Element on the API's SetupIntent; says plainly when Stripe.js cannot load (no network). */
export default function CardForm({ clientSecret, onAdded }: { clientSecret: string; onAdded: () => void }) {
  const [loaded, setLoaded] = useState<Loaded>({ state: "loading" });
  useEffect(() => {
    let live = true;
    loadStripe(PUBLISHABLE_KEY).then(
      (stripe) => live && setLoaded(stripe ? { state: "ready", stripe } : { state: "unavailable", reason: "Stripe.js did not start." }),
      (e: unknown) => live && setLoaded({ state: "unavailable", reason: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, []);
  if (loaded.state === "loading") return <Loading what="Stripe's card form" />;
  if (loaded.state === "unavailable")
    return (
      <div role="alert" className="state state-error">
        <p>Card entry is unavailable: Stripe.js could not be loaded from js.stripe.com ({loaded.reason}). Check the network and try again later.</p>
      </div>
    );
  return (
    <Elements stripe={loaded.stripe} options={{ clientSecret }}>
      <Confirm onAdded={onAdded} />
    </Elements>
  );
}

function Confirm({ onAdded }: { onAdded: () => void }) {
  const stripe = useStripe();
  const elements = useElements();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      aria-label="Card details"
      onSubmit={(e) => {
        e.preventDefault();
        if (!stripe || !elements) return;
        setBusy(true);
        setError(null);
        void stripe
          .confirmSetup({ elements, redirect: "if_required", confirmParams: { return_url: window.location.href } })
          .then((result) => {
            setBusy(false);
            if (result.error) setError(result.error.message ?? "Stripe refused the card.");
            else onAdded();
          });
      }}
    >
      <PaymentElement />
      <button type="submit" className="primary" disabled={!stripe || busy}>
        Save the card
      </button>
      {error && <ErrorState error={new Error(error)} />}
    </form>
  );
}
