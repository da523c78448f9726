import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import "./admin.css";
import { brandingQuery } from "./queries";

const DEFAULT_NAME = "Meterline billing";

/** The app's name in its header: a white-label organization's own name, logo and colour (docs/white-label.md),
 * else the default. The colour becomes the app's accent while the organization is shown. */
export function BrandMark({ org }: { org: string | null }) {
  const branding = useQuery({ ...brandingQuery(org ?? ""), enabled: org !== null, retry: false });
  const brand = branding.data?.entitled ? branding.data : null;
  const colour = brand?.primary_colour ?? null;
  useEffect(() => {
    if (!colour) return;
    const root = document.documentElement;
    const before = root.style.getPropertyValue("--accent");
    root.style.setProperty("--accent", colour);
    return () => {
      if (before) root.style.setProperty("--accent", before);
      else root.style.removeProperty("--accent");
    };
  }, [colour]);
  if (!brand) return <span className="brand">{DEFAULT_NAME}</span>;
  return (
    <span className="brand">
      {brand.logo_url && <img className="brand-logo" src={brand.logo_url} alt="" height={28} />}
      {brand.display_name ?? DEFAULT_NAME}
    </span>
  );
}
