// "/staff": the order board of a staff member's restaurants. Open orders by
// status; new orders arrive live (one `restaurantOrders` subscription per
// restaurant over the page's one WebSocket) and move along with a click.

import { announce, h, replace, uid } from '../dom';
import {
  AdvanceOrderDocument,
  RejectOrderDocument,
  RestaurantOrdersDocument,
  StaffBoardDocument,
  type BoardOrderFragment,
  type OrderStatus,
  type StaffBoardQuery,
} from '../generated/graphql';
import { FULFILMENT, STATUS, isFinished, money, time } from '../format';
import { ApiError, request } from '../graphql';
import { setViewer } from '../layout';
import * as live from '../live';
import { apiErrorMessage, userErrorMessage } from '../messages';
import type { Page } from '../router';
import * as session from '../session';
import { signInFirst } from './cart';

type Workplace = NonNullable<NonNullable<StaffBoardQuery['me']>['worksFor']>[number];

const COLUMNS: { status: OrderStatus; title: string }[] = [
  { status: 'PLACED', title: 'New' },
  { status: 'ACCEPTED', title: 'Accepted' },
  { status: 'PREPARING', title: 'Preparing' },
  { status: 'READY', title: 'Ready' },
  { status: 'OUT_FOR_DELIVERY', title: 'Out for delivery' },
];

/** The next step the board offers for an order (the lifecycle table, README). */
function nextStep(order: BoardOrderFragment): { to: OrderStatus; label: string } | null {
  switch (order.status) {
    case 'PLACED':
      return { to: 'ACCEPTED', label: 'Accept' };
    case 'ACCEPTED':
      return { to: 'PREPARING', label: 'Start preparing' };
    case 'PREPARING':
      return { to: 'READY', label: 'Mark ready' };
    case 'READY':
      return order.fulfilment === 'DELIVERY'
        ? { to: 'OUT_FOR_DELIVERY', label: 'Send out' }
        : { to: 'COMPLETED', label: 'Complete' };
    case 'OUT_FOR_DELIVERY':
      return { to: 'COMPLETED', label: 'Complete' };
    default:
      return null;
  }
}

function ordersOf(place: Workplace): BoardOrderFragment[] {
  return [place.placed, place.accepted, place.preparing, place.ready, place.outForDelivery].flatMap(
    (connection) => connection?.edges.map((e) => e.node) ?? [],
  );
}

