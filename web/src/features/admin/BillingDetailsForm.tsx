import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { updateOrganization, type Organization, type OrganizationUpdate } from "../../api/billing";
import { ErrorState } from "../../ui/states";

const blank = (v: string) => (v.trim() === "" ? null : v.trim());

/** The billing details printed on invoices: shown to every reader, editable by owners and admins (the API decides). */
export function BillingDetailsForm({ org, canEdit }: { org: Organization; canEdit: boolean }) {
  const a = org.billing_address;
  const [email, setEmail] = useState(org.billing_email ?? "");
  const [taxId, setTaxId] = useState(org.tax_id ?? "");
  const [line1, setLine1] = useState(a?.line1 ?? "");
  const [line2, setLine2] = useState(a?.line2 ?? "");
  const [city, setCity] = useState(a?.city ?? "");
  const [postal, setPostal] = useState(a?.postal_code ?? "");
  const [region, setRegion] = useState(a?.region ?? "");
  const [country, setCountry] = useState(a?.country ?? "");
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (body: OrganizationUpdate) => updateOrganization(org.id, body),
    onSuccess: (saved) => client.setQueryData(["organization", org.id], saved),
  });

  if (!canEdit)
    return (
      <dl className="facts">
        <dt>Billing email</dt>
        <dd>{org.billing_email ?? "none"}</dd>
        <dt>Tax id</dt>
        <dd>{org.tax_id ?? "none"}</dd>
        <dt>Address</dt>
        <dd>
          {a
            ? [a.line1, a.line2, [a.postal_code, a.city].filter(Boolean).join(" "), a.region, a.country]
                .filter(Boolean)
                .join(", ")
            : "none"}
        </dd>
      </dl>
    );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const address =
      blank(line1) === null && blank(city) === null && blank(country) === null
        ? null
        : {
            line1: line1.trim(),
            line2: blank(line2),
            city: city.trim(),
            postal_code: blank(postal),
            region: blank(region),
            country: country.trim().toUpperCase(),
          };
    save.mutate({ name: org.name, billing_email: blank(email), tax_id: blank(taxId), billing_address: address });
  };

  const field = (label: string, value: string, set: (v: string) => void, extra: Record<string, unknown> = {}) => (
    <label>
      {label}
      <input value={value} onChange={(e) => set(e.target.value)} {...extra} />
    </label>
  );
  return (
    <form className="billing-details" onSubmit={submit} aria-label="Billing details">
      {field("Billing email", email, setEmail, { type: "email", autoComplete: "email" })}
      {field("Tax id", taxId, setTaxId)}
      {field("Address line 1", line1, setLine1, { autoComplete: "address-line1" })}
      {field("Address line 2", line2, setLine2, { autoComplete: "address-line2" })}
      {field("City", city, setCity, { autoComplete: "address-level2" })}
      {field("Postal code", postal, setPostal, { autoComplete: "postal-code" })}
      {field("Region", region, setRegion, { autoComplete: "address-level1" })}
      {field("Country (2 letters)", country, setCountry, { autoComplete: "country", maxLength: 2 })}
      <button type="submit" disabled={save.isPending}>
        Save billing details
      </button>
      {save.isSuccess && <p role="status">Billing details saved.</p>}
      {save.isError && <ErrorState error={save.error} />}
    </form>
  );
}
