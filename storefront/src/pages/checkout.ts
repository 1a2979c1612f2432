// "/checkout": fulfilment, the card, the total, and a clear answer for every
// way a checkout can be refused. A refused checkout changes nothing: the
// cart stays as it was.

import { announce, h, replace, uid } from '../dom';
import { CartDocument, CheckoutDocument, type CartQuery, type Fulfilment } from '../generated/graphql';
import { FULFILMENT, money } from '../format';
import { ApiError, request } from '../graphql';
import { setViewer } from '../layout';
import { apiErrorMessage, userErrorMessage } from '../messages';
import { navigate, type Page } from '../router';
import * as session from '../session';
import { signInFirst } from './cart';

type CartWithTotals = NonNullable<NonNullable<CartQuery['me']>['cart']>;

/** The simulated card processor's test cards (README, "Test cards"). */
const CARDS = [
  { token: 'tok_visa', label: 'Visa ending 4242 (approved)' },
  { token: 'tok_chargeDeclined', label: 'Card that is declined' },
  { token: 'tok_processingError', label: 'Card whose processor fails' },
  { token: 'tok_slow', label: 'Card approved slowly (2 seconds)' },
] as const;

function totalFor(cart: CartWithTotals, fulfilment: Fulfilment) {
  switch (fulfilment) {
    case 'PICKUP':
      return cart.pickupTotal;
    case 'DELIVERY':
      return cart.deliveryTotal;
    case 'DINE_IN':
      return cart.dineInTotal;
  }
}

function newKey(): string {
  return crypto.randomUUID();
}

