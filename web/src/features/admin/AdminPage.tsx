import { useSession } from "../../app/SessionContext";
import { Empty } from "../../ui/states";
import { AuditSection } from "./AuditSection";
import { MembersSection } from "./MembersSection";

/** The enterprise admin panel (/app/admin): the organization's people and its audit log. */
export function AdminPage() {
  const { org_id } = useSession();
  return (
    <>
      <h1>Admin</h1>
      {org_id === null ? (
        <Empty>The admin panel is for organizations: sign in to one to manage its people.</Empty>
      ) : (
        <>
          <MembersSection org={org_id} />
          <AuditSection org={org_id} />
        </>
      )}
    </>
  );
}
