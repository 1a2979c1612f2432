// The companion subgraph: a small deliveries service, the kind of subgraph
// that federates with Bistro in a supergraph.
//
// It extends Bistro's `Order` entity with a `delivery` field, references
// Bistro's `User` as the courier (a stub it cannot resolve itself:
// `resolvable: false`), and defines `Money` and `PageInfo` as Bistro does,
// which composes only because both subgraphs mark them `@shareable`.
// Deliveries are computed from the order id, so the check knows the answer.

import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

export const typeDefs = parse(`#graphql
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])

  # Bistro's order, extended with how it reaches the customer. Types this
  # subgraph shares with Bistro carry no description of their own:
  # composition would report two different ones (INCONSISTENT_DESCRIPTION).
  type Order @key(fields: "id") {
    id: ID!
    "The delivery of this order."
    delivery: Delivery
  }

  # Bistro's account; this subgraph only names couriers by id.
  type User @key(fields: "id", resolvable: false) {
    id: ID!
  }

  "Where a delivery stands."
  enum DeliveryStatus {
    ASSIGNED
    ON_THE_WAY
    DELIVERED
  }

  "An order on its way."
  type Delivery {
    "The order delivered."
    order: Order!
    "Where it stands."
    status: DeliveryStatus!
    "Minutes until it arrives; null once delivered."
    etaMinutes: Int
    "What the delivery costs."
    fee: Money!
    "Who brings it."
    courier: User
  }

  # Shared with Bistro.
  type Money @shareable {
    amount: Decimal!
    currencyCode: CurrencyCode!
  }

  scalar Decimal
  scalar CurrencyCode

  "A page of deliveries."
  type DeliveryConnection {
    nodes: [Delivery!]!
    pageInfo: PageInfo!
  }

  # Shared with Bistro.
  type PageInfo @shareable {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type Query {
    "The delivery of an order, by the order's id."
    delivery(orderId: ID!): Delivery
    "Deliveries of the given orders."
    deliveries(orderIds: [ID!]!): DeliveryConnection!
  }
`);

const STATUSES = ['ASSIGNED', 'ON_THE_WAY', 'DELIVERED'];

/** The delivery of an order: a pure function of its id. */
export function deliveryOf(orderId, courierId) {
  const sum = [...orderId].reduce((total, c) => total + c.charCodeAt(0), 0);
  const status = STATUSES[sum % STATUSES.length];
  return {
    orderId,
    status,
    etaMinutes: status === 'DELIVERED' ? null : 5 + (sum % 30),
    fee: { amount: '3.50', currencyCode: 'EUR' },
    courierId,
  };
}

function resolvers(courierId) {
  return {
    Query: {
      delivery: (_, { orderId }) => deliveryOf(orderId, courierId),
      deliveries: (_, { orderIds }) => ({
        nodes: orderIds.map((id) => deliveryOf(id, courierId)),
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      }),
    },
    Order: {
      __resolveReference: ({ id }) => ({ id }),
      delivery: ({ id }) => deliveryOf(id, courierId),
    },
    Delivery: {
      order: ({ orderId }) => ({ __typename: 'Order', id: orderId }),
      courier: ({ courierId: id }) => (id ? { __typename: 'User', id } : null),
    },
  };
}

/** Starts the companion subgraph on a free port; returns its URL and a stop function. */
export async function startCompanion(courierId) {
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs, resolvers: resolvers(courierId) }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  return { url, stop: () => server.stop() };
}
