import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Empty, QueryView } from "../../ui/states";
import { brandingQuery, putBranding, type Branding, type BrandingIn } from "./queries";

type Draft = { name: string; primary: string; accent: string; sender: string; replyTo: string };

function draftOf(b: Branding): Draft {
  return {
    name: b.display_name ?? "",
    primary: b.primary_colour ?? "#1f4fd6",
    accent: b.accent_colour ?? "#8a5a00",
    sender: b.sender_name ?? "",
    replyTo: b.reply_to ?? "",
  };
}

/** A file as base64 (without the data: prefix), for the API's logo field. */
function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] ?? "");
    reader.onerror = () => reject(reader.error ?? new Error("the file could not be read"));
    reader.readAsDataURL(file);
  });
}

/** White-label: the organization's name, logo and colours on the app, its invoices and emails, and its emails'
 * sender name and reply-to — with the white-label add-on only (docs/white-label.md). */
export function WhiteLabelSection({ org, readOnly = false }: { org: string; readOnly?: boolean }) {
  const branding = useQuery(brandingQuery(org));
  const client = useQueryClient();
  const [draft, setDraft] = useState<Draft | null>(null);
  const [logo, setLogo] = useState<File | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: async (d: Draft) => {
      const body: Partial<BrandingIn> = {
        display_name: d.name.trim() || null,
        primary_colour: d.primary,
        accent_colour: d.accent,
        sender_name: d.sender.trim() || null,
        reply_to: d.replyTo.trim() || null,
      };
      if (logo) body.logo = await base64Of(logo); // absent: the logo stays as it is
      return putBranding(org, body as BrandingIn);
    },
    onSuccess: (saved) => {
      setMessage(`Saved: the app, invoices and emails now show ${saved.display_name ?? "your organization's name"}.`);
      setDraft(null);
      setLogo(null);
      client.setQueryData(["branding", org], saved);
      void client.invalidateQueries({ queryKey: ["audit", org] });
    },
    onError: (e) => setMessage(e instanceof Error ? e.message : "The branding was not saved."),
  });
  return (
    <section aria-labelledby="white-label-heading">
      <h2 id="white-label-heading">White-label</h2>
      <QueryView query={branding} what="the branding">
        {(b) => {
          if (!b.entitled) {
            return (
              <Empty>
                Your own name, logo and colours on this app, your invoices and emails come with the white-label add-on.
              </Empty>
            );
          }
          const d = draft ?? draftOf(b);
          const set = (patch: Partial<Draft>) => setDraft({ ...d, ...patch });
          const submit = (e: FormEvent) => {
            e.preventDefault();
            save.mutate(d);
          };
          return (
            <form onSubmit={submit} className="white-label">
              <fieldset disabled={readOnly} className="bare">
              <legend className="visually-hidden">Branding</legend>
              <label>
                Name shown <input value={d.name} onChange={(e) => set({ name: e.target.value })} maxLength={200} />
              </label>{" "}
              <label>
                Main colour <input type="color" value={d.primary} onChange={(e) => set({ primary: e.target.value })} />
              </label>{" "}
              <label>
                Accent colour <input type="color" value={d.accent} onChange={(e) => set({ accent: e.target.value })} />
              </label>{" "}
              <label>
                Logo (PNG or JPEG){" "}
                <input type="file" accept="image/png,image/jpeg" onChange={(e) => setLogo(e.target.files?.[0] ?? null)} />
              </label>{" "}
              <label>
                Email sender name <input value={d.sender} onChange={(e) => set({ sender: e.target.value })} maxLength={200} />
              </label>{" "}
              <label>
                Reply-to address{" "}
                <input type="email" value={d.replyTo} onChange={(e) => set({ replyTo: e.target.value })} />
              </label>{" "}
              {b.logo_url && <img src={b.logo_url} alt="Your current logo" height={32} />}{" "}
              </fieldset>
              {!readOnly && (
                <button type="submit" disabled={save.isPending}>
                  Save branding
                </button>
              )}
              <p role="status" aria-live="polite">
                {message}
              </p>
            </form>
          );
        }}
      </QueryView>
    </section>
  );
}
