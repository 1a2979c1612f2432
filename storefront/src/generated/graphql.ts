/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** Adds an item to the viewer's cart. */
export type AddToCartInput = {
  /** The menu item. */
  menuItemId: string | number;
  /** The options chosen (`MenuOption.id`), fitting the item's option groups. */
  optionIds?: Array<string | number>;
  /** How many (1 to 50 on one line). */
  quantity?: number;
  /**
   * If the cart holds another restaurant's items: `true` empties it first;
   * `false` refuses with `CART_OTHER_RESTAURANT`.
   */
  replaceCart?: boolean;
};

/** Moves an order along its lifecycle. */
export type AdvanceOrderInput = {
  /** The order. */
  orderId: string | number;
  /**
   * The status to move it to (`ACCEPTED`, `PREPARING`, `READY`,
   * `OUT_FOR_DELIVERY`, `COMPLETED`, or `CANCELLED`), as the lifecycle allows.
   */
  to: OrderStatus;
};

/** Cancels one's own order. */
export type CancelOrderInput = {
  /** The order. */
  orderId: string | number;
};

/** Turns the viewer's cart into an order and pays for it. */
export type CheckoutInput = {
  /** The address, for `DELIVERY` only. */
  deliveryAddress?: string | null | undefined;
  /**
   * The total the customer was shown (subtotal plus any delivery fee), in
   * the restaurant's currency. If prices changed since, nothing happens
   * and `PRICE_CHANGED` gives the new total.
   */
  expectedTotal: string;
  /** How the order reaches the customer. */
  fulfilment: Fulfilment;
  /**
   * A key the client makes up for this checkout (letters, digits, `-`,
   * `_`; at most 100) and sends again with every retry of it: retries
   * return the same order and never pay twice. A key is spent only by an
   * order: after a refusal (a declined card, a changed price), retry with
   * the same key once the problem is fixed.
   */
  idempotencyKey: string;
  /**
   * The card, as a token from the payment form, never a card number: with
   * Stripe, the PaymentMethod id (`pm_…`) Stripe.js made in the browser;
   * with the simulated processor, `tok_visa`, `tok_chargeDeclined`,
   * `tok_processingError` or `tok_slow`.
   */
  paymentToken: string;
  /** The table, for `DINE_IN` only. */
  tableNumber?: number | null | undefined;
};

/** Which part of a meal a menu item is. */
export type Course =
  /** Served last, usually sweet. */
  | 'DESSERT'
  /** Something to drink. */
  | 'DRINK'
  /** The main dish. */
  | 'MAIN'
  /** Served alongside a main. */
  | 'SIDE'
  /** Served first. */
  | 'STARTER';

/** A dietary property of a menu item. */
export type Dietary =
  /** No dairy. */
  | 'DAIRY_FREE'
  /** No gluten-containing ingredients. */
  | 'GLUTEN_FREE'
  /** Prepared to halal rules. */
  | 'HALAL'
  /** No nuts. */
  | 'NUT_FREE'
  /** Hot. */
  | 'SPICY'
  /** No animal products. */
  | 'VEGAN'
  /** No meat or fish. */
  | 'VEGETARIAN';

/** How an order reaches the customer. */
export type Fulfilment =
  /** Brought to an address. */
  | 'DELIVERY'
  /** Served at a table. */
  | 'DINE_IN'
  /** Collected at the counter. */
  | 'PICKUP';

/** What a live message says. */
export type LiveUpdateKind =
  /** Something changed; the other fields say what. */
  | 'CHANGE'
  /**
   * Updates may have been missed just before this message (the server's
   * event bus came back after an outage, or this client read too slowly
   * and its oldest updates were dropped): refetch what you show. Every
   * other field of the message is null.
   */
  | 'MISSED_UPDATES';

/** Credentials. */
export type LoginInput = {
  /** Sign-in email (case-insensitive). */
  email: string;
  /** Password. */
  password: string;
};

/** Which session to end. */
export type LogoutInput = {
  /**
   * The session's refresh token. Optional when the request is signed in:
   * then the session of its access token ends.
   */
  refreshToken?: string | null | undefined;
};

/** Who made a status change. */
export type OrderActor =
  /** The customer who placed the order. */
  | 'CUSTOMER'
  /** The restaurant (its staff, or an administrator acting for it). */
  | 'RESTAURANT'
  /** Bistro itself. */
  | 'SYSTEM';

/** Where an order is in its lifecycle. */
export type OrderStatus =
  /** Accepted by the restaurant. */
  | 'ACCEPTED'
  /** Cancelled before preparation. */
  | 'CANCELLED'
  /** Handed over. */
  | 'COMPLETED'
  /** On its way to the customer. */
  | 'OUT_FOR_DELIVERY'
  /** Placed by the customer, waiting for the restaurant. */
  | 'PLACED'
  /** Being prepared. */
  | 'PREPARING'
  /** Ready for pickup, delivery or the table. */
  | 'READY'
  /** Refused by the restaurant. */
  | 'REJECTED';

/** The payment processor checkout pays through. */
export type PaymentProcessor =
  /**
   * The built-in simulated card processor: no real money moves; pay with
   * its test tokens (`tok_visa`, `tok_chargeDeclined`, …).
   */
  | 'SIMULATED'
  /**
   * Stripe: take the card with Stripe Elements and pay with the
   * PaymentMethod id Stripe.js makes.
   */
  | 'STRIPE';

