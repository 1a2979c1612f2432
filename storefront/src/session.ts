// The signed-in session: tokens in localStorage (shared by the tabs of this
// origin), and their refresh.
//
// Refresh tokens are single use: presenting one twice ends the whole session
// (the server takes the second use for a stolen copy). So a refresh runs at
// most once at a time across every tab of the storefront (a Web Lock), and
// a tab that waited for the lock first looks whether another tab already
// refreshed: then it takes those tokens instead of spending the old one.

import type { SessionFieldsFragment, ViewerFragment } from './generated/graphql';

const STORAGE_KEY = 'bistro.session';
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000;

export interface Session {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  user: ViewerFragment;
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();

export function current(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function isSignedIn(): boolean {
  return current() !== null;
}

export function start(session: SessionFieldsFragment): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  notify();
}

/** Forgets the session here (the server's side ends with `logout`). */
export function forget(): void {
  localStorage.removeItem(STORAGE_KEY);
  notify();
}

/** Keeps the stored user up to date with what a page read (`me`). */
export function updateUser(user: ViewerFragment): void {
  const session = current();
  if (!session) return;
  session.user = user;
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function onChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  const session = current();
  for (const listener of listeners) listener(session);
}

// Another tab signed in, out, or refreshed.
window.addEventListener('storage', (event) => {
  if (event.key === STORAGE_KEY) notify();
});

export function expiresSoon(session: Session): boolean {
  return Date.parse(session.accessTokenExpiresAt) - Date.now() < REFRESH_MARGIN_MS;
}

/** Why the session ended, for the sign-in page to say. */
let endedBecause: string | null = null;

export function takeEndedReason(): string | null {
  const reason = endedBecause;
  endedBecause = null;
  return reason;
}

export function endWith(reason: string): void {
  endedBecause = reason;
  forget();
}

/** Runs `task` holding the storefront's refresh lock (across tabs where the browser has Web Locks). */
export async function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
  if ('locks' in navigator && navigator.locks) {
    return navigator.locks.request('bistro-session-refresh', task);
  }
  return task();
}
