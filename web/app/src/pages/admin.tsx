// The admin console (admin role only; the shell loads it on demand): a sub-navigation and one
// view per area. Views that open one item (an account, a report, a domain) take it from the
// hash's query, e.g. `#/admin/users?id=…`, so such links can be shared and bookmarked.
import { StatsView } from "./admin/stats";
import { UsersView } from "./admin/users";
import { SubscriptionsView } from "./admin/subscriptions";
import { ProductsView } from "./admin/products";
import { DeliveriesView } from "./admin/deliveries";
import { ReportsView } from "./admin/reports";
import { SubscribersView } from "./admin/subscribers";
import { AuditView } from "./admin/audit";

const VIEWS: [string, string][] = [
  ["stats", "Stats"],
  ["users", "Users"],
  ["subscriptions", "Subscriptions"],
  ["products", "Products"],
  ["deliveries", "Deliveries"],
  ["reports", "Reports"],
  ["subscribers", "Subscribers"],
  ["audit", "Audit log"],
];

export default function AdminPage({ view, query }: { view: string; query: URLSearchParams }) {
  return (
    <>
      <nav aria-label="Admin" className="mb-4 overflow-x-auto">
        <ul className="flex gap-1 border-b border-slate-300 text-sm">
          {VIEWS.map(([id, name]) => (
            <li key={id}>
              <a
                href={`#/admin/${id}`}
                aria-current={view === id ? "page" : undefined}
                className="block whitespace-nowrap rounded-t border-b-2 border-transparent px-3 py-2 hover:bg-slate-100 aria-[current=page]:border-blue-700 aria-[current=page]:font-semibold aria-[current=page]:text-blue-800"
              >
                {name}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <View view={view} query={query} />
    </>
  );
}

function View({ view, query }: { view: string; query: URLSearchParams }) {
  switch (view) {
    case "stats":
      return <StatsView />;
    case "users":
      return <UsersView selected={query.get("id")} />;
    case "subscriptions":
      return <SubscriptionsView />;
    case "products":
      return <ProductsView domain={query.get("domain")} />;
    case "deliveries":
      return <DeliveriesView />;
    case "reports":
      return <ReportsView selected={query.get("id")} />;
    case "subscribers":
      return <SubscribersView />;
    case "audit":
      // A new query (a link from an account's page) starts a new search.
      return <AuditView key={query.toString()} initial={query} />;
  }
  return (
    <div>
      <h1 className="mb-2 text-2xl font-semibold">No such admin page</h1>
      <p>
        <a href="#/admin/stats" className="text-blue-700 underline">
          Go to the admin stats
        </a>
      </p>
    </div>
  );
}
