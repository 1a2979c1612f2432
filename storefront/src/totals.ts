// Subtotal, delivery fee and total as the lines of a receipt: the checkout,
// an order's page.

import { h } from './dom';
import { type MoneyLike, isZero, minus, money } from './format';

/**
 * The lines under an order's items: its subtotal, the fee its fulfilment
 * adds (the total's difference from the subtotal, as the API defines the
 * total; left out when there is none) and the total.
 */
export function totals(subtotal: MoneyLike, total: MoneyLike): HTMLElement {
  const fee = minus(total, subtotal);
  const row = (label: string, value: MoneyLike, attr: string, strong = false) =>
    h('div', { class: strong ? 'total' : null },
      h('dt', null, label),
      h('dd', { [attr]: value.amount }, strong ? h('strong', null, money(value)) : money(value)));
  return h('dl', { class: 'totals' },
    row('Subtotal', subtotal, 'data-subtotal'),
    isZero(fee) ? null : row('Delivery fee', fee, 'data-fee'),
    row('Total', total, 'data-total', true));
}
