import { useQuery } from "@tanstack/react-query";
import { Suspense, lazy, useState } from "react";
import { date, money, quantity, timeOfDay } from "../../ui/format";
import { Empty, Loading, QueryView } from "../../ui/states";
import { bandPoints, overBudget } from "./band";
import { budgetQuery, forecastQuery, recommendationsQuery, type Forecast, type Recommendations } from "./queries";
import { useNames } from "../../api/plans";

const ForecastChart = lazy(() => import("./ForecastChart"));


const later = (a: string, b: string): boolean => new Date(a).getTime() > new Date(b).getTime();

/** What of today the forecast already counts: the hours settled, then the live (provisional) figures. */
function today(forecast: Forecast): string {
  if (!later(forecast.settled_until, forecast.as_of)) return "";
  const live = later(forecast.live_until, forecast.settled_until)
    ? `, and live figures to ${timeOfDay(forecast.live_until)}`
    : "";
  return ` Today's usage settled to ${timeOfDay(forecast.settled_until)} is in it${live}.`;
}

/** The dashboard's forecast (where this period's invoice will end, docs/forecasting.md) and the ways to
 * pay less; shown to whoever may read the account's invoices. */
export function ForecastSection({ account }: { account: string }) {
  return (
    <div className="cards">
      <ForecastCard account={account} />
      <RecommendationsCard account={account} />
    </div>
  );
}

function ForecastCard({ account }: { account: string }) {
  const forecast = useQuery(forecastQuery(account));
  return (
    <section className="card forecast" aria-labelledby="forecast-heading">
      <h2 id="forecast-heading">Forecast for this period</h2>
      <QueryView query={forecast} what="the forecast">
        {(f) => <ForecastBody account={account} forecast={f} />}
      </QueryView>
    </section>
  );
}

function ForecastBody({ account, forecast }: { account: string; forecast: Forecast }) {
  const names = useNames();
  const budget = useQuery(budgetQuery(account)).data?.amount ?? null;
  const metrics = forecast.metrics;
  const [picked, setPicked] = useState<string | null>(null);
  const metric = metrics.find((m) => m.metric === picked) ?? metrics.find((m) => m.metric === "api_calls") ?? metrics[0];
  const { total, currency } = forecast;
  return (
    <>
      <dl className="facts">
        <dt>Expected invoice</dt>
        <dd>
          <strong>{money(total.expected, currency)}</strong>
        </dd>
        <dt>80 % range</dt>
        <dd>
          {money(total.p10, currency)} – {money(total.p90, currency)}
        </dd>
        <dt>So far</dt>
        <dd>{money(total.to_date, currency)}</dd>
        {budget !== null && (
          <>
            <dt>Budget</dt>
            <dd className={overBudget(total.expected, budget) ? "state-error" : undefined}>
              {money(budget, currency)}
              {overBudget(total.expected, budget) ? " — the forecast passes it" : " — within it"}
            </dd>
          </>
        )}
      </dl>
      <p className="hint">
        From the {forecast.days_elapsed} settled day{forecast.days_elapsed === 1 ? "" : "s"} of {forecast.days_in_period} (to{" "}
        {date(forecast.as_of)}), to the period end on {date(forecast.period_end)}.
        {today(forecast)}
      </p>
      {metric === undefined ? (
        <Empty>No metered usage this period yet.</Empty>
      ) : (
        <>
          {metrics.length > 1 && (
            <label>
              Metric{" "}
              <select value={metric.metric} onChange={(e) => setPicked(e.target.value)}>
                {metrics.map((m) => (
                  <option key={m.metric} value={m.metric}>
                    {names.metric(m.metric)}
                  </option>
                ))}
              </select>
            </label>
          )}
          <Suspense fallback={<Loading what="the chart" />}>
            <ForecastChart points={bandPoints(metric, forecast.days_in_period)} metric={names.metric(metric.metric)} />
          </Suspense>
          <p>
            {names.metric(metric.metric)}: {quantity(metric.to_date)} so far, about {quantity(String(Math.round(Number(metric.expected))))} expected
            by the period end ({quantity(String(Math.round(Number(metric.p10))))} – {quantity(String(Math.round(Number(metric.p90))))}).
          </p>
        </>
      )}
    </>
  );
}

function RecommendationsCard({ account }: { account: string }) {
  const recs = useQuery(recommendationsQuery(account));
  return (
    <section className="card" aria-labelledby="recs-heading">
      <h2 id="recs-heading">Ways to pay less</h2>
      <QueryView query={recs} what="the recommendations">
        {(r) => <RecommendationList recs={r} />}
      </QueryView>
    </section>
  );
}

function RecommendationList({ recs }: { recs: Recommendations }) {
  if (recs.recommendations.length === 0)
    return <Empty>Nothing would save you {money(recs.min_saving, recs.currency)} or more: your plan fits your usage.</Empty>;
  return (
    <ul className="recommendations">
      {recs.recommendations.map((r) => (
        <li key={r.kind + r.title}>
          <strong>{r.title}</strong>
          <div>
            Saves {money(r.saving, recs.currency)} over {r.periods} period{r.periods === 1 ? "" : "s"}:{" "}
            {money(r.alternative_total, recs.currency)} instead of {money(r.current_total, recs.currency)}.
          </div>
        </li>
      ))}
    </ul>
  );
}
