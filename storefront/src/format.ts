// Display helpers: money, times, labels.

import type { Course, Dietary, Fulfilment, OrderStatus, PaymentStatus } from './generated/graphql';

export interface MoneyLike {
  amount: string;
  currencyCode: string;
}

/** "€12.50": the exact decimal string from the API, formatted for reading only. */
export function money(value: MoneyLike | null | undefined): string {
  if (!value) return '—';
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: value.currencyCode }).format(
      Number(value.amount),
    );
  } catch {
    return `${value.amount} ${value.currencyCode}`;
  }
}

/** An amount as whole units of its last decimal: "12.70" is 1270 at scale 2. */
interface Scaled {
  units: bigint;
  scale: number;
}

function scaled(amount: string): Scaled {
  const negative = amount.startsWith('-');
  const [whole = '0', fraction = ''] = amount.replace(/^[-+]/, '').split('.');
  const units = BigInt(`${whole}${fraction}` || '0');
  return { units: negative ? -units : units, scale: fraction.length };
}

function atScale(value: Scaled, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

function decimal(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/**
 * `a + b` in `a`'s currency, exact: the API's decimal strings are added as
 * integers, never as floating-point numbers.
 */
export function plus(a: MoneyLike, b: MoneyLike): MoneyLike {
  const x = scaled(a.amount);
  const y = scaled(b.amount);
  const scale = Math.max(x.scale, y.scale);
  return { amount: decimal(atScale(x, scale) + atScale(y, scale), scale), currencyCode: a.currencyCode };
}

/** `a − b`, exact (see `plus`). */
export function minus(a: MoneyLike, b: MoneyLike): MoneyLike {
  return plus(a, { amount: b.amount.startsWith('-') ? b.amount.slice(1) : `-${b.amount}`, currencyCode: b.currencyCode });
}

/** `a × count`, exact (see `plus`). */
export function times(a: MoneyLike, count: number): MoneyLike {
  const x = scaled(a.amount);
  return { amount: decimal(x.units * BigInt(Math.trunc(count)), x.scale), currencyCode: a.currencyCode };
}

/** Whether an amount is zero. */
export function isZero(value: MoneyLike): boolean {
  return scaled(value.amount).units === 0n;
}

/** "+€1.50" for an option's price change, nothing when it is free. */
export function delta(value: MoneyLike): string {
  return Number(value.amount) === 0 ? '' : ` (+${money(value)})`;
}

export function time(at: string): string {
  return new Date(at).toLocaleString('en', {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export const STATUS: Record<OrderStatus, string> = {
  PLACED: 'Placed',
  ACCEPTED: 'Accepted',
  PREPARING: 'Being prepared',
  READY: 'Ready',
  OUT_FOR_DELIVERY: 'Out for delivery',
  COMPLETED: 'Completed',
  REJECTED: 'Rejected',
  CANCELLED: 'Cancelled',
};

export const PAYMENT: Record<PaymentStatus, string> = {
  PENDING: 'Payment pending',
  AUTHORIZED: 'Card authorized',
  CAPTURED: 'Paid',
  DECLINED: 'Card declined',
  VOIDED: 'Authorization released',
  REFUNDED: 'Refunded',
  PARTIALLY_REFUNDED: 'Partly refunded',
  DISPUTED: 'Disputed with the bank',
};

export const FULFILMENT: Record<Fulfilment, string> = {
  PICKUP: 'Pickup',
  DELIVERY: 'Delivery',
  DINE_IN: 'Dine in',
};

export const COURSE: Record<Course, string> = {
  STARTER: 'Starters',
  MAIN: 'Mains',
  SIDE: 'Sides',
  DESSERT: 'Desserts',
  DRINK: 'Drinks',
};

/** Menu order of the courses. */
export const COURSE_ORDER: readonly Course[] = ['STARTER', 'MAIN', 'SIDE', 'DESSERT', 'DRINK'];

export const DIETARY: Record<Dietary, string> = {
  VEGETARIAN: 'Vegetarian',
  VEGAN: 'Vegan',
  GLUTEN_FREE: 'Gluten-free',
  DAIRY_FREE: 'Dairy-free',
  NUT_FREE: 'Nut-free',
  HALAL: 'Halal',
  SPICY: 'Spicy',
};

/** Statuses after which nothing more happens to an order. */
export function isFinished(status: OrderStatus): boolean {
  return status === 'COMPLETED' || status === 'REJECTED' || status === 'CANCELLED';
}
