// "/orders" and "/orders/:id": the customer's orders, their status kept
// live over the WebSocket while the page is open.

import { announce, h, replace } from '../dom';
import {
  CancelOrderDocument,
  MyOrdersDocument,
  OrderDetailDocument,
  OrderUpdatesDocument,
  type OrderFieldsFragment,
} from '../generated/graphql';
import { FULFILMENT, PAYMENT, STATUS, isFinished, money, time } from '../format';
import { request, signedIn } from '../graphql';
import { setViewer } from '../layout';
import * as live from '../live';
import { userErrorMessage } from '../messages';
import type { Page } from '../router';
import * as session from '../session';
import { totals } from '../totals';
import { signInFirst } from './cart';

/** Why the restaurant rejected the order, as it told the customer. */
function rejectionReason(order: OrderFieldsFragment): string | null {
  const event = [...(order.events ?? [])].reverse().find((e) => e.to === 'REJECTED');
  return event?.note ?? null;
}

/**
 * What the top of an order's page says: where the order is now. "Thank you"
 * only while it is placed and just checked out; a rejected order says so,
 * and what became of the payment.
 */
function headline(order: OrderFieldsFragment, justPlaced: boolean): { text: string; tone: 'good' | 'bad' } {
  const place = order.restaurant?.name ?? 'The restaurant';
  switch (order.status) {
    case 'PLACED':
      return { text: justPlaced ? 'Thank you! Your order was placed.' : `Your order was placed; ${place} will confirm it shortly.`, tone: 'good' };
    case 'ACCEPTED':
      return { text: `${place} accepted your order.`, tone: 'good' };
    case 'PREPARING':
      return { text: 'Your order is being prepared.', tone: 'good' };
    case 'READY':
      return {
        text: order.fulfilment === 'PICKUP' ? 'Your order is ready to collect.' : order.fulfilment === 'DELIVERY' ? 'Your order is ready and leaves shortly.' : 'Your order is ready and on its way to your table.',
        tone: 'good',
      };
    case 'OUT_FOR_DELIVERY':
      return { text: 'Your order is on its way.', tone: 'good' };
    case 'COMPLETED':
      return { text: 'Your order is complete. Enjoy your meal!', tone: 'good' };
    case 'REJECTED': {
      const reason = rejectionReason(order)?.trim();
      const why = reason ? `: ${/[.!?]$/.test(reason) ? reason : `${reason}.`}` : '.';
      return { text: `Sorry, ${place} could not take your order${why} ${paymentAfterwards(order)}`, tone: 'bad' };
    }
    case 'CANCELLED':
      return { text: `Your order was cancelled. ${paymentAfterwards(order)}`, tone: 'bad' };
  }
}

/** What became of the payment of an order that will not be made. */
function paymentAfterwards(order: OrderFieldsFragment): string {
  switch (order.paymentStatus) {
    case 'VOIDED':
      return 'Your card was not charged.';
    case 'REFUNDED':
      return 'Your payment was refunded.';
    case 'PARTIALLY_REFUNDED':
      return 'Part of your payment was refunded.';
    default:
      return '';
  }
}

function statusBadge(order: OrderFieldsFragment): HTMLElement {
  return h('span', { class: `status-badge s-${order.status.toLowerCase()}`, 'data-order-status': order.status }, STATUS[order.status]);
}

/** Follows every unfinished order of `orders`; `onChange` gets each new state. */
function follow(orders: OrderFieldsFragment[], onChange: (order: OrderFieldsFragment) => void, onMissed: () => void): () => void {
  const stops = orders
    .filter((o) => !isFinished(o.status))
    .map((o) =>
      live.subscribe(OrderUpdatesDocument, { orderId: o.id }, (update) => {
        const change = update.orderUpdated;
        if (change.kind === 'MISSED_UPDATES') onMissed();
        else if (change.order) onChange(change.order);
      }),
    );
  const stopResync = live.onResync(onMissed);
  return () => {
    for (const stop of stops) stop();
    stopResync();
  };
}