export const staff: Page = async (_params, query) => {
  if (!session.isSignedIn()) return signInFirst('Order board', '/staff');
  const data = await request(StaffBoardDocument, {});
  setViewer(data.me);
  // The session ended while the page was asked for.
  if (!data.me) return signInFirst('Order board', '/staff');
  const places = data.me?.worksFor ?? [];
  if (!places.length) {
    return {
      title: 'Order board',
      node: h('section', null, h('h1', null, 'Order board'),
        h('p', null, 'The order board shows the orders of the restaurants you work for; this account works for none.')),
    };
  }
  const only = query.get('restaurant');
  const shown = places.filter((p) => !only || p.slug === only);
  const orders = new Map<string, BoardOrderFragment>();
  for (const place of shown) for (const order of ordersOf(place)) orders.set(order.id, order);
  const fresh = new Set<string>();
  const board = h('div', { class: 'board' });
  const error = h('div', { class: 'error', role: 'alert' });

  const move = async (order: BoardOrderFragment, to: OrderStatus | 'REJECTED', reason?: string) => {
    replace(error);
    try {
      const result =
        to === 'REJECTED'
          ? (await request(RejectOrderDocument, { input: { orderId: order.id, reason: reason || null } })).rejectOrder
          : (await request(AdvanceOrderDocument, { input: { orderId: order.id, to } })).advanceOrder;
      const problem = result?.userErrors[0];
      if (problem) replace(error, userErrorMessage(problem));
      if (result?.order) upsert(result.order);
      if (!problem) announce(`${order.customer?.displayName ?? 'The'}'s order: ${STATUS[to === 'REJECTED' ? 'REJECTED' : to].toLowerCase()}.`);
    } catch (e) {
      replace(error, apiErrorMessage(e instanceof ApiError ? e.code : undefined));
    }
  };

  const card = (order: BoardOrderFragment): HTMLElement => {
    const who = `${order.customer?.displayName ?? 'A customer'}'s order of ${time(order.createdAt)}`;
    const step = nextStep(order);
    const reject = h('form', { class: 'reject', hidden: true });
    if (order.status === 'PLACED') {
      const reasonId = uid('reason');
      reject.append(
        h('label', { for: reasonId }, 'Reason for the customer'),
        h('input', { id: reasonId, name: 'reason', type: 'text', maxlength: 500 }),
        h('button', { type: 'submit', class: 'danger' }, 'Reject order'),
      );
      reject.addEventListener('submit', (event) => {
        event.preventDefault();
        void move(order, 'REJECTED', String(new FormData(reject).get('reason') ?? ''));
      });
    }
    return h('li', { class: fresh.has(order.id) ? 'ticket new' : 'ticket', 'data-order': order.id, 'aria-label': who },
      h('p', { class: 'who' }, h('strong', null, order.customer?.displayName ?? 'A customer'), ` · ${time(order.createdAt)}`),
      shown.length > 1 || places.length > 1 ? h('p', { class: 'meta' }, order.restaurant?.name ?? '') : null,
      h('p', { class: 'meta' }, FULFILMENT[order.fulfilment],
        order.tableNumber ? ` · table ${order.tableNumber}` : '', order.deliveryAddress ? ` · ${order.deliveryAddress}` : '',
        ` · ${money(order.total)}`),
      h('ul', { class: 'lines compact' }, (order.lines ?? []).map((l) =>
        h('li', null, `${l.quantity} × ${l.name}`, l.options.length ? ` (${l.options.map((o) => o.name).join(', ')})` : ''))),
      h('div', { class: 'actions' },
        step ? h('button', { type: 'button', 'aria-label': `${step.label}: ${who}`, onclick: () => void move(order, step.to) }, step.label) : null,
        order.status === 'PLACED'
          ? h('button', {
              type: 'button',
              class: 'secondary',
              'aria-expanded': 'false',
              'aria-label': `Reject ${who}`,
              onclick: (event: Event) => {
                reject.hidden = !reject.hidden;
                (event.currentTarget as HTMLElement).setAttribute('aria-expanded', String(!reject.hidden));
                if (!reject.hidden) (reject.querySelector('input') as HTMLInputElement).focus();
              },
            }, 'Reject…')
          : null,
      ),
      reject,
    );
  };

  const render = () => {
    replace(board, COLUMNS.map(({ status, title }) => {
      const list = [...orders.values()].filter((o) => o.status === status).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      const headingId = `column-${status}`;
      return h('section', { class: 'column', 'aria-labelledby': headingId, 'data-column': status },
        h('h2', { id: headingId }, `${title} `, h('span', { class: 'count' }, `(${list.length})`)),
        list.length ? h('ul', { class: 'tickets' }, list.map(card)) : h('p', { class: 'meta' }, 'None'));
    }));
  };

  const upsert = (order: BoardOrderFragment) => {
    const known = orders.get(order.id);
    if (isFinished(order.status)) orders.delete(order.id);
    else orders.set(order.id, order);
    if (!known && order.status === 'PLACED') {
      fresh.add(order.id);
      announce(`New order from ${order.customer?.displayName ?? 'a customer'} at ${order.restaurant?.name ?? 'your restaurant'}.`);
    }
    // Keep focus where it was when the card it was on is redrawn.
    const focused = document.activeElement?.closest('[data-order]')?.getAttribute('data-order');
    render();
    if (focused) (board.querySelector(`[data-order="${CSS.escape(focused)}"] button`) as HTMLElement | null)?.focus();
  };

  const refetch = async () => {
    const again = await request(StaffBoardDocument, {});
    orders.clear();
    for (const place of (again.me?.worksFor ?? []).filter((p) => !only || p.slug === only)) {
      for (const order of ordersOf(place)) orders.set(order.id, order);
    }
    render();
  };

  render();
  const stops = shown.map((place) =>
    live.subscribe(RestaurantOrdersDocument, { restaurantId: place.id }, (update) => {
      const change = update.restaurantOrders;
      if (change.kind === 'MISSED_UPDATES') void refetch();
      else if (change.order) upsert(change.order);
    }),
  );
  const stopResync = live.onResync(() => void refetch());
  const connection = h('p', { class: 'meta live', 'data-live': 'connecting' }, 'Connecting live updates…');
  const stopStatus = live.onStatus((connected) => {
    connection.dataset.live = connected ? 'on' : 'off';
    connection.textContent = connected ? 'Live: new orders appear here as they are placed.' : 'Reconnecting live updates…';
  });

  const filter = places.length > 1
    ? h('nav', { 'aria-label': 'Restaurants', class: 'chips' }, h('ul', null,
        h('li', null, h('a', { href: '/staff', 'aria-current': only ? null : 'page' }, 'All my restaurants')),
        places.map((p) => h('li', null, h('a', { href: `/staff?restaurant=${encodeURIComponent(p.slug)}`, 'aria-current': p.slug === only ? 'page' : null }, p.name)))))
    : null;
  return {
    title: 'Order board',
    node: h('section', { class: 'staff' },
      h('h1', null, shown.length === 1 ? `Order board: ${shown[0]?.name ?? ''}` : 'Order board'),
      filter, connection, error, board),
    dispose: () => {
      for (const stop of stops) stop();
      stopResync();
      stopStatus();
    },
  };
};
