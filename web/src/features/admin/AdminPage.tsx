import { useQuery } from "@tanstack/react-query";
import { organizationQuery } from "../../api/billing";
import { useSession } from "../../app/SessionContext";
import { Empty, Loading } from "../../ui/states";
import { AiAccessSection } from "./AiAccessSection";
import { AiControlsSection } from "./AiControlsSection";
import { AnalyticsSection } from "./AnalyticsSection";
import { AuditSection } from "./AuditSection";
import { BillingSection } from "./BillingSection";
import { BudgetSection } from "../../sections/forecast/BudgetSection";
import { InvitationsSection } from "./InvitationsSection";
import { MembersSection } from "./MembersSection";
import { SeatsSection } from "./SeatsSection";
import { UsageSection } from "./UsageSection";
import { WhiteLabelSection } from "./WhiteLabelSection";
import "./admin.css";

/** The enterprise admin panel (/app/admin): the organization's people and seats, live usage per member, its
 * billing, its AI controls and caps, and its audit log. */
export function AdminPage() {
  const { organization_id: org_id } = useSession();
  const org = useQuery({ ...organizationQuery(org_id ?? ""), enabled: org_id !== null });
  return (
    <>
      <h1>Admin</h1>
      {org_id === null ? (
        <Empty>The admin panel is for organizations: sign in to one to manage its people.</Empty>
      ) : org.isPending ? (
        // The sections wait for the caller's role: a member would otherwise glimpse each one's refusal first.
        <Loading what="your organization" />
      ) : org.data?.role === "member" ? (
        // One plain sentence for a member rather than every section's refusal in a row; their own live use (AI
        // requests, spend, caps) is the one section a member reads.
        <>
          <p>
            The admin panel is for the organization&apos;s owners, admins and viewers. Your own usage and your
            requests for AI access are on the Dashboard; your live AI use is below.
          </p>
          <UsageSection org={org_id} />
        </>
      ) : (
        <>
          <MembersSection org={org_id} />
          <InvitationsSection org={org_id} />
          <SeatsSection org={org_id} />
          <UsageSection org={org_id} />
          <AiControlsSection org={org_id} />
          <AiAccessSection org={org_id} />
          <BillingSection org={org_id} />
          <AnalyticsSection org={org_id} />
          <BudgetSection account={org_id} />
          <WhiteLabelSection org={org_id} />
          <AuditSection org={org_id} />
        </>
      )}
    </>
  );
}
