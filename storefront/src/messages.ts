// What the storefront says for each `UserErrorCode`. The record is typed
// with the schema's enum: a code added to the schema fails the type check
// until it has a message here.

import type { UserErrorCode } from './generated/graphql';

export const USER_ERROR_MESSAGES: Record<UserErrorCode, string> = {
  EMAIL_INVALID: 'That is not an email address.',
  EMAIL_TOO_LONG: 'That email address is too long.',
  EMAIL_TAKEN: 'An account with this email already exists. Sign in instead?',
  PASSWORD_TOO_SHORT: 'The password needs at least 10 characters.',
  PASSWORD_TOO_LONG: 'The password may have at most 128 characters.',
  PASSWORD_TOO_WEAK: 'That password is too easy to guess; choose a longer or less common one.',
  DISPLAY_NAME_INVALID: 'Enter a name of up to 120 characters.',
  INVALID_CREDENTIALS: 'The email or the password is not right.',
  REFRESH_TOKEN_INVALID: 'Your session has ended. Please sign in again.',
  REFRESH_TOKEN_REUSED: 'Your session was ended for your safety (it was used elsewhere). Please sign in again.',
  NAME_REQUIRED: 'A name is required.',
  NAME_INVALID: 'The name is too long or has characters that are not allowed.',
  DESCRIPTION_INVALID: 'The description has characters that are not allowed.',
  DESCRIPTION_TOO_LONG: 'The description is too long.',
  PRICE_INVALID: 'The price is not a valid amount.',
  PRICE_TOO_HIGH: 'The price is too high.',
  DAILY_STOCK_INVALID: 'The daily stock is out of range.',
  ITEM_UNAVAILABLE: 'An item is not available any more. Please check your cart.',
  QUANTITY_INVALID: 'Choose between 1 and 50 of an item.',
  OPTIONS_INVALID: 'Please check the options you chose.',
  CART_OTHER_RESTAURANT: 'Your cart has items from another restaurant.',
  CART_LINE_NOT_FOUND: 'That item is no longer in your cart.',
  CART_TOO_LARGE: 'Your cart is full. Check out or remove something first.',
  CART_BUSY: 'Your cart was being changed at the same moment. Please try again.',
  CART_EMPTY: 'Your cart is empty.',
  OUT_OF_STOCK: 'Fewer are left today than your cart holds. Please reduce the quantity.',
  PRICE_CHANGED: 'Prices changed since you looked. Please check the new total and try again.',
  CARD_DECLINED: 'Your card was declined. Nothing was charged; try another card.',
  CARD_ACTION_REQUIRED: 'Your bank asks you to confirm this payment. Complete its check to place the order.',
  PAYMENT_FAILED: 'The payment could not be processed. Nothing was charged; please try again.',
  INVALID_FULFILMENT: 'Please complete the delivery address or table number.',
  IDEMPOTENCY_KEY_INVALID: 'Something went wrong with this checkout. Please try again.',
  IDEMPOTENCY_KEY_REUSED: 'Your cart changed during checkout. Please try again.',
  CHECKOUT_IN_PROGRESS: 'Your order is still being placed. Please wait a moment.',
  ORDER_NOT_FOUND: 'That order could not be found.',
  TRANSITION_NOT_ALLOWED: 'The order cannot move to that step from where it is.',
  ORDER_CHANGED: 'The order changed in the meantime. The board shows where it is now.',
  REASON_INVALID: 'The reason is too long or has characters that are not allowed.',
  RATING_INVALID: 'Choose a rating from 1 to 5.',
  REVIEW_BODY_INVALID: 'The review is too long or has characters that are not allowed.',
  REVIEW_NOT_ALLOWED: 'Reviews come after a completed order at the restaurant.',
  ALREADY_REVIEWED: 'You have already reviewed this restaurant.',
  REVIEW_NOT_FOUND: 'That review could not be found.',
};

export interface UserErrorLike {
  field?: readonly string[] | null;
  code: UserErrorCode;
  message: string;
}

/** The storefront's message for a user error. */
export function userErrorMessage(error: UserErrorLike): string {
  return USER_ERROR_MESSAGES[error.code] ?? error.message;
}

/** What the storefront says for a top-level error code of the API. */
export function apiErrorMessage(code: string | undefined): string {
  switch (code) {
    case 'RATE_LIMITED':
      return 'Too many requests at once. Please wait a minute and try again.';
    case 'STORE_UNAVAILABLE':
    case 'TIMEOUT':
      return 'Bistro is having trouble right now. Please try again shortly.';
    case 'UNAUTHENTICATED':
      return 'Please sign in to continue.';
    case 'FORBIDDEN':
      return 'Your account may not see this.';
    case 'NOT_FOUND':
      return 'That could not be found.';
    default:
      return 'Something went wrong. Please try again.';
  }
}
