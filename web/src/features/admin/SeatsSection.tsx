import { useQuery } from "@tanstack/react-query";
import { money } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { QueryView } from "../../ui/states";
import { seatsQuery } from "./queries";
import { useTierName } from "../../api/plans";

const STATUS: Record<string, string> = {
  active: "Active this period",
  provisioned: "Provisioned (no use yet)",
  invited: "Invited",
};

/** Each seat's status this period and what it costs under the seat price (active seats are billed). */
export function SeatsSection({ org }: { org: string }) {
  const seats = useQuery(seatsQuery(org));
  const tierName = useTierName();
  return (
    <section aria-labelledby="seats-heading">
      <h2 id="seats-heading">Seats</h2>
      <QueryView query={seats} what="the seats">
        {(data) => (
          <>
            <p>
              {data.active} active {data.active === 1 ? "person" : "people"} this period ({data.period.key},{" "}
              {tierName(data.tier)}):{" "}
              {data.seat_price === null
                ? "this plan bills no seats."
                : `${data.billed} seat${data.billed === 1 ? "" : "s"} billed so far ${
                    data.seat_basis === "provisioned"
                      ? "(the most members at once, or the contract's minimum when that is more)"
                      : "(people with any use, or the contract's minimum when that is more)"
                  } at ${money(data.seat_price, "usd")}, ${money(data.seat_charge, "usd")} in all.`}
            </p>
            <TableWrap label="Seats this period">
              <thead>
                <tr>
                  <th scope="col">Person</th>
                  <th scope="col">Role</th>
                  <th scope="col">Seat</th>
                  <th scope="col" className="num">Cost this period</th>
                </tr>
              </thead>
              <tbody>
                {data.seats.map((s) => (
                  <tr key={`${s.status}-${s.user_id}`}>
                    <th scope="row">{s.user_id}</th>
                    <td>{s.role ?? "not a member"}</td>
                    <td>{STATUS[s.status] ?? s.status}</td>
                    <td className="num">{money(s.cost, "usd")}</td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          </>
        )}
      </QueryView>
    </section>
  );
}