/** Where an order's money stands (independent of its status). */
export type PaymentStatus =
  /** Funds reserved. */
  | 'AUTHORIZED'
  /** Funds taken. */
  | 'CAPTURED'
  /** Refused by the processor. */
  | 'DECLINED'
  /**
   * Captured, and disputed by the card holder with their bank, which
   * holds the money until the dispute ends.
   */
  | 'DISPUTED'
  /** Captured, and part of it given back (from the payment processor's dashboard). */
  | 'PARTIALLY_REFUNDED'
  /** Waiting for the payment processor. */
  | 'PENDING'
  /** Given back after capture. */
  | 'REFUNDED'
  /** Reserved funds released before capture (the order was rejected or cancelled in time). */
  | 'VOIDED';

/** A refresh token to exchange. */
export type RefreshSessionInput = {
  /** The refresh token from `login`, `register` or the last `refreshSession`. */
  refreshToken: string;
};

/** A new account. */
export type RegisterInput = {
  /** Public name shown with reviews (1 to 120 characters). */
  displayName: string;
  /** Sign-in email; stored lower-case. */
  email: string;
  /** At least 10 characters, at most 128; not a common password. */
  password: string;
};

/** Refuses an order that was just placed. */
export type RejectOrderInput = {
  /** The order. */
  orderId: string | number;
  /** Why, for the customer (at most 500 characters). */
  reason?: string | null | undefined;
};

/** Removes a cart line. */
export type RemoveCartLineInput = {
  /** The line (`CartLine.id`). */
  lineId: string | number;
};

/** What an account may do. */
export type Role =
  /** Operates the platform: sees and manages everything. */
  | 'ADMIN'
  /** Orders food; sees their own orders. */
  | 'CUSTOMER'
  /** Works for one or more restaurants: sees their orders, manages their menus. */
  | 'STAFF';

/** Changes how many of a cart line. */
export type UpdateCartLineInput = {
  /** The line (`CartLine.id`). */
  lineId: string | number;
  /** The new quantity (1 to 50; remove the line with `removeCartLine`). */
  quantity: number;
};

/** Why a mutation did not do what was asked, machine-readable. */
export type UserErrorCode =
  /** The customer has reviewed this restaurant already. */
  | 'ALREADY_REVIEWED'
  /**
   * The card's bank asks its holder to confirm the payment (3-D Secure):
   * complete the challenge with `cardAction.clientSecret` (Stripe.js),
   * then check out again with the same idempotency key. The cart's
   * limited stock stays held meanwhile (15 minutes by default).
   */
  | 'CARD_ACTION_REQUIRED'
  /** The card was declined; nothing was charged. */
  | 'CARD_DECLINED'
  /** Another request was changing the cart at the same time; try again. */
  | 'CART_BUSY'
  /** There is nothing in the cart to check out. */
  | 'CART_EMPTY'
  /** The cart has no line with this id. */
  | 'CART_LINE_NOT_FOUND'
  /** The cart holds another restaurant's items (add with `replaceCart: true` to start over). */
  | 'CART_OTHER_RESTAURANT'
  /** The cart has as many lines as it may hold. */
  | 'CART_TOO_LARGE'
  /** A checkout with this idempotency key is still running; retry shortly. */
  | 'CHECKOUT_IN_PROGRESS'
  /** The daily stock is out of range. */
  | 'DAILY_STOCK_INVALID'
  /** The description has invisible or control characters. */
  | 'DESCRIPTION_INVALID'
  /** The description is longer than allowed. */
  | 'DESCRIPTION_TOO_LONG'
  /** The display name is empty, too long, or has invisible or control characters. */
  | 'DISPLAY_NAME_INVALID'
  /** The email address is not one. */
  | 'EMAIL_INVALID'
  /** An account with this email already exists. */
  | 'EMAIL_TAKEN'
  /** The email address is longer than allowed. */
  | 'EMAIL_TOO_LONG'
  /** The idempotency key is empty, too long, or has characters other than letters, digits, `-` and `_`. */
  | 'IDEMPOTENCY_KEY_INVALID'
  /** The idempotency key was used for a different checkout (another cart or input). */
  | 'IDEMPOTENCY_KEY_REUSED'
  /** The email or the password is not right. */
  | 'INVALID_CREDENTIALS'
  /**
   * The fulfilment's details are missing or out of place (a delivery
   * needs an address, dining in a table number, pickup neither).
   */
  | 'INVALID_FULFILMENT'
  /**
   * The item cannot be ordered now: it does not exist, is switched off,
   * or (at checkout) its options no longer fit it.
   */
  | 'ITEM_UNAVAILABLE'
  /** The name is too long or has invisible or control characters. */
  | 'NAME_INVALID'
  /** A name is required. */
  | 'NAME_REQUIRED'
  /** The options chosen are not the item's, or too few or too many of a group. */
  | 'OPTIONS_INVALID'
  /** The order changed while the move was being made; it did not move. */
  | 'ORDER_CHANGED'
  /** No order has this id (or the viewer may not see it: the same answer). */
  | 'ORDER_NOT_FOUND'
  /** Fewer units of an item are left today than the cart holds. */
  | 'OUT_OF_STOCK'
  /** The password is longer than 128 characters. */
  | 'PASSWORD_TOO_LONG'
  /** The password is shorter than 10 characters. */
  | 'PASSWORD_TOO_SHORT'
  /** The password is common, repetitive or made from the email. */
  | 'PASSWORD_TOO_WEAK'
  /**
   * The payment could not be made (a processor error, or it refused a
   * capture or refund); nothing was charged or the order did not move.
   */
  | 'PAYMENT_FAILED'
  /** The total is not the `expectedTotal` the customer saw; nothing was ordered. */
  | 'PRICE_CHANGED'
  /** The price is not an amount in the restaurant's currency. */
  | 'PRICE_INVALID'
  /** The price is beyond any plausible price. */
  | 'PRICE_TOO_HIGH'
  /** A cart line's quantity would not be 1 to 50. */
  | 'QUANTITY_INVALID'
  /** A rating is from 1 to 5. */
  | 'RATING_INVALID'
  /** The reason is too long or has invisible or control characters. */
  | 'REASON_INVALID'
  /** The refresh token is malformed, expired, or of a session that has ended. */
  | 'REFRESH_TOKEN_INVALID'
  /** The refresh token was used before, so its session was ended for safety. */
  | 'REFRESH_TOKEN_REUSED'
  /** The review text is too long or has invisible or control characters. */
  | 'REVIEW_BODY_INVALID'
  /** Reviews come after a completed order at the restaurant. */
  | 'REVIEW_NOT_ALLOWED'
  /** No review has this id. */
  | 'REVIEW_NOT_FOUND'
  /** The order's lifecycle does not allow this move from its status. */
  | 'TRANSITION_NOT_ALLOWED';

