/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation AddToCart($input: AddToCartInput!) {\n  addToCart(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.AddToCartDocument,
    "mutation AdvanceOrder($input: AdvanceOrderInput!) {\n  advanceOrder(input: $input) {\n    order {\n      ...BoardOrder\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.AdvanceOrderDocument,
    "mutation CancelOrder($input: CancelOrderInput!) {\n  cancelOrder(input: $input) {\n    order {\n      ...OrderFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.CancelOrderDocument,
    "query Cart {\n  me {\n    ...Viewer\n    cart {\n      ...CartFields\n      pickupTotal: total(fulfilment: PICKUP) {\n        ...MoneyFields\n      }\n      deliveryTotal: total(fulfilment: DELIVERY) {\n        ...MoneyFields\n      }\n      dineInTotal: total(fulfilment: DINE_IN) {\n        ...MoneyFields\n      }\n    }\n  }\n}": typeof types.CartDocument,
    "mutation Checkout($input: CheckoutInput!) {\n  checkout(input: $input) {\n    order {\n      ...OrderFields\n    }\n    cardAction {\n      clientSecret\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.CheckoutDocument,
    "query Home($cuisine: String, $after: String, $signedIn: Boolean!) {\n  cuisines {\n    name\n    restaurantCount\n  }\n  restaurants(cuisine: $cuisine, first: 24, after: $after) {\n    nodes {\n      id\n      slug\n      name\n      cuisine\n      description\n      address\n      rating {\n        average\n        count\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}": typeof types.HomeDocument,
    "mutation Login($input: LoginInput!) {\n  login(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.LoginDocument,
    "mutation Logout($input: LogoutInput!) {\n  logout(input: $input) {\n    loggedOut\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.LogoutDocument,
    "subscription MenuAvailability($restaurantId: ID!) {\n  menuItemAvailability(restaurantId: $restaurantId) {\n    kind\n    menuItemId\n    available\n    stockRemaining\n    orderable\n  }\n}": typeof types.MenuAvailabilityDocument,
    "query MyOrders {\n  me {\n    ...Viewer\n    orders(first: 20) {\n      edges {\n        node {\n          ...OrderFields\n        }\n      }\n    }\n  }\n}": typeof types.MyOrdersDocument,
    "query OrderDetail($id: ID!, $signedIn: Boolean!) {\n  node(id: $id) {\n    ... on Order {\n      ...OrderFields\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}": typeof types.OrderDetailDocument,
    "subscription OrderUpdates($orderId: ID!) {\n  orderUpdated(orderId: $orderId) {\n    kind\n    orderId\n    to\n    order {\n      ...OrderFields\n    }\n  }\n}": typeof types.OrderUpdatesDocument,
    "query PaymentForm {\n  paymentForm {\n    processor\n    stripePublishableKey\n    stripeJsUrl\n  }\n}": typeof types.PaymentFormDocument,
    "mutation RefreshSession($input: RefreshSessionInput!) {\n  refreshSession(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.RefreshSessionDocument,
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.RegisterDocument,
    "mutation RejectOrder($input: RejectOrderInput!) {\n  rejectOrder(input: $input) {\n    order {\n      ...BoardOrder\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.RejectOrderDocument,
    "mutation RemoveCartLine($input: RemoveCartLineInput!) {\n  removeCartLine(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.RemoveCartLineDocument,
    "query RestaurantMenu($slug: String!, $signedIn: Boolean!) {\n  restaurant(slug: $slug) {\n    id\n    slug\n    name\n    cuisine\n    description\n    address\n    openingHours {\n      day\n      opens\n      closes\n    }\n    rating {\n      average\n      count\n    }\n    menu(first: 100) {\n      nodes {\n        ...MenuItemFields\n      }\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}": typeof types.RestaurantMenuDocument,
    "subscription RestaurantOrders($restaurantId: ID!) {\n  restaurantOrders(restaurantId: $restaurantId) {\n    kind\n    orderId\n    from\n    to\n    order {\n      ...BoardOrder\n    }\n  }\n}": typeof types.RestaurantOrdersDocument,
    "query SearchMenu($query: String!, $after: String, $signedIn: Boolean!) {\n  searchMenu(query: $query, first: 20, after: $after) {\n    nodes {\n      ...MenuItemFields\n      restaurant {\n        slug\n        name\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}": typeof types.SearchMenuDocument,
    "query StaffBoard {\n  me {\n    ...Viewer\n    worksFor {\n      id\n      slug\n      name\n      placed: orders(status: PLACED, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      accepted: orders(status: ACCEPTED, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      preparing: orders(status: PREPARING, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      ready: orders(status: READY, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      outForDelivery: orders(status: OUT_FOR_DELIVERY, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n    }\n  }\n}": typeof types.StaffBoardDocument,
    "mutation UpdateCartLine($input: UpdateCartLineInput!) {\n  updateCartLine(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": typeof types.UpdateCartLineDocument,
    "fragment Viewer on User {\n  id\n  displayName\n  role\n  cart {\n    itemCount\n  }\n}\n\nfragment MoneyFields on Money {\n  amount\n  currencyCode\n}\n\nfragment MenuItemFields on MenuItem {\n  id\n  name\n  description\n  price {\n    ...MoneyFields\n  }\n  course\n  dietary\n  available\n  stockRemaining\n  optionGroups {\n    name\n    required\n    minChoices\n    maxChoices\n    options {\n      id\n      name\n      priceDelta {\n        ...MoneyFields\n      }\n    }\n  }\n}\n\nfragment CartFields on Cart {\n  restaurant {\n    id\n    slug\n    name\n  }\n  itemCount\n  subtotal {\n    ...MoneyFields\n  }\n  lines {\n    id\n    quantity\n    menuItem {\n      id\n      name\n    }\n    options {\n      id\n      group\n      name\n      priceDelta {\n        ...MoneyFields\n      }\n    }\n    lineTotal {\n      ...MoneyFields\n    }\n  }\n}\n\nfragment UserErrorFields on UserError {\n  field\n  code\n  message\n}\n\nfragment OrderFields on Order {\n  id\n  status\n  paymentStatus\n  fulfilment\n  tableNumber\n  deliveryAddress\n  createdAt\n  subtotal {\n    ...MoneyFields\n  }\n  total {\n    ...MoneyFields\n  }\n  restaurant {\n    id\n    slug\n    name\n  }\n  lines {\n    name\n    quantity\n    total {\n      ...MoneyFields\n    }\n    options {\n      group\n      name\n    }\n  }\n  events {\n    from\n    to\n    at\n    by\n    note\n  }\n}\n\nfragment BoardOrder on Order {\n  id\n  status\n  paymentStatus\n  fulfilment\n  tableNumber\n  deliveryAddress\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  customer {\n    displayName\n  }\n  restaurant {\n    id\n    name\n  }\n  lines {\n    name\n    quantity\n    options {\n      name\n    }\n  }\n}\n\nfragment SessionFields on AuthSession {\n  accessToken\n  accessTokenExpiresAt\n  refreshToken\n  user {\n    ...Viewer\n  }\n}": typeof types.ViewerFragmentDoc,
};
const documents: Documents = {
    "mutation AddToCart($input: AddToCartInput!) {\n  addToCart(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.AddToCartDocument,
    "mutation AdvanceOrder($input: AdvanceOrderInput!) {\n  advanceOrder(input: $input) {\n    order {\n      ...BoardOrder\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.AdvanceOrderDocument,
    "mutation CancelOrder($input: CancelOrderInput!) {\n  cancelOrder(input: $input) {\n    order {\n      ...OrderFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.CancelOrderDocument,
    "query Cart {\n  me {\n    ...Viewer\n    cart {\n      ...CartFields\n      pickupTotal: total(fulfilment: PICKUP) {\n        ...MoneyFields\n      }\n      deliveryTotal: total(fulfilment: DELIVERY) {\n        ...MoneyFields\n      }\n      dineInTotal: total(fulfilment: DINE_IN) {\n        ...MoneyFields\n      }\n    }\n  }\n}": types.CartDocument,
    "mutation Checkout($input: CheckoutInput!) {\n  checkout(input: $input) {\n    order {\n      ...OrderFields\n    }\n    cardAction {\n      clientSecret\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.CheckoutDocument,
    "query Home($cuisine: String, $after: String, $signedIn: Boolean!) {\n  cuisines {\n    name\n    restaurantCount\n  }\n  restaurants(cuisine: $cuisine, first: 24, after: $after) {\n    nodes {\n      id\n      slug\n      name\n      cuisine\n      description\n      address\n      rating {\n        average\n        count\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}": types.HomeDocument,
    "mutation Login($input: LoginInput!) {\n  login(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.LoginDocument,
    "mutation Logout($input: LogoutInput!) {\n  logout(input: $input) {\n    loggedOut\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.LogoutDocument,
    "subscription MenuAvailability($restaurantId: ID!) {\n  menuItemAvailability(restaurantId: $restaurantId) {\n    kind\n    menuItemId\n    available\n    stockRemaining\n    orderable\n  }\n}": types.MenuAvailabilityDocument,
    "query MyOrders {\n  me {\n    ...Viewer\n    orders(first: 20) {\n      edges {\n        node {\n          ...OrderFields\n        }\n      }\n    }\n  }\n}": types.MyOrdersDocument,
    "query OrderDetail($id: ID!, $signedIn: Boolean!) {\n  node(id: $id) {\n    ... on Order {\n      ...OrderFields\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}": types.OrderDetailDocument,
    "subscription OrderUpdates($orderId: ID!) {\n  orderUpdated(orderId: $orderId) {\n    kind\n    orderId\n    to\n    order {\n      ...OrderFields\n    }\n  }\n}": types.OrderUpdatesDocument,
    "query PaymentForm {\n  paymentForm {\n    processor\n    stripePublishableKey\n    stripeJsUrl\n  }\n}": types.PaymentFormDocument,
    "mutation RefreshSession($input: RefreshSessionInput!) {\n  refreshSession(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.RefreshSessionDocument,
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.RegisterDocument,
    "mutation RejectOrder($input: RejectOrderInput!) {\n  rejectOrder(input: $input) {\n    order {\n      ...BoardOrder\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.RejectOrderDocument,
    "mutation RemoveCartLine($input: RemoveCartLineInput!) {\n  removeCartLine(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.RemoveCartLineDocument,
    "query RestaurantMenu($slug: String!, $signedIn: Boolean!) {\n  restaurant(slug: $slug) {\n    id\n    slug\n    name\n    cuisine\n    description\n    address\n    openingHours {\n      day\n      opens\n      closes\n    }\n    rating {\n      average\n      count\n    }\n    menu(first: 100) {\n      nodes {\n        ...MenuItemFields\n      }\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}": types.RestaurantMenuDocument,
    "subscription RestaurantOrders($restaurantId: ID!) {\n  restaurantOrders(restaurantId: $restaurantId) {\n    kind\n    orderId\n    from\n    to\n    order {\n      ...BoardOrder\n    }\n  }\n}": types.RestaurantOrdersDocument,
    "query SearchMenu($query: String!, $after: String, $signedIn: Boolean!) {\n  searchMenu(query: $query, first: 20, after: $after) {\n    nodes {\n      ...MenuItemFields\n      restaurant {\n        slug\n        name\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}": types.SearchMenuDocument,
    "query StaffBoard {\n  me {\n    ...Viewer\n    worksFor {\n      id\n      slug\n      name\n      placed: orders(status: PLACED, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      accepted: orders(status: ACCEPTED, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      preparing: orders(status: PREPARING, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      ready: orders(status: READY, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      outForDelivery: orders(status: OUT_FOR_DELIVERY, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n    }\n  }\n}": types.StaffBoardDocument,
    "mutation UpdateCartLine($input: UpdateCartLineInput!) {\n  updateCartLine(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}": types.UpdateCartLineDocument,
    "fragment Viewer on User {\n  id\n  displayName\n  role\n  cart {\n    itemCount\n  }\n}\n\nfragment MoneyFields on Money {\n  amount\n  currencyCode\n}\n\nfragment MenuItemFields on MenuItem {\n  id\n  name\n  description\n  price {\n    ...MoneyFields\n  }\n  course\n  dietary\n  available\n  stockRemaining\n  optionGroups {\n    name\n    required\n    minChoices\n    maxChoices\n    options {\n      id\n      name\n      priceDelta {\n        ...MoneyFields\n      }\n    }\n  }\n}\n\nfragment CartFields on Cart {\n  restaurant {\n    id\n    slug\n    name\n  }\n  itemCount\n  subtotal {\n    ...MoneyFields\n  }\n  lines {\n    id\n    quantity\n    menuItem {\n      id\n      name\n    }\n    options {\n      id\n      group\n      name\n      priceDelta {\n        ...MoneyFields\n      }\n    }\n    lineTotal {\n      ...MoneyFields\n    }\n  }\n}\n\nfragment UserErrorFields on UserError {\n  field\n  code\n  message\n}\n\nfragment OrderFields on Order {\n  id\n  status\n  paymentStatus\n  fulfilment\n  tableNumber\n  deliveryAddress\n  createdAt\n  subtotal {\n    ...MoneyFields\n  }\n  total {\n    ...MoneyFields\n  }\n  restaurant {\n    id\n    slug\n    name\n  }\n  lines {\n    name\n    quantity\n    total {\n      ...MoneyFields\n    }\n    options {\n      group\n      name\n    }\n  }\n  events {\n    from\n    to\n    at\n    by\n    note\n  }\n}\n\nfragment BoardOrder on Order {\n  id\n  status\n  paymentStatus\n  fulfilment\n  tableNumber\n  deliveryAddress\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  customer {\n    displayName\n  }\n  restaurant {\n    id\n    name\n  }\n  lines {\n    name\n    quantity\n    options {\n      name\n    }\n  }\n}\n\nfragment SessionFields on AuthSession {\n  accessToken\n  accessTokenExpiresAt\n  refreshToken\n  user {\n    ...Viewer\n  }\n}": types.ViewerFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AddToCart($input: AddToCartInput!) {\n  addToCart(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').AddToCartDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AdvanceOrder($input: AdvanceOrderInput!) {\n  advanceOrder(input: $input) {\n    order {\n      ...BoardOrder\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').AdvanceOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CancelOrder($input: CancelOrderInput!) {\n  cancelOrder(input: $input) {\n    order {\n      ...OrderFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').CancelOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Cart {\n  me {\n    ...Viewer\n    cart {\n      ...CartFields\n      pickupTotal: total(fulfilment: PICKUP) {\n        ...MoneyFields\n      }\n      deliveryTotal: total(fulfilment: DELIVERY) {\n        ...MoneyFields\n      }\n      dineInTotal: total(fulfilment: DINE_IN) {\n        ...MoneyFields\n      }\n    }\n  }\n}"): typeof import('./graphql').CartDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Checkout($input: CheckoutInput!) {\n  checkout(input: $input) {\n    order {\n      ...OrderFields\n    }\n    cardAction {\n      clientSecret\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').CheckoutDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Home($cuisine: String, $after: String, $signedIn: Boolean!) {\n  cuisines {\n    name\n    restaurantCount\n  }\n  restaurants(cuisine: $cuisine, first: 24, after: $after) {\n    nodes {\n      id\n      slug\n      name\n      cuisine\n      description\n      address\n      rating {\n        average\n        count\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}"): typeof import('./graphql').HomeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Login($input: LoginInput!) {\n  login(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').LoginDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Logout($input: LogoutInput!) {\n  logout(input: $input) {\n    loggedOut\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').LogoutDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription MenuAvailability($restaurantId: ID!) {\n  menuItemAvailability(restaurantId: $restaurantId) {\n    kind\n    menuItemId\n    available\n    stockRemaining\n    orderable\n  }\n}"): typeof import('./graphql').MenuAvailabilityDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyOrders {\n  me {\n    ...Viewer\n    orders(first: 20) {\n      edges {\n        node {\n          ...OrderFields\n        }\n      }\n    }\n  }\n}"): typeof import('./graphql').MyOrdersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query OrderDetail($id: ID!, $signedIn: Boolean!) {\n  node(id: $id) {\n    ... on Order {\n      ...OrderFields\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}"): typeof import('./graphql').OrderDetailDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription OrderUpdates($orderId: ID!) {\n  orderUpdated(orderId: $orderId) {\n    kind\n    orderId\n    to\n    order {\n      ...OrderFields\n    }\n  }\n}"): typeof import('./graphql').OrderUpdatesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query PaymentForm {\n  paymentForm {\n    processor\n    stripePublishableKey\n    stripeJsUrl\n  }\n}"): typeof import('./graphql').PaymentFormDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RefreshSession($input: RefreshSessionInput!) {\n  refreshSession(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').RefreshSessionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    session {\n      ...SessionFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').RegisterDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RejectOrder($input: RejectOrderInput!) {\n  rejectOrder(input: $input) {\n    order {\n      ...BoardOrder\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').RejectOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RemoveCartLine($input: RemoveCartLineInput!) {\n  removeCartLine(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').RemoveCartLineDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query RestaurantMenu($slug: String!, $signedIn: Boolean!) {\n  restaurant(slug: $slug) {\n    id\n    slug\n    name\n    cuisine\n    description\n    address\n    openingHours {\n      day\n      opens\n      closes\n    }\n    rating {\n      average\n      count\n    }\n    menu(first: 100) {\n      nodes {\n        ...MenuItemFields\n      }\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}"): typeof import('./graphql').RestaurantMenuDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription RestaurantOrders($restaurantId: ID!) {\n  restaurantOrders(restaurantId: $restaurantId) {\n    kind\n    orderId\n    from\n    to\n    order {\n      ...BoardOrder\n    }\n  }\n}"): typeof import('./graphql').RestaurantOrdersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SearchMenu($query: String!, $after: String, $signedIn: Boolean!) {\n  searchMenu(query: $query, first: 20, after: $after) {\n    nodes {\n      ...MenuItemFields\n      restaurant {\n        slug\n        name\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n  me @include(if: $signedIn) {\n    ...Viewer\n  }\n}"): typeof import('./graphql').SearchMenuDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query StaffBoard {\n  me {\n    ...Viewer\n    worksFor {\n      id\n      slug\n      name\n      placed: orders(status: PLACED, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      accepted: orders(status: ACCEPTED, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      preparing: orders(status: PREPARING, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      ready: orders(status: READY, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n      outForDelivery: orders(status: OUT_FOR_DELIVERY, first: 50) {\n        edges {\n          node {\n            ...BoardOrder\n          }\n        }\n      }\n    }\n  }\n}"): typeof import('./graphql').StaffBoardDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateCartLine($input: UpdateCartLineInput!) {\n  updateCartLine(input: $input) {\n    cart {\n      ...CartFields\n    }\n    userErrors {\n      ...UserErrorFields\n    }\n  }\n}"): typeof import('./graphql').UpdateCartLineDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment Viewer on User {\n  id\n  displayName\n  role\n  cart {\n    itemCount\n  }\n}\n\nfragment MoneyFields on Money {\n  amount\n  currencyCode\n}\n\nfragment MenuItemFields on MenuItem {\n  id\n  name\n  description\n  price {\n    ...MoneyFields\n  }\n  course\n  dietary\n  available\n  stockRemaining\n  optionGroups {\n    name\n    required\n    minChoices\n    maxChoices\n    options {\n      id\n      name\n      priceDelta {\n        ...MoneyFields\n      }\n    }\n  }\n}\n\nfragment CartFields on Cart {\n  restaurant {\n    id\n    slug\n    name\n  }\n  itemCount\n  subtotal {\n    ...MoneyFields\n  }\n  lines {\n    id\n    quantity\n    menuItem {\n      id\n      name\n    }\n    options {\n      id\n      group\n      name\n      priceDelta {\n        ...MoneyFields\n      }\n    }\n    lineTotal {\n      ...MoneyFields\n    }\n  }\n}\n\nfragment UserErrorFields on UserError {\n  field\n  code\n  message\n}\n\nfragment OrderFields on Order {\n  id\n  status\n  paymentStatus\n  fulfilment\n  tableNumber\n  deliveryAddress\n  createdAt\n  subtotal {\n    ...MoneyFields\n  }\n  total {\n    ...MoneyFields\n  }\n  restaurant {\n    id\n    slug\n    name\n  }\n  lines {\n    name\n    quantity\n    total {\n      ...MoneyFields\n    }\n    options {\n      group\n      name\n    }\n  }\n  events {\n    from\n    to\n    at\n    by\n    note\n  }\n}\n\nfragment BoardOrder on Order {\n  id\n  status\n  paymentStatus\n  fulfilment\n  tableNumber\n  deliveryAddress\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  customer {\n    displayName\n  }\n  restaurant {\n    id\n    name\n  }\n  lines {\n    name\n    quantity\n    options {\n      name\n    }\n  }\n}\n\nfragment SessionFields on AuthSession {\n  accessToken\n  accessTokenExpiresAt\n  refreshToken\n  user {\n    ...Viewer\n  }\n}"): typeof import('./graphql').ViewerFragmentDoc;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
