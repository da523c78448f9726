import { useQuery } from "@tanstack/react-query";
import { dateTime, money, quantity, unitPrice } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { usageBreakdownQuery } from "./queries";
import { useNames } from "../../api/plans";

/** This period's settled AI requests by provider and model, and premium feature uses with their charges. */
export function Breakdown({ account }: { account: string }) {
  const names = useNames();
  const breakdown = useQuery(usageBreakdownQuery(account));
  return (
    <>
      <section className="card" aria-labelledby="ai-heading">
        <h2 id="ai-heading">AI usage by provider and model</h2>
        <QueryView query={breakdown} what="AI usage">
          {(b) => (
            <>
              <Settled until={b.settled_until} />
              {b.ai.length === 0 ? (
                <Empty>No AI requests settled this period yet.</Empty>
              ) : (
                <TableWrap label="AI requests by provider and model">
                  <thead>
                    <tr>
                      <th scope="col">Provider</th>
                      <th scope="col">Model</th>
                      <th scope="col" className="num">Requests</th>
                      <th scope="col" className="num">Input tokens</th>
                      <th scope="col" className="num">Output tokens</th>
                      <th scope="col" className="num">Charge</th>
                    </tr>
                  </thead>
                  <tbody>
                    {b.ai.map((a) => (
                      <tr key={`${a.provider}/${a.model}`}>
                        <th scope="row">{a.provider}</th>
                        <td>{a.model}</td>
                        <td className="num">{quantity(a.requests)}</td>
                        <td className="num">{quantity(String(a.input_tokens))}</td>
                        <td className="num">{quantity(String(a.output_tokens))}</td>
                        <td className="num">{money(a.charge, b.currency)}</td>
                      </tr>
                    ))}
                  </tbody>
                </TableWrap>
              )}
            </>
          )}
        </QueryView>
      </section>
      <section className="card" aria-labelledby="premium-heading">
        <h2 id="premium-heading">Premium features</h2>
        <QueryView query={breakdown} what="premium feature uses">
          {(b) =>
            b.premium_features.length === 0 ? (
              <Empty>No premium feature uses settled this period yet.</Empty>
            ) : (
              <TableWrap label="Premium feature uses">
                <thead>
                  <tr>
                    <th scope="col">Feature</th>
                    <th scope="col" className="num">Uses</th>
                    <th scope="col" className="num">Price per use</th>
                    <th scope="col" className="num">Charge</th>
                  </tr>
                </thead>
                <tbody>
                  {b.premium_features.map((f) => (
                    <tr key={f.feature}>
                      <th scope="row">{names.feature(f.feature)}</th>
                      <td className="num">{quantity(f.uses)}</td>
                      <td className="num">{f.unit_price === null ? "Not in your plan" : unitPrice(f.unit_price, b.currency)}</td>
                      <td className="num">{money(f.charge, b.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </TableWrap>
            )
          }
        </QueryView>
      </section>
    </>
  );
}

function Settled({ until }: { until: string | null }) {
  return (
    <p className="hint">
      {until ? `Settled up to ${dateTime(until)}; newer use shows once it is settled.` : "Nothing is settled yet this period."}
    </p>
  );
}
