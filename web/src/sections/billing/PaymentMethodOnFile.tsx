import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { describeMethod, methodExpiry, paymentMethodsQuery } from "../../api/paymentMethods";

/** The default payment method (brand, last 4, expiry) and where to change it. */
export function PaymentMethodOnFile({ account }: { account: string }) {
  const methods = useQuery(paymentMethodsQuery(account));
  const manage = <Link to="/payment-methods">Manage payment methods</Link>;
  if (methods.isPending) return <span className="hint">Loading…</span>;
  if (methods.isError) return <span className="state-error">{methods.error.message}</span>;
  const method = methods.data.find((m) => m.is_default) ?? null;
  if (method === null && methods.data.length > 0) return <>None set as default. {manage}</>;
  if (method === null) {
    return (
      <>
        None on file. <Link to="/payment-methods">Add a card</Link>
      </>
    );
  }
  const expiry = methodExpiry(method);
  return (
    <>
      {describeMethod(method)}
      {expiry ? `, expires ${expiry}` : ""}. {manage}
    </>
  );
}
