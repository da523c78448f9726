import { useSession } from "../../app/SessionContext";
import { Empty } from "../../ui/states";
import { AuditSection } from "./AuditSection";
import { MembersSection } from "./MembersSection";

/** The enterprise admin panel (/app/admin): the organization's people and its audit log. */
export function AdminPage() {
  const { organization_id: org } = useSession();
  return (
    <>
      <h1>Admin</h1>
      {org === null ? (
        <Empty>The admin panel is for organizations: sign in to one to manage its people.</Empty>
      ) : (
        <>
          <MembersSection org={org} />
          <AuditSection org={org} />
        </>
      )}
    </>
  );
}
