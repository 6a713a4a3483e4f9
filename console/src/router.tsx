import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** A minimal history router under the app's base path (/console/): enough for a handful of pages. */

const BASE = import.meta.env.BASE_URL.replace(/\/$/, '');
const NAVIGATE_EVENT = 'tollgate:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

const snapshot = () => window.location.pathname;

/** The current path below the base, without leading or trailing slashes: "gateways/gw1/limits". */
export function usePath(): string {
  const pathname = useSyncExternalStore(subscribe, snapshot);
  const inside = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  return inside.replace(/^\/+|\/+$/g, '');
}

/** The URL of an app path, e.g. href("gateways/gw1") → "/console/gateways/gw1". */
export const href = (path: string) => `${BASE}/${path.replace(/^\/+/, '')}`;

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const url = href(path);
  if (url === window.location.pathname) return;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  window.scrollTo?.(0, 0);
}

export interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  to: string;
}

/** An ordinary link (opens in a new tab with a modifier key) that navigates in-app on a plain click. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={href(to)} onClick={handle} {...rest} />;
}