export const myOrders: Page = async () => {
  if (!session.isSignedIn()) return signInFirst('My orders', '/orders');
  const data = await request(MyOrdersDocument, {});
  setViewer(data.me);
  // The session ended while the page was asked for.
  if (!data.me) return signInFirst('My orders', '/orders');
  const orders = (data.me?.orders?.edges ?? []).map((e) => e.node);
  const list = h('ul', { class: 'cards', 'aria-label': 'Orders' });
  const card = (order: OrderFieldsFragment) =>
    h('li', { class: 'card order', 'data-order': order.id },
      h('h2', null, h('a', { href: `/orders/${encodeURIComponent(order.id)}` }, `Order from ${order.restaurant?.name ?? 'a restaurant'}`)),
      h('p', { class: 'meta' }, `${time(order.createdAt)} · ${FULFILMENT[order.fulfilment]} · ${money(order.total)}`),
      h('p', null, statusBadge(order)),
      h('p', { class: 'meta' }, (order.lines ?? []).map((l) => `${l.quantity} × ${l.name}`).join(', ')),
    );
  replace(list, orders.map(card));
  const stop = follow(
    orders,
    (order) => {
      list.querySelector(`[data-order="${CSS.escape(order.id)}"]`)?.replaceWith(card(order));
      announce(`Your order from ${order.restaurant?.name ?? 'the restaurant'} is now ${STATUS[order.status].toLowerCase()}.`);
    },
    () => {
      void request(MyOrdersDocument, {}).then((again) => {
        replace(list, (again.me?.orders?.edges ?? []).map((e) => card(e.node)));
      });
    },
  );
  return {
    title: 'My orders',
    node: h('section', null, h('h1', null, 'My orders'),
      orders.length ? list : h('p', null, 'No orders yet. ', h('a', { href: '/' }, 'Find something to eat'), '.')),
    dispose: stop,
  };
};

export const orderDetail: Page = async (params, query) => {
  if (!session.isSignedIn()) return signInFirst('Your order', location.pathname);
  const id = params.id ?? '';
  const data = await request(OrderDetailDocument, { id, ...signedIn() });
  setViewer(data.me);
  if (!data.me) return signInFirst('Your order', location.pathname);
  const first = data.node && 'status' in data.node ? (data.node as OrderFieldsFragment) : null;
  if (!first) {
    return { title: 'Order not found', node: h('section', null, h('h1', null, 'Order not found'), h('p', null, h('a', { href: '/orders' }, 'See your orders'))) };
  }
  const root = h('article', { class: 'order-detail' });
  const error = h('div', { class: 'error', role: 'alert' });
  const placed = query.get('placed') === '1';
  const render = (order: OrderFieldsFragment) => {
    const cancellable = order.status === 'PLACED' || order.status === 'ACCEPTED';
    replace(
      root,
      (() => {
        const { text, tone } = headline(order, placed);
        return h('p', { class: tone === 'bad' ? 'notice bad' : 'notice', 'data-headline': order.status }, text.trim());
      })(),
      h('h1', null, `Your order from ${order.restaurant?.name ?? 'the restaurant'}`),
      h('p', { class: 'now' }, 'Status: ', h('span', { 'aria-live': 'polite' }, statusBadge(order))),
      h('p', { class: 'meta' }, `${PAYMENT[order.paymentStatus]} · ${FULFILMENT[order.fulfilment]}`,
        order.tableNumber ? ` · table ${order.tableNumber}` : '', order.deliveryAddress ? ` · ${order.deliveryAddress}` : ''),
      h('ul', { class: 'lines compact', 'aria-label': 'What you ordered' },
        (order.lines ?? []).map((l) => h('li', null, `${l.quantity} × ${l.name}`,
          l.options.length ? ` (${l.options.map((o) => o.name).join(', ')})` : '', h('span', { class: 'price' }, money(l.total))))),
      totals(order.subtotal, order.total),
      h('h2', null, 'Progress'),
      h('ol', { class: 'timeline' }, (order.events ?? []).map((e) =>
        h('li', null, h('time', { datetime: e.at }, time(e.at)), ` ${STATUS[e.to]}`, e.note ? ` — ${e.note}` : ''))),
      error,
      cancellable ? h('button', { type: 'button', class: 'secondary', onclick: () => void cancel(order) }, 'Cancel order') : null,
    );
  };
  const cancel = async (order: OrderFieldsFragment) => {
    const result = await request(CancelOrderDocument, { input: { orderId: order.id } });
    const problem = result.cancelOrder?.userErrors[0];
    if (problem) replace(error, userErrorMessage(problem));
    if (result.cancelOrder?.order) render(result.cancelOrder.order);
  };
  render(first);
  const connection = h('p', { class: 'meta live', 'data-live': 'connecting', role: 'status' });
  const stopStatus = live.onStatus((connected) => {
    connection.dataset.live = connected ? 'on' : 'off';
    connection.textContent = connected ? 'Live: this page follows your order.' : 'Reconnecting live updates…';
  });
  const stopFollowing = follow(
    [first],
    (order) => {
      render(order);
      announce(`Your order is now ${STATUS[order.status].toLowerCase()}.`);
    },
    () => {
      void request(OrderDetailDocument, { id, ...signedIn() }).then((again) => {
        if (again.node && 'status' in again.node) render(again.node as OrderFieldsFragment);
      });
    },
  );
  const stop = () => {
    stopFollowing();
    stopStatus();
  };
  return { title: placed ? 'Order placed' : 'Your order', node: h('div', null, root, connection), dispose: stop };
};