/** Days of the week. */
export type Weekday =
  /** Friday. */
  | 'FRI'
  /** Monday. */
  | 'MON'
  /** Saturday. */
  | 'SAT'
  /** Sunday. */
  | 'SUN'
  /** Thursday. */
  | 'THU'
  /** Tuesday. */
  | 'TUE'
  /** Wednesday. */
  | 'WED';

export type AddToCartMutationVariables = Exact<{
  input: AddToCartInput;
}>;


export type AddToCartMutation = { addToCart: { cart: { itemCount: number, restaurant: { id: string, slug: string, name: string } | null, subtotal: { amount: string, currencyCode: string } | null, lines: Array<{ id: string, quantity: number, menuItem: { id: string, name: string } | null, options: Array<{ id: string, group: string, name: string, priceDelta: { amount: string, currencyCode: string } }> | null, lineTotal: { amount: string, currencyCode: string } | null }> } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type AdvanceOrderMutationVariables = Exact<{
  input: AdvanceOrderInput;
}>;


export type AdvanceOrderMutation = { advanceOrder: { order: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type CancelOrderMutationVariables = Exact<{
  input: CancelOrderInput;
}>;


export type CancelOrderMutation = { cancelOrder: { order: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, subtotal: { amount: string, currencyCode: string }, total: { amount: string, currencyCode: string }, restaurant: { id: string, slug: string, name: string } | null, lines: Array<{ name: string, quantity: number, total: { amount: string, currencyCode: string }, options: Array<{ group: string, name: string }> }> | null, events: Array<{ from: OrderStatus | null, to: OrderStatus, at: string, by: OrderActor, note: string | null }> | null } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type CartQueryVariables = Exact<{ [key: string]: never; }>;


export type CartQuery = { me: { id: string, displayName: string, role: Role | null, cart: { itemCount: number, pickupTotal: { amount: string, currencyCode: string } | null, deliveryTotal: { amount: string, currencyCode: string } | null, dineInTotal: { amount: string, currencyCode: string } | null, restaurant: { id: string, slug: string, name: string } | null, subtotal: { amount: string, currencyCode: string } | null, lines: Array<{ id: string, quantity: number, menuItem: { id: string, name: string } | null, options: Array<{ id: string, group: string, name: string, priceDelta: { amount: string, currencyCode: string } }> | null, lineTotal: { amount: string, currencyCode: string } | null }> } | null } | null };

export type CheckoutMutationVariables = Exact<{
  input: CheckoutInput;
}>;


export type CheckoutMutation = { checkout: { order: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, subtotal: { amount: string, currencyCode: string }, total: { amount: string, currencyCode: string }, restaurant: { id: string, slug: string, name: string } | null, lines: Array<{ name: string, quantity: number, total: { amount: string, currencyCode: string }, options: Array<{ group: string, name: string }> }> | null, events: Array<{ from: OrderStatus | null, to: OrderStatus, at: string, by: OrderActor, note: string | null }> | null } | null, cardAction: { clientSecret: string } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type HomeQueryVariables = Exact<{
  cuisine?: string | null | undefined;
  after?: string | null | undefined;
  signedIn: boolean;
}>;


export type HomeQuery = { cuisines: Array<{ name: string, restaurantCount: number }> | null, restaurants: { nodes: Array<{ id: string, slug: string, name: string, cuisine: string, description: string, address: string, rating: { average: number | null, count: number } | null }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null, me?: { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null } | null };

export type LoginMutationVariables = Exact<{
  input: LoginInput;
}>;


export type LoginMutation = { login: { session: { accessToken: string, accessTokenExpiresAt: string, refreshToken: string, user: { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null } } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type LogoutMutationVariables = Exact<{
  input: LogoutInput;
}>;


export type LogoutMutation = { logout: { loggedOut: boolean, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type MenuAvailabilitySubscriptionVariables = Exact<{
  restaurantId: string | number;
}>;


export type MenuAvailabilitySubscription = { menuItemAvailability: { kind: LiveUpdateKind, menuItemId: string | null, available: boolean | null, stockRemaining: number | null, orderable: boolean | null } };

export type MyOrdersQueryVariables = Exact<{ [key: string]: never; }>;


export type MyOrdersQuery = { me: { id: string, displayName: string, role: Role | null, orders: { edges: Array<{ node: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, subtotal: { amount: string, currencyCode: string }, total: { amount: string, currencyCode: string }, restaurant: { id: string, slug: string, name: string } | null, lines: Array<{ name: string, quantity: number, total: { amount: string, currencyCode: string }, options: Array<{ group: string, name: string }> }> | null, events: Array<{ from: OrderStatus | null, to: OrderStatus, at: string, by: OrderActor, note: string | null }> | null } }> } | null, cart: { itemCount: number } | null } | null };

export type OrderDetailQueryVariables = Exact<{
  id: string | number;
  signedIn: boolean;
}>;


export type OrderDetailQuery = { node:
    | { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, subtotal: { amount: string, currencyCode: string }, total: { amount: string, currencyCode: string }, restaurant: { id: string, slug: string, name: string } | null, lines: Array<{ name: string, quantity: number, total: { amount: string, currencyCode: string }, options: Array<{ group: string, name: string }> }> | null, events: Array<{ from: OrderStatus | null, to: OrderStatus, at: string, by: OrderActor, note: string | null }> | null }
    | Record<PropertyKey, never>
   | null, me?: { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null } | null };

export type OrderUpdatesSubscriptionVariables = Exact<{
  orderId: string | number;
}>;


export type OrderUpdatesSubscription = { orderUpdated: { kind: LiveUpdateKind, orderId: string | null, to: OrderStatus | null, order: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, subtotal: { amount: string, currencyCode: string }, total: { amount: string, currencyCode: string }, restaurant: { id: string, slug: string, name: string } | null, lines: Array<{ name: string, quantity: number, total: { amount: string, currencyCode: string }, options: Array<{ group: string, name: string }> }> | null, events: Array<{ from: OrderStatus | null, to: OrderStatus, at: string, by: OrderActor, note: string | null }> | null } | null } };

export type PaymentFormQueryVariables = Exact<{ [key: string]: never; }>;


export type PaymentFormQuery = { paymentForm: { processor: PaymentProcessor, stripePublishableKey: string | null, stripeJsUrl: string | null } | null };

export type RefreshSessionMutationVariables = Exact<{
  input: RefreshSessionInput;
}>;


export type RefreshSessionMutation = { refreshSession: { session: { accessToken: string, accessTokenExpiresAt: string, refreshToken: string, user: { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null } } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type RegisterMutationVariables = Exact<{
  input: RegisterInput;
}>;


export type RegisterMutation = { register: { session: { accessToken: string, accessTokenExpiresAt: string, refreshToken: string, user: { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null } } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type RejectOrderMutationVariables = Exact<{
  input: RejectOrderInput;
}>;


export type RejectOrderMutation = { rejectOrder: { order: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type RemoveCartLineMutationVariables = Exact<{
  input: RemoveCartLineInput;
}>;


export type RemoveCartLineMutation = { removeCartLine: { cart: { itemCount: number, restaurant: { id: string, slug: string, name: string } | null, subtotal: { amount: string, currencyCode: string } | null, lines: Array<{ id: string, quantity: number, menuItem: { id: string, name: string } | null, options: Array<{ id: string, group: string, name: string, priceDelta: { amount: string, currencyCode: string } }> | null, lineTotal: { amount: string, currencyCode: string } | null }> } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type RestaurantMenuQueryVariables = Exact<{
  slug: string;
  signedIn: boolean;
}>;


export type RestaurantMenuQuery = { restaurant: { id: string, slug: string, name: string, cuisine: string, description: string, address: string, openingHours: Array<{ day: Weekday, opens: string, closes: string }>, rating: { average: number | null, count: number } | null, menu: { nodes: Array<{ id: string, name: string, description: string, course: Course, dietary: Array<Dietary>, available: boolean, stockRemaining: number | null, price: { amount: string, currencyCode: string }, optionGroups: Array<{ name: string, required: boolean, minChoices: number, maxChoices: number, options: Array<{ id: string, name: string, priceDelta: { amount: string, currencyCode: string } }> }> | null }> } | null } | null, me?: { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null } | null };

export type RestaurantOrdersSubscriptionVariables = Exact<{
  restaurantId: string | number;
}>;


export type RestaurantOrdersSubscription = { restaurantOrders: { kind: LiveUpdateKind, orderId: string | null, from: OrderStatus | null, to: OrderStatus | null, order: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null } | null } };

export type SearchMenuQueryVariables = Exact<{
  query: string;
  after?: string | null | undefined;
  signedIn: boolean;
}>;


export type SearchMenuQuery = { searchMenu: { nodes: Array<{ id: string, name: string, description: string, course: Course, dietary: Array<Dietary>, available: boolean, stockRemaining: number | null, restaurant: { slug: string, name: string } | null, price: { amount: string, currencyCode: string }, optionGroups: Array<{ name: string, required: boolean, minChoices: number, maxChoices: number, options: Array<{ id: string, name: string, priceDelta: { amount: string, currencyCode: string } }> }> | null }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } | null, me?: { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null } | null };

export type StaffBoardQueryVariables = Exact<{ [key: string]: never; }>;


export type StaffBoardQuery = { me: { id: string, displayName: string, role: Role | null, worksFor: Array<{ id: string, slug: string, name: string, placed: { edges: Array<{ node: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null } }> } | null, accepted: { edges: Array<{ node: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null } }> } | null, preparing: { edges: Array<{ node: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null } }> } | null, ready: { edges: Array<{ node: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null } }> } | null, outForDelivery: { edges: Array<{ node: { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null } }> } | null }> | null, cart: { itemCount: number } | null } | null };

export type UpdateCartLineMutationVariables = Exact<{
  input: UpdateCartLineInput;
}>;


export type UpdateCartLineMutation = { updateCartLine: { cart: { itemCount: number, restaurant: { id: string, slug: string, name: string } | null, subtotal: { amount: string, currencyCode: string } | null, lines: Array<{ id: string, quantity: number, menuItem: { id: string, name: string } | null, options: Array<{ id: string, group: string, name: string, priceDelta: { amount: string, currencyCode: string } }> | null, lineTotal: { amount: string, currencyCode: string } | null }> } | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } | null };

export type ViewerFragment = { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null };

export type MoneyFieldsFragment = { amount: string, currencyCode: string };

export type MenuItemFieldsFragment = { id: string, name: string, description: string, course: Course, dietary: Array<Dietary>, available: boolean, stockRemaining: number | null, price: { amount: string, currencyCode: string }, optionGroups: Array<{ name: string, required: boolean, minChoices: number, maxChoices: number, options: Array<{ id: string, name: string, priceDelta: { amount: string, currencyCode: string } }> }> | null };

export type CartFieldsFragment = { itemCount: number, restaurant: { id: string, slug: string, name: string } | null, subtotal: { amount: string, currencyCode: string } | null, lines: Array<{ id: string, quantity: number, menuItem: { id: string, name: string } | null, options: Array<{ id: string, group: string, name: string, priceDelta: { amount: string, currencyCode: string } }> | null, lineTotal: { amount: string, currencyCode: string } | null }> };

export type UserErrorFieldsFragment = { field: Array<string> | null, code: UserErrorCode, message: string };

export type OrderFieldsFragment = { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, subtotal: { amount: string, currencyCode: string }, total: { amount: string, currencyCode: string }, restaurant: { id: string, slug: string, name: string } | null, lines: Array<{ name: string, quantity: number, total: { amount: string, currencyCode: string }, options: Array<{ group: string, name: string }> }> | null, events: Array<{ from: OrderStatus | null, to: OrderStatus, at: string, by: OrderActor, note: string | null }> | null };

export type BoardOrderFragment = { id: string, status: OrderStatus, paymentStatus: PaymentStatus, fulfilment: Fulfilment, tableNumber: number | null, deliveryAddress: string | null, createdAt: string, total: { amount: string, currencyCode: string }, customer: { displayName: string } | null, restaurant: { id: string, name: string } | null, lines: Array<{ name: string, quantity: number, options: Array<{ name: string }> }> | null };

export type SessionFieldsFragment = { accessToken: string, accessTokenExpiresAt: string, refreshToken: string, user: { id: string, displayName: string, role: Role | null, cart: { itemCount: number } | null } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const MoneyFieldsFragmentDoc = new TypedDocumentString(`
    fragment MoneyFields on Money {
  amount
  currencyCode
}
    `, {"fragmentName":"MoneyFields"}) as unknown as TypedDocumentString<MoneyFieldsFragment, unknown>;
export const MenuItemFieldsFragmentDoc = new TypedDocumentString(`
    fragment MenuItemFields on MenuItem {
  id
  name
  description
  price {
    ...MoneyFields
  }
  course
  dietary
  available
  stockRemaining
  optionGroups {
    name
    required
    minChoices
    maxChoices
    options {
      id
      name
      priceDelta {
        ...MoneyFields
      }
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}`, {"fragmentName":"MenuItemFields"}) as unknown as TypedDocumentString<MenuItemFieldsFragment, unknown>;
export const CartFieldsFragmentDoc = new TypedDocumentString(`
    fragment CartFields on Cart {
  restaurant {
    id
    slug
    name
  }
  itemCount
  subtotal {
    ...MoneyFields
  }
  lines {
    id
    quantity
    menuItem {
      id
      name
    }
    options {
      id
      group
      name
      priceDelta {
        ...MoneyFields
      }
    }
    lineTotal {
      ...MoneyFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}`, {"fragmentName":"CartFields"}) as unknown as TypedDocumentString<CartFieldsFragment, unknown>;
export const UserErrorFieldsFragmentDoc = new TypedDocumentString(`
    fragment UserErrorFields on UserError {
  field
  code
  message
}
    `, {"fragmentName":"UserErrorFields"}) as unknown as TypedDocumentString<UserErrorFieldsFragment, unknown>;
export const OrderFieldsFragmentDoc = new TypedDocumentString(`
    fragment OrderFields on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  subtotal {
    ...MoneyFields
  }
  total {
    ...MoneyFields
  }
  restaurant {
    id
    slug
    name
  }
  lines {
    name
    quantity
    total {
      ...MoneyFields
    }
    options {
      group
      name
    }
  }
  events {
    from
    to
    at
    by
    note
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}`, {"fragmentName":"OrderFields"}) as unknown as TypedDocumentString<OrderFieldsFragment, unknown>;
export const BoardOrderFragmentDoc = new TypedDocumentString(`
    fragment BoardOrder on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  total {
    ...MoneyFields
  }
  customer {
    displayName
  }
  restaurant {
    id
    name
  }
  lines {
    name
    quantity
    options {
      name
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}`, {"fragmentName":"BoardOrder"}) as unknown as TypedDocumentString<BoardOrderFragment, unknown>;
export const ViewerFragmentDoc = new TypedDocumentString(`
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
    `, {"fragmentName":"Viewer"}) as unknown as TypedDocumentString<ViewerFragment, unknown>;
export const SessionFieldsFragmentDoc = new TypedDocumentString(`
    fragment SessionFields on AuthSession {
  accessToken
  accessTokenExpiresAt
  refreshToken
  user {
    ...Viewer
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}`, {"fragmentName":"SessionFields"}) as unknown as TypedDocumentString<SessionFieldsFragment, unknown>;
export const AddToCartDocument = new TypedDocumentString(`
    mutation AddToCart($input: AddToCartInput!) {
  addToCart(input: $input) {
    cart {
      ...CartFields
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment CartFields on Cart {
  restaurant {
    id
    slug
    name
  }
  itemCount
  subtotal {
    ...MoneyFields
  }
  lines {
    id
    quantity
    menuItem {
      id
      name
    }
    options {
      id
      group
      name
      priceDelta {
        ...MoneyFields
      }
    }
    lineTotal {
      ...MoneyFields
    }
  }
}
fragment UserErrorFields on UserError {
  field
  code
  message
}`, {"hash":"sha256:ee475d3a89afa17ec274a594565a240363bb510ecb2b42e411a86cf47a7d117e"}) as unknown as TypedDocumentString<AddToCartMutation, AddToCartMutationVariables>;
export const AdvanceOrderDocument = new TypedDocumentString(`
    mutation AdvanceOrder($input: AdvanceOrderInput!) {
  advanceOrder(input: $input) {
    order {
      ...BoardOrder
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment UserErrorFields on UserError {
  field
  code
  message
}
fragment BoardOrder on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  total {
    ...MoneyFields
  }
  customer {
    displayName
  }
  restaurant {
    id
    name
  }
  lines {
    name
    quantity
    options {
      name
    }
  }
}`, {"hash":"sha256:894aa615ac4c52484cf470d6456beca003fc8dc4ac48a8a6186faec1d7751f9f"}) as unknown as TypedDocumentString<AdvanceOrderMutation, AdvanceOrderMutationVariables>;
export const CancelOrderDocument = new TypedDocumentString(`
    mutation CancelOrder($input: CancelOrderInput!) {
  cancelOrder(input: $input) {
    order {
      ...OrderFields
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment UserErrorFields on UserError {
  field
  code
  message
}
fragment OrderFields on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  subtotal {
    ...MoneyFields
  }
  total {
    ...MoneyFields
  }
  restaurant {
    id
    slug
    name
  }
  lines {
    name
    quantity
    total {
      ...MoneyFields
    }
    options {
      group
      name
    }
  }
  events {
    from
    to
    at
    by
    note
  }
}`, {"hash":"sha256:23694174974a52ef5c6c14951b0834cb8f13e0405d8eb989a0e9aef625821c37"}) as unknown as TypedDocumentString<CancelOrderMutation, CancelOrderMutationVariables>;
export const CartDocument = new TypedDocumentString(`
    query Cart {
  me {
    ...Viewer
    cart {
      ...CartFields
      pickupTotal: total(fulfilment: PICKUP) {
        ...MoneyFields
      }
      deliveryTotal: total(fulfilment: DELIVERY) {
        ...MoneyFields
      }
      dineInTotal: total(fulfilment: DINE_IN) {
        ...MoneyFields
      }
    }
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment CartFields on Cart {
  restaurant {
    id
    slug
    name
  }
  itemCount
  subtotal {
    ...MoneyFields
  }
  lines {
    id
    quantity
    menuItem {
      id
      name
    }
    options {
      id
      group
      name
      priceDelta {
        ...MoneyFields
      }
    }
    lineTotal {
      ...MoneyFields
    }
  }
}`, {"hash":"sha256:3ccbc8ee19f3674d74aa80c180f41e6847111dad44ee877a2094fd3507127d30"}) as unknown as TypedDocumentString<CartQuery, CartQueryVariables>;
export const CheckoutDocument = new TypedDocumentString(`
    mutation Checkout($input: CheckoutInput!) {
  checkout(input: $input) {
    order {
      ...OrderFields
    }
    cardAction {
      clientSecret
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment UserErrorFields on UserError {
  field
  code
  message
}
fragment OrderFields on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  subtotal {
    ...MoneyFields
  }
  total {
    ...MoneyFields
  }
  restaurant {
    id
    slug
    name
  }
  lines {
    name
    quantity
    total {
      ...MoneyFields
    }
    options {
      group
      name
    }
  }
  events {
    from
    to
    at
    by
    note
  }
}`, {"hash":"sha256:d6cd12764d664df92a941fa380f07dc8c3531d4b11d3e7d9640f6420f54c4412"}) as unknown as TypedDocumentString<CheckoutMutation, CheckoutMutationVariables>;
export const HomeDocument = new TypedDocumentString(`
    query Home($cuisine: String, $after: String, $signedIn: Boolean!) {
  cuisines {
    name
    restaurantCount
  }
  restaurants(cuisine: $cuisine, first: 24, after: $after) {
    nodes {
      id
      slug
      name
      cuisine
      description
      address
      rating {
        average
        count
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
  me @include(if: $signedIn) {
    ...Viewer
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}`, {"hash":"sha256:a5eb6b673a52305bbb77e4424970b2e7cbd961c25b94d91789a48eacf2a98581"}) as unknown as TypedDocumentString<HomeQuery, HomeQueryVariables>;
export const LoginDocument = new TypedDocumentString(`
    mutation Login($input: LoginInput!) {
  login(input: $input) {
    session {
      ...SessionFields
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment UserErrorFields on UserError {
  field
  code
  message
}
fragment SessionFields on AuthSession {
  accessToken
  accessTokenExpiresAt
  refreshToken
  user {
    ...Viewer
  }
}`, {"hash":"sha256:da93dae69e3c4e23d363af43ac4181eb7c805326811b8a9ed9aa9f50128040de"}) as unknown as TypedDocumentString<LoginMutation, LoginMutationVariables>;
export const LogoutDocument = new TypedDocumentString(`
    mutation Logout($input: LogoutInput!) {
  logout(input: $input) {
    loggedOut
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment UserErrorFields on UserError {
  field
  code
  message
}`, {"hash":"sha256:5347113885c45414edeeb03da278fc48a14cd884510df0f8c584c5f53f991d6f"}) as unknown as TypedDocumentString<LogoutMutation, LogoutMutationVariables>;
export const MenuAvailabilityDocument = new TypedDocumentString(`
    subscription MenuAvailability($restaurantId: ID!) {
  menuItemAvailability(restaurantId: $restaurantId) {
    kind
    menuItemId
    available
    stockRemaining
    orderable
  }
}
    `, {"hash":"sha256:6b5a3996a88113dbadcb2445bca98ffeeb46619b06dbdc4a37a1bf819208bab1"}) as unknown as TypedDocumentString<MenuAvailabilitySubscription, MenuAvailabilitySubscriptionVariables>;
export const MyOrdersDocument = new TypedDocumentString(`
    query MyOrders {
  me {
    ...Viewer
    orders(first: 20) {
      edges {
        node {
          ...OrderFields
        }
      }
    }
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment OrderFields on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  subtotal {
    ...MoneyFields
  }
  total {
    ...MoneyFields
  }
  restaurant {
    id
    slug
    name
  }
  lines {
    name
    quantity
    total {
      ...MoneyFields
    }
    options {
      group
      name
    }
  }
  events {
    from
    to
    at
    by
    note
  }
}`, {"hash":"sha256:b6a9a6eb33137187067eb5cbe9218f3e86fe454164fcdf24cfa66b6bdbceb5f1"}) as unknown as TypedDocumentString<MyOrdersQuery, MyOrdersQueryVariables>;
export const OrderDetailDocument = new TypedDocumentString(`
    query OrderDetail($id: ID!, $signedIn: Boolean!) {
  node(id: $id) {
    ... on Order {
      ...OrderFields
    }
  }
  me @include(if: $signedIn) {
    ...Viewer
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment OrderFields on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  subtotal {
    ...MoneyFields
  }
  total {
    ...MoneyFields
  }
  restaurant {
    id
    slug
    name
  }
  lines {
    name
    quantity
    total {
      ...MoneyFields
    }
    options {
      group
      name
    }
  }
  events {
    from
    to
    at
    by
    note
  }
}`, {"hash":"sha256:e00c019e695df8c127b798b3c7e8181aa16b810bd69bdc6821fd20ce9bfd8c0d"}) as unknown as TypedDocumentString<OrderDetailQuery, OrderDetailQueryVariables>;
export const OrderUpdatesDocument = new TypedDocumentString(`
    subscription OrderUpdates($orderId: ID!) {
  orderUpdated(orderId: $orderId) {
    kind
    orderId
    to
    order {
      ...OrderFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment OrderFields on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  subtotal {
    ...MoneyFields
  }
  total {
    ...MoneyFields
  }
  restaurant {
    id
    slug
    name
  }
  lines {
    name
    quantity
    total {
      ...MoneyFields
    }
    options {
      group
      name
    }
  }
  events {
    from
    to
    at
    by
    note
  }
}`, {"hash":"sha256:af0c37f44872fe61ea67fbc9b505252ffa191de577af6ef11e0a08fb2905b687"}) as unknown as TypedDocumentString<OrderUpdatesSubscription, OrderUpdatesSubscriptionVariables>;
export const PaymentFormDocument = new TypedDocumentString(`
    query PaymentForm {
  paymentForm {
    processor
    stripePublishableKey
    stripeJsUrl
  }
}
    `, {"hash":"sha256:a084b968283a789ed5d311dfb9af7df3d35cf9832c186349a37457822c47fde1"}) as unknown as TypedDocumentString<PaymentFormQuery, PaymentFormQueryVariables>;
export const RefreshSessionDocument = new TypedDocumentString(`
    mutation RefreshSession($input: RefreshSessionInput!) {
  refreshSession(input: $input) {
    session {
      ...SessionFields
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment UserErrorFields on UserError {
  field
  code
  message
}
fragment SessionFields on AuthSession {
  accessToken
  accessTokenExpiresAt
  refreshToken
  user {
    ...Viewer
  }
}`, {"hash":"sha256:33ec0cd025a3ae5d64de091d1efa3d1c12ac75653a4955965782646f1c89f42a"}) as unknown as TypedDocumentString<RefreshSessionMutation, RefreshSessionMutationVariables>;
export const RegisterDocument = new TypedDocumentString(`
    mutation Register($input: RegisterInput!) {
  register(input: $input) {
    session {
      ...SessionFields
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment UserErrorFields on UserError {
  field
  code
  message
}
fragment SessionFields on AuthSession {
  accessToken
  accessTokenExpiresAt
  refreshToken
  user {
    ...Viewer
  }
}`, {"hash":"sha256:2cb789cffbddead96ae05a04f5133bfb1bde6b1ccb21efc07284be00a77c03c2"}) as unknown as TypedDocumentString<RegisterMutation, RegisterMutationVariables>;
export const RejectOrderDocument = new TypedDocumentString(`
    mutation RejectOrder($input: RejectOrderInput!) {
  rejectOrder(input: $input) {
    order {
      ...BoardOrder
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment UserErrorFields on UserError {
  field
  code
  message
}
fragment BoardOrder on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  total {
    ...MoneyFields
  }
  customer {
    displayName
  }
  restaurant {
    id
    name
  }
  lines {
    name
    quantity
    options {
      name
    }
  }
}`, {"hash":"sha256:9f586d2bb1cb44735782c1619de82885edd1fd7a68180b8f6cbbbba6fbf15462"}) as unknown as TypedDocumentString<RejectOrderMutation, RejectOrderMutationVariables>;
export const RemoveCartLineDocument = new TypedDocumentString(`
    mutation RemoveCartLine($input: RemoveCartLineInput!) {
  removeCartLine(input: $input) {
    cart {
      ...CartFields
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment CartFields on Cart {
  restaurant {
    id
    slug
    name
  }
  itemCount
  subtotal {
    ...MoneyFields
  }
  lines {
    id
    quantity
    menuItem {
      id
      name
    }
    options {
      id
      group
      name
      priceDelta {
        ...MoneyFields
      }
    }
    lineTotal {
      ...MoneyFields
    }
  }
}
fragment UserErrorFields on UserError {
  field
  code
  message
}`, {"hash":"sha256:8901b89c88305e93020f81607ee18b1c4532001fb56b920222dfbe48af8c817d"}) as unknown as TypedDocumentString<RemoveCartLineMutation, RemoveCartLineMutationVariables>;
export const RestaurantMenuDocument = new TypedDocumentString(`
    query RestaurantMenu($slug: String!, $signedIn: Boolean!) {
  restaurant(slug: $slug) {
    id
    slug
    name
    cuisine
    description
    address
    openingHours {
      day
      opens
      closes
    }
    rating {
      average
      count
    }
    menu(first: 100) {
      nodes {
        ...MenuItemFields
      }
    }
  }
  me @include(if: $signedIn) {
    ...Viewer
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment MenuItemFields on MenuItem {
  id
  name
  description
  price {
    ...MoneyFields
  }
  course
  dietary
  available
  stockRemaining
  optionGroups {
    name
    required
    minChoices
    maxChoices
    options {
      id
      name
      priceDelta {
        ...MoneyFields
      }
    }
  }
}`, {"hash":"sha256:790ec2fcb3e91724eab557c638d7803f68e03274fe706bc4d31adb63d6f618fa"}) as unknown as TypedDocumentString<RestaurantMenuQuery, RestaurantMenuQueryVariables>;
export const RestaurantOrdersDocument = new TypedDocumentString(`
    subscription RestaurantOrders($restaurantId: ID!) {
  restaurantOrders(restaurantId: $restaurantId) {
    kind
    orderId
    from
    to
    order {
      ...BoardOrder
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment BoardOrder on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  total {
    ...MoneyFields
  }
  customer {
    displayName
  }
  restaurant {
    id
    name
  }
  lines {
    name
    quantity
    options {
      name
    }
  }
}`, {"hash":"sha256:bca787aa213909f53e4bdca795072a2919afee7b62522c624b429552aefe8838"}) as unknown as TypedDocumentString<RestaurantOrdersSubscription, RestaurantOrdersSubscriptionVariables>;
export const SearchMenuDocument = new TypedDocumentString(`
    query SearchMenu($query: String!, $after: String, $signedIn: Boolean!) {
  searchMenu(query: $query, first: 20, after: $after) {
    nodes {
      ...MenuItemFields
      restaurant {
        slug
        name
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
  me @include(if: $signedIn) {
    ...Viewer
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment MenuItemFields on MenuItem {
  id
  name
  description
  price {
    ...MoneyFields
  }
  course
  dietary
  available
  stockRemaining
  optionGroups {
    name
    required
    minChoices
    maxChoices
    options {
      id
      name
      priceDelta {
        ...MoneyFields
      }
    }
  }
}`, {"hash":"sha256:8bbf55662ea5898f169c66cdc7517267c62c69582488dc8d7284e60fa3360d45"}) as unknown as TypedDocumentString<SearchMenuQuery, SearchMenuQueryVariables>;
export const StaffBoardDocument = new TypedDocumentString(`
    query StaffBoard {
  me {
    ...Viewer
    worksFor {
      id
      slug
      name
      placed: orders(status: PLACED, first: 50) {
        edges {
          node {
            ...BoardOrder
          }
        }
      }
      accepted: orders(status: ACCEPTED, first: 50) {
        edges {
          node {
            ...BoardOrder
          }
        }
      }
      preparing: orders(status: PREPARING, first: 50) {
        edges {
          node {
            ...BoardOrder
          }
        }
      }
      ready: orders(status: READY, first: 50) {
        edges {
          node {
            ...BoardOrder
          }
        }
      }
      outForDelivery: orders(status: OUT_FOR_DELIVERY, first: 50) {
        edges {
          node {
            ...BoardOrder
          }
        }
      }
    }
  }
}
    fragment Viewer on User {
  id
  displayName
  role
  cart {
    itemCount
  }
}
fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment BoardOrder on Order {
  id
  status
  paymentStatus
  fulfilment
  tableNumber
  deliveryAddress
  createdAt
  total {
    ...MoneyFields
  }
  customer {
    displayName
  }
  restaurant {
    id
    name
  }
  lines {
    name
    quantity
    options {
      name
    }
  }
}`, {"hash":"sha256:6277f08e5f88e059120ff79137b5935e6d547d97641b0c0e073e260fbd7816c9"}) as unknown as TypedDocumentString<StaffBoardQuery, StaffBoardQueryVariables>;
export const UpdateCartLineDocument = new TypedDocumentString(`
    mutation UpdateCartLine($input: UpdateCartLineInput!) {
  updateCartLine(input: $input) {
    cart {
      ...CartFields
    }
    userErrors {
      ...UserErrorFields
    }
  }
}
    fragment MoneyFields on Money {
  amount
  currencyCode
}
fragment CartFields on Cart {
  restaurant {
    id
    slug
    name
  }
  itemCount
  subtotal {
    ...MoneyFields
  }
  lines {
    id
    quantity
    menuItem {
      id
      name
    }
    options {
      id
      group
      name
      priceDelta {
        ...MoneyFields
      }
    }
    lineTotal {
      ...MoneyFields
    }
  }
}
fragment UserErrorFields on UserError {
  field
  code
  message
}`, {"hash":"sha256:7d294e5aaeec8219b65b19e5ec7d211bfd4a4555412aa03f494adddec10b3f00"}) as unknown as TypedDocumentString<UpdateCartLineMutation, UpdateCartLineMutationVariables>;