import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useState } from "react";
import { useSession } from "../../app/SessionContext";
import { Empty, ErrorState, Loading, QueryView, READERS, isRefusal } from "../../ui/states";
import { TableWrap } from "../../ui/TableWrap";
import { describeMethod as describe, methodExpiry, paymentMethodsQuery } from "../../api/paymentMethods";
import { createSetupIntent, removeMethod, setDefault } from "./queries";

// Stripe's code is loaded only when a card is being added, so it stays out of the first load.
const CardForm = lazy(() => import("./CardForm"));

export function PaymentMethodsPage() {
  const { account_id: account } = useSession();
  const client = useQueryClient();
  const methods = useQuery(paymentMethodsQuery(account));
  const refresh = () => void client.invalidateQueries({ queryKey: ["payment-methods", account] });
  const makeDefault = useMutation({ mutationFn: (id: string) => setDefault(id, account), onSuccess: refresh });
  const remove = useMutation({ mutationFn: (id: string) => removeMethod(id, account), onSuccess: refresh });
  const intent = useMutation({ mutationFn: () => createSetupIntent(account) });
  const [added, setAdded] = useState(false);

  return (
    <>
      <h1>Payment methods</h1>
      <p className="hint">The default method pays subscriptions and invoices. Card details go to Stripe only, never to Meterline.</p>
      <QueryView query={methods} what="your payment methods" forbidden={READERS}>
        {(list) =>
          list.length === 0 ? (
            <Empty>No payment method on file yet.</Empty>
          ) : (
            <TableWrap label="Payment methods">
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Default</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.map((m) => (
                  <tr key={m.id}>
                    <th scope="row">{describe(m)}</th>
                    <td>{methodExpiry(m) ?? "—"}</td>
                    <td>{m.is_default ? <span className="badge badge-paid">Default</span> : "—"}</td>
                    <td>
                      {!m.is_default && (
                        <button type="button" aria-label={`Make default: ${describe(m)}`} disabled={makeDefault.isPending} onClick={() => makeDefault.mutate(m.id)}>
                          Make default
                        </button>
                      )}{" "}
                      <button type="button" aria-label={`Remove ${describe(m)}`} disabled={remove.isPending} onClick={() => remove.mutate(m.id)}>
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          )
        }
      </QueryView>
      {makeDefault.isError && <ErrorState error={makeDefault.error} />}
      {remove.isError && <ErrorState error={remove.error} />}

      {/* A role refused the list may not add a card either: no form it cannot use. */}
      {!isRefusal(methods.error) && (
        <section className="card add-card" aria-labelledby="add-heading">
          <h2 id="add-heading">Add a card</h2>
          {added && <p role="status">The card is saved.</p>}
          {intent.data ? (
            <Suspense fallback={<Loading what="Stripe's card form" />}>
              <CardForm
                clientSecret={intent.data.client_secret}
                onAdded={() => {
                  setAdded(true);
                  intent.reset();
                  refresh();
                }}
              />
            </Suspense>
          ) : (
            <button type="button" disabled={intent.isPending} onClick={() => { setAdded(false); intent.mutate(); }}>
              Add a card
            </button>
          )}
          {intent.isError && <ErrorState error={intent.error} />}
        </section>
      )}
    </>
  );
}