export const checkout: Page = async () => {
  if (!session.isSignedIn()) return signInFirst('Checkout', '/checkout');
  const data = await request(CartDocument, {});
  setViewer(data.me);
  // The session ended while the page was asked for.
  if (!data.me) return signInFirst('Checkout', '/checkout');
  let cart = data.me?.cart;
  if (!cart || cart.lines.length === 0) {
    return {
      title: 'Checkout',
      node: h('section', null, h('h1', null, 'Checkout'), h('p', null, 'Your cart is empty. ', h('a', { href: '/' }, 'Find something to eat'), '.')),
    };
  }
  // One key for this checkout, sent again with every retry of it: a retry
  // (a double click, a lost answer) never places or pays twice.
  let idempotencyKey = newKey();
  const error = h('div', { class: 'error', role: 'alert', id: 'checkout-error' });
  const status = h('p', { role: 'status', class: 'status' });
  const fulfilments: Fulfilment[] = ['PICKUP', 'DELIVERY', 'DINE_IN'];
  const addressId = uid('address');
  const tableId = uid('table');
  const address = h('div', { class: 'field', hidden: true },
    h('label', { for: addressId }, 'Delivery address'),
    h('textarea', { id: addressId, name: 'deliveryAddress', rows: 2, autocomplete: 'street-address', maxlength: 300 }));
  const table = h('div', { class: 'field', hidden: true },
    h('label', { for: tableId }, 'Table number'),
    h('input', { id: tableId, name: 'tableNumber', type: 'number', min: 1, max: 9999, inputmode: 'numeric' }));
  const totalText = h('strong', { 'data-total': '' });
  const summary = h('ul', { class: 'lines compact', 'aria-label': 'Your order' });
  const submit = h('button', { type: 'submit' }, 'Place order');

  const chosen = (): Fulfilment => {
    const value = new FormData(form).get('fulfilment');
    return fulfilments.includes(value as Fulfilment) ? (value as Fulfilment) : 'PICKUP';
  };
  const update = () => {
    if (!cart) return;
    const f = chosen();
    address.hidden = f !== 'DELIVERY';
    table.hidden = f !== 'DINE_IN';
    (address.querySelector('textarea') as HTMLTextAreaElement).required = f === 'DELIVERY';
    (table.querySelector('input') as HTMLInputElement).required = f === 'DINE_IN';
    replace(totalText, money(totalFor(cart, f)));
    replace(summary, cart.lines.map((line) =>
      h('li', null, `${line.quantity} × ${line.menuItem?.name ?? 'item'}`,
        line.options?.length ? ` (${line.options.map((o) => o.name).join(', ')})` : '',
        h('span', { class: 'price' }, money(line.lineTotal)))));
  };

  const form: HTMLFormElement = h(
    'form',
    { class: 'checkout', 'aria-describedby': 'checkout-error', novalidate: false },
    h('fieldset', null,
      h('legend', null, 'How would you like your order?'),
      fulfilments.map((f, i) => {
        const id = uid('fulfilment');
        return h('div', { class: 'choice' },
          h('input', { type: 'radio', id, name: 'fulfilment', value: f, checked: i === 0, onchange: update }),
          h('label', { for: id }, f === 'DELIVERY' ? `${FULFILMENT[f]} (delivery fee added)` : FULFILMENT[f]));
      }),
      address,
      table,
    ),
    h('fieldset', null,
      h('legend', null, 'Pay with (test cards: no real money moves)'),
      CARDS.map((card, i) => {
        const id = uid('card');
        return h('div', { class: 'choice' },
          h('input', { type: 'radio', id, name: 'paymentToken', value: card.token, checked: i === 0 }),
          h('label', { for: id }, card.label, ' ', h('code', null, card.token)));
      }),
    ),
    h('section', { 'aria-labelledby': 'summary-title', class: 'summary' },
      h('h2', { id: 'summary-title' }, cart.restaurant ? `Your order from ${cart.restaurant.name}` : 'Your order'),
      summary,
      h('p', { class: 'total' }, 'Total ', totalText)),
    error,
    status,
    submit,
  );

  const place = async () => {
    if (!cart) return;
    const values = new FormData(form);
    const fulfilment = chosen();
    const expected = totalFor(cart, fulfilment);
    if (!expected) return;
    replace(error);
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    replace(status, 'Placing your order…');
    try {
      const result = await request(CheckoutDocument, {
        input: {
          fulfilment,
          paymentToken: String(values.get('paymentToken') ?? ''),
          idempotencyKey,
          expectedTotal: expected.amount,
          deliveryAddress: fulfilment === 'DELIVERY' ? String(values.get('deliveryAddress') ?? '') : null,
          tableNumber: fulfilment === 'DINE_IN' ? Number(values.get('tableNumber')) : null,
        },
      });
      const payload = result.checkout;
      if (payload?.order) {
        replace(status, 'Order placed.');
        navigate(`/orders/${encodeURIComponent(payload.order.id)}?placed=1`);
        return;
      }
      const problem = payload?.userErrors[0];
      replace(status);
      if (!problem) {
        replace(error, apiErrorMessage(undefined));
        return;
      }
      if (problem.code === 'IDEMPOTENCY_KEY_REUSED' || problem.code === 'IDEMPOTENCY_KEY_INVALID') {
        idempotencyKey = newKey();
      }
      if (problem.code === 'PRICE_CHANGED' || problem.code === 'OUT_OF_STOCK' || problem.code === 'ITEM_UNAVAILABLE') {
        // Show what checkout would charge now.
        const again = await request(CartDocument, {});
        cart = again.me?.cart ?? cart;
        update();
      }
      replace(error, h('p', { 'data-code': problem.code }, userErrorMessage(problem)));
      announce(userErrorMessage(problem));
      if (problem.code === 'INVALID_FULFILMENT') {
        (form.querySelector(fulfilment === 'DELIVERY' ? 'textarea' : `#${tableId}`) as HTMLElement | null)?.focus();
      }
    } catch (e) {
      replace(status);
      replace(error, e instanceof ApiError ? e.message && e.code === 'NETWORK' ? e.message : apiErrorMessage(e.code) : apiErrorMessage(undefined));
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void place();
  });
  update();
  return { title: 'Checkout', node: h('section', null, h('h1', null, 'Checkout'), form) };
};
