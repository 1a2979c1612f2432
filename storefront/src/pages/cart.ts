// "/cart": the cart's lines, their quantities, the subtotal.

import { announce, h, replace } from '../dom';
import {
  CartDocument,
  RemoveCartLineDocument,
  UpdateCartLineDocument,
  type CartFieldsFragment,
} from '../generated/graphql';
import { delta, money } from '../format';
import { request } from '../graphql';
import { setCartCount, setViewer } from '../layout';
import { userErrorMessage } from '../messages';
import { accountLink, type Page, type View } from '../router';
import * as session from '../session';

export function signInFirst(what: string, next: string): View {
  return {
    title: 'Sign in',
    node: h('section', null,
      h('h1', null, what),
      h('p', null, h('a', { href: accountLink('/sign-in', next) }, 'Sign in'), ' or ',
        h('a', { href: accountLink('/sign-up', next) }, 'create an account'), ' to order.')),
  };
}

function lineLabel(line: CartFieldsFragment['lines'][number]): string {
  return line.menuItem?.name ?? 'An item no longer on the menu';
}

export const cart: Page = async () => {
  if (!session.isSignedIn()) return signInFirst('Your cart', '/cart');
  const data = await request(CartDocument, {});
  setViewer(data.me);
  // The session ended while the page was asked for.
  if (!data.me) return signInFirst('Your cart', '/cart');
  const root = h('section', null);
  const error = h('div', { class: 'error', role: 'alert' });

  const render = (current: CartFieldsFragment | null | undefined) => {
    setCartCount(current?.itemCount ?? 0);
    if (!current || current.lines.length === 0) {
      replace(root, h('h1', null, 'Your cart'), h('p', null, 'Your cart is empty. ', h('a', { href: '/' }, 'Find something to eat'), '.'));
      return;
    }
    const change = async (lineId: string, quantity: number, name: string) => {
      const result =
        quantity === 0
          ? (await request(RemoveCartLineDocument, { input: { lineId } })).removeCartLine
          : (await request(UpdateCartLineDocument, { input: { lineId, quantity } })).updateCartLine;
      const problem = result?.userErrors[0];
      if (problem) {
        replace(error, userErrorMessage(problem));
        return;
      }
      render(result?.cart);
      announce(quantity === 0 ? `Removed ${name}.` : `${name}: ${quantity}.`);
    };
    replace(
      root,
      h('h1', null, 'Your cart'),
      current.restaurant
        ? h('p', null, 'From ', h('a', { href: `/restaurants/${encodeURIComponent(current.restaurant.slug)}` }, current.restaurant.name))
        : null,
      error,
      h('ul', { class: 'lines', 'aria-label': 'Cart lines' },
        current.lines.map((line) => {
          const name = lineLabel(line);
          return h('li', { class: 'line', 'data-line': line.id },
            h('div', null,
              h('p', { class: 'name' }, name),
              line.options?.length ? h('p', { class: 'meta' }, line.options.map((o) => `${o.name}${delta(o.priceDelta)}`).join(', ')) : null),
            h('div', { class: 'stepper', role: 'group', 'aria-label': `Quantity of ${name}` },
              h('button', { type: 'button', 'aria-label': `One fewer ${name}`, onclick: () => void change(line.id, line.quantity - 1, name) }, '−'),
              h('span', { class: 'quantity', 'data-quantity': line.quantity }, String(line.quantity)),
              h('button', { type: 'button', 'aria-label': `One more ${name}`, disabled: line.quantity >= 50, onclick: () => void change(line.id, line.quantity + 1, name) }, '+'),
            ),
            h('p', { class: 'price' }, money(line.lineTotal)),
            h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${name}`, onclick: () => void change(line.id, 0, name) }, 'Remove'),
          );
        })),
      h('p', { class: 'total' }, 'Subtotal ', h('strong', null, money(current.subtotal))),
      h('p', null, h('a', { class: 'button', href: '/checkout' }, 'Go to checkout')),
    );
  };
  render(data.me?.cart);
  return { title: 'Your cart', node: root };
};
