import { Link } from "react-router-dom";

/** An address the app does not have (a mistyped or outdated link): said, with the way back. */
export function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no such page. <Link to="/">Go to the dashboard</Link>
      </p>
    </>
  );
}
