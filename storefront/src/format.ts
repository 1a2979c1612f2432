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
