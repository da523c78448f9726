import type { RouteObject } from "react-router-dom";
import { AdminPage } from "../features/admin/AdminPage";
import { InvitationsInboxPage } from "../features/admin/InvitationsInboxPage";
import { DashboardPage } from "../features/dashboard/DashboardPage";
import { InvoiceDetailPage } from "../features/invoices/InvoiceDetailPage";
import { InvoicesPage } from "../features/invoices/InvoicesPage";
import { PaymentMethodsPage } from "../features/payment-methods/PaymentMethodsPage";
import { SubscriptionPage } from "../features/subscription/SubscriptionPage";
import { NotFound } from "./NotFound";
import { Shell } from "./Shell";

/**
 * The app's routes under /app/. A feature plugs in by adding its pages here
 * (e.g. the admin panel's under "admin"), each page living in src/features/<feature>/.
 */
export const routes: RouteObject[] = [
  {
    path: "/",
    element: <Shell />,
    children: [
      { index: true, element: <DashboardPage /> },
      { path: "invoices", element: <InvoicesPage /> },
      { path: "invoices/:invoiceId", element: <InvoiceDetailPage /> },
      { path: "plans", element: <SubscriptionPage /> },
      { path: "payment-methods", element: <PaymentMethodsPage /> },
      { path: "admin", element: <AdminPage /> },
      { path: "invitations", element: <InvitationsInboxPage /> },
      { path: "*", element: <NotFound /> },
    ],
  },
];
