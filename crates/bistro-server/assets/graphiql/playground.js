// Bistro's GraphiQL page (index.html loads it after React, ReactDOM and
// GraphiQL). A file of its own rather than an inline <script>, so the page's
// Content-Security-Policy allows scripts from the server only ('self') and
// never inline ones (src/graphiql.rs).
'use strict';

// Queries and mutations go over HTTP POST to /graphql; subscriptions over
// graphql-ws on /graphql/ws (same origin, ws: or wss: to match the page).
// Headers typed into the headers editor (e.g. Authorization) are sent as
// HTTP headers, and for subscriptions as the connection_init payload.
const url = new URL('/graphql', location.origin).toString();
const subscriptionUrl =
  (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql/ws';

const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl });

const defaultQuery = `# Welcome to Bistro. This query reads both stores in one request:
# restaurants, menus and prices come from SQL; ratings, popularity and
# trending items from the key-value store. Press the run button (or Ctrl-Enter).
query RestaurantPage {
  restaurants(first: 5) {
    totalCount
    edges {
      node {
        name
        cuisine
        rating { average count }
        menu(first: 5) {
          edges {
            node {
              name
              price { amount currencyCode }
              popularity { ordersToday rank }
            }
          }
        }
        trendingItems(limit: 3) { item { name } ordersToday }
      }
    }
  }
}
`;

ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  }),
);
