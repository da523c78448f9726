import { useQuery } from "@tanstack/react-query";
import { manages, organizationQuery } from "../../api/billing";
import { useSession } from "../../app/SessionContext";
import { Empty, ErrorState, Loading } from "../../ui/states";
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
      ) : org.isError ? (
        <ErrorState error={org.error} onRetry={() => void org.refetch()} />
      ) : org.data.role === "member" ? (
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
        <ManagerSections org={org_id} readOnly={!manages(org.data)} />
      )}
    </>
  );
}

/** Every section for owners and admins; a viewer reads the same sections without the controls that change them. */
function ManagerSections({ org, readOnly }: { org: string; readOnly: boolean }) {
  return (
    <>
      {readOnly && (
        <p className="hint" role="note">
          Your role (viewer) reads everything here; owners and admins make the changes.
        </p>
      )}
      <MembersSection org={org} readOnly={readOnly} />
      <InvitationsSection org={org} readOnly={readOnly} />
      <SeatsSection org={org} />
      <UsageSection org={org} />
      <AiControlsSection org={org} readOnly={readOnly} />
      <AiAccessSection org={org} readOnly={readOnly} />
      <BillingSection org={org} />
      <AnalyticsSection org={org} />
      <BudgetSection account={org} readOnly={readOnly} />
      <WhiteLabelSection org={org} readOnly={readOnly} />
      <AuditSection org={org} />
    </>
  );
}
