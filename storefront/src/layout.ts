// The page's header: navigation, the cart's count, who is signed in.

import { h, replace } from './dom';
import { LogoutDocument, type ViewerFragment } from './generated/graphql';
import { request } from './graphql';
import { accountLink, navigate } from './router';
import * as session from './session';

export function renderHeader(): void {
  const nav = document.getElementById('nav');
  if (!nav) return;
  const now = session.current();
  const user = now?.user;
  const path = location.pathname;
  const link = (href: string, label: Node | string, match: (p: string) => boolean) =>
    h('li', null, h('a', { href, 'aria-current': match(path) ? 'page' : null }, label));
  const items = [
    link('/', 'Restaurants', (p) => p === '/' || p.startsWith('/restaurants') || p === '/search'),
  ];
  if (user) {
    if (user.role === 'STAFF') items.push(link('/staff', 'Order board', (p) => p.startsWith('/staff')));
    items.push(link('/orders', 'My orders', (p) => p.startsWith('/orders')));
    const count = user.cart?.itemCount ?? 0;
    items.push(
      link(
        '/cart',
        h('span', null, 'Cart ', h('span', { class: 'count', 'data-cart-count': count }, String(count)),
          h('span', { class: 'visually-hidden' }, count === 1 ? ' item' : ' items')),
        (p) => p === '/cart' || p === '/checkout',
      ),
    );
    items.push(
      h(
        'li',
        null,
        h('button', { type: 'button', class: 'link', onclick: () => void signOut() }, `Sign out ${user.displayName}`),
      ),
    );
  } else {
    // Both keep where the visitor was, so signing in or up leads back there.
    items.push(link(accountLink('/sign-in'), 'Sign in', (p) => p === '/sign-in'));
    items.push(link(accountLink('/sign-up'), 'Create account', (p) => p === '/sign-up'));
  }
  replace(nav, h('ul', null, items));
}

/** Takes what a page read about the viewer (`me`) into the header. */
export function setViewer(me: ViewerFragment | null | undefined): void {
  if (me) session.updateUser(me);
  renderHeader();
}

/** Sets the cart count the header shows. */
export function setCartCount(count: number): void {
  const now = session.current();
  if (!now) return;
  setViewer({ ...now.user, cart: { itemCount: count } });
}

async function signOut(): Promise<void> {
  const now = session.current();
  if (now) {
    // Ending the session on the server; the page forgets it either way.
    await request(LogoutDocument, { input: { refreshToken: now.refreshToken } }).catch(() => null);
  }
  session.forget();
  navigate('/');
}

session.onChange(() => renderHeader());
document.addEventListener('bistro:rendered', () => renderHeader());
