// "/checkout": fulfilment, the card, the subtotal, delivery fee and total,
// and a clear answer for every way a checkout can be refused. A refused
// checkout changes nothing: the cart stays as it was.
//
// The card: with the simulated processor, a choice of its test cards; with
// Stripe, Stripe's card field (Stripe Elements, `../stripe.ts`), whose
// PaymentMethod id is what checkout sends. A card whose bank asks its holder
// to confirm (CARD_ACTION_REQUIRED) is confirmed with Stripe.js, then the
// checkout is sent again with the same key: the server finds the payment
// it started, never a second one.

import { announce, h, replace, uid } from '../dom';
import { CartDocument, CheckoutDocument, PaymentFormDocument, type CartQuery, type Fulfilment } from '../generated/graphql';
import { FULFILMENT, isZero, minus, money } from '../format';
import { ApiError, request } from '../graphql';
import { setViewer } from '../layout';
import { apiErrorMessage, userErrorMessage } from '../messages';
import { navigate, type Page } from '../router';
import * as session from '../session';
import { totals } from '../totals';
import * as checkoutKeys from '../checkoutKeys';
import { signInFirst } from './cart';
import { mountCard, type StripeCard } from '../stripe';

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

export const checkout: Page = async () => {
  if (!session.isSignedIn()) return signInFirst('Checkout', '/checkout');
  const [data, payments] = await Promise.all([request(CartDocument, {}), request(PaymentFormDocument, {})]);
  const paymentForm = payments.paymentForm;
  const stripeForm =
    paymentForm?.processor === 'STRIPE' && paymentForm.stripeJsUrl && paymentForm.stripePublishableKey
      ? { url: paymentForm.stripeJsUrl, key: paymentForm.stripePublishableKey }
      : null;
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
  // One key for this version of the cart, sent again with every retry of
  // it, across reloads and tabs: a retry (a double click, a lost answer, a
  // reload after the server went away) never places or pays twice.
  const version = () => checkoutKeys.cartVersion(data.me?.id ?? '', cart ?? { lines: [] });
  let idempotencyKey = checkoutKeys.keyFor(version());
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
  const receipt = h('div', { 'aria-live': 'polite' });
  const deliveryLabel = h('label', null, FULFILMENT.DELIVERY);
  const summary = h('ul', { class: 'lines compact', 'aria-label': 'Your order' });
  const submit = h('button', { type: 'submit' }, 'Place order');
  const cardField = h('div', { class: 'card-field', id: uid('card-field'), 'data-stripe-card': '' });
  const cardError = h('p', { class: 'field-error', role: 'alert' });
  let stripeCard: StripeCard | null = null;

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
    const total = totalFor(cart, f);
    const subtotal = cart.subtotal;
    replace(receipt, total && subtotal ? totals(subtotal, total) : h('p', { class: 'total' }, 'Total ', h('strong', { 'data-total': '' }, money(total))));
    // What choosing delivery adds, said where it is chosen.
    const fee = cart.deliveryTotal && subtotal ? minus(cart.deliveryTotal, subtotal) : null;
    replace(deliveryLabel, FULFILMENT.DELIVERY, fee && !isZero(fee) ? ` (+${money(fee)} delivery fee)` : '');
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
        const label = f === 'DELIVERY' ? deliveryLabel : h('label', null, FULFILMENT[f]);
        label.htmlFor = id;
        return h('div', { class: 'choice' },
          h('input', { type: 'radio', id, name: 'fulfilment', value: f, checked: i === 0, onchange: update }),
          label);
      }),
      address,
      table,
    ),
    stripeForm
      ? h('fieldset', null,
          h('legend', null, 'Card'),
          h('p', { class: 'hint' }, 'Your card details go to Stripe, our payment processor; Bistro never sees them.'),
          cardField,
          cardError)
      : h('fieldset', null,
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
      receipt),
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
      let paymentToken = String(values.get('paymentToken') ?? '');
      if (stripeForm) {
        if (!stripeCard) {
          replace(status);
          replace(error, h('p', null, 'The card form is still loading. Please try again in a moment.'));
          return;
        }
        const method = await stripeCard.paymentMethod();
        if ('error' in method) {
          replace(status);
          replace(cardError, method.error);
          return;
        }
        paymentToken = method.id;
      }
      const send = () =>
        request(CheckoutDocument, {
          input: {
            fulfilment,
            paymentToken,
            idempotencyKey,
            expectedTotal: expected.amount,
            deliveryAddress: fulfilment === 'DELIVERY' ? String(values.get('deliveryAddress') ?? '') : null,
            tableNumber: fulfilment === 'DINE_IN' ? Number(values.get('tableNumber')) : null,
          },
        });
      let result = await send();
      const action = result.checkout?.cardAction;
      if (stripeCard && action) {
        // The bank's check, in Stripe's frame; then the same checkout again.
        replace(status, 'Your bank asks you to confirm the payment…');
        await stripeCard.confirm(action.clientSecret);
        replace(status, 'Placing your order…');
        result = await send();
      }
      const payload = result.checkout;
      if (payload?.order) {
        checkoutKeys.forget(version());
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
        idempotencyKey = checkoutKeys.renew(version());
      }
      if (problem.code === 'PRICE_CHANGED' || problem.code === 'OUT_OF_STOCK' || problem.code === 'ITEM_UNAVAILABLE') {
        // Show what checkout would charge now.
        const again = await request(CartDocument, {});
        cart = again.me?.cart ?? cart;
        idempotencyKey = checkoutKeys.keyFor(version());
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
  const mounted = stripeForm
    ? () => {
        mountCard(stripeForm.url, stripeForm.key, cardField, (message) => replace(cardError, message))
          .then((card) => {
            stripeCard = card;
          })
          .catch(() => replace(cardError, 'The card form could not be loaded. Please reload the page.'));
      }
    : undefined;
  return { title: 'Checkout', node: h('section', null, h('h1', null, 'Checkout'), form), mounted };
};
