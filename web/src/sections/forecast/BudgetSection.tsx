import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { money } from "../../ui/format";
import { QueryView } from "../../ui/states";
import { overBudget } from "./band";
import { budgetQuery, forecastQuery, putBudget } from "./queries";

/** The admin panel's budget card: the account's monthly budget against this period's forecast; owners and
 * admins set it (an alert email and a budget.alert webhook event when the forecast, then the invoice, passes it). */
export function BudgetSection({ account, readOnly = false }: { account: string; readOnly?: boolean }) {
  const budget = useQuery(budgetQuery(account));
  const forecast = useQuery(forecastQuery(account));
  const client = useQueryClient();
  const [amount, setAmount] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (value: string) => putBudget(account, value),
    onSuccess: (saved) => {
      setMessage(saved.amount === null ? "The budget is removed." : `Saved: ${money(saved.amount, saved.currency)} a period.`);
      setAmount("");
      void client.invalidateQueries({ queryKey: ["budget", account] });
    },
    onError: (e) => setMessage(e instanceof Error ? e.message : "The budget was not saved."),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (amount.trim()) save.mutate(amount.trim());
  };
  return (
    <section aria-labelledby="budget-heading">
      <h2 id="budget-heading">Budget</h2>
      <QueryView query={budget} what="the budget">
        {(b) => {
          const expected = forecast.data?.total.expected;
          return (
            <dl className="facts">
              <dt>Monthly budget</dt>
              <dd>{b.amount === null ? "None set" : money(b.amount, b.currency)}</dd>
              <dt>Forecast this period</dt>
              <dd className={expected !== undefined && overBudget(expected, b.amount) ? "state-error" : undefined}>
                {expected === undefined
                  ? forecast.isError
                    ? "Not available now"
                    : "Loading…"
                  : `${money(expected, b.currency)}${overBudget(expected, b.amount) ? " — passes the budget" : ""}`}
              </dd>
            </dl>
          );
        }}
      </QueryView>
      {!readOnly && (
      <form onSubmit={submit}>
        <label>
          New budget ({(budget.data?.currency ?? "usd").toUpperCase()} a period, 0 removes it){" "}
          <input
            inputMode="decimal"
            pattern="[0-9]+(\.[0-9]{1,2})?"
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            required
          />
        </label>{" "}
        <button type="submit" disabled={save.isPending}>
          Save budget
        </button>
      </form>
      )}
      <p role="status" aria-live="polite">
        {message}
      </p>
    </section>
  );
}
