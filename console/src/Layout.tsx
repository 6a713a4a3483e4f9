import { useState, type ReactNode } from 'react';
import { Link, usePath } from './router';
import { useSession } from './session';

const SECTIONS = [
  { to: 'overview', label: 'Overview' },
  { to: 'gateways', label: 'AI Gateway' },
  { to: 'resources', label: 'Resources' },
  { to: 'instances', label: 'Instances' },
  { to: 'nodes', label: 'Nodes' },
  { to: 'tokens', label: 'Admin tokens' },
  { to: 'audit', label: 'Audit log' },
] as const;

/** The admin API's reference (OpenAPI 3.1), served without a token: docs/admin-api.md. */
const API_REFERENCE = '/admin/v1/openapi.json';

/** The frame of every page: brand, main navigation (a menu on narrow screens), who is signed in. */
export function Layout({ children }: { children: ReactNode }) {
  const { who, signOut } = useSession();
  const path = usePath();
  const [menuOpen, setMenuOpen] = useState(false);
  const section = path.split('/')[0] || 'gateways';
  return (
    <div className="app">
      <header className="topbar">
        <Link to="gateways" className="brand" onClick={() => setMenuOpen(false)}>
          Tollgate
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          Menu
        </button>
        <div id="main-nav" className={menuOpen ? 'nav-panel open' : 'nav-panel'}>
          <nav aria-label="Main">
            {SECTIONS.map((s) => (
              <Link key={s.to} to={s.to} aria-current={section === s.to ? 'page' : undefined} onClick={() => setMenuOpen(false)}>
                {s.label}
              </Link>
            ))}
          </nav>
          <div className="nav-external">
            <a href={API_REFERENCE} target="_blank" rel="noreferrer">
              API reference
            </a>
          </div>
          <div className="user">
            <span className="user-name" title="Signed in as">
              {who.name}
            </span>
            <span className="role">{who.role}</span>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main className="content">{children}</main>
    </div>
  );
}
