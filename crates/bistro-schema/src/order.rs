//! `Order`: what a customer bought, where, and where it stands. Visible to
//! its customer, the staff of its restaurant, and admins.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use bistro_data::OrderOwner;
use bistro_data::entity::{self, order, order_event, order_line, payment};
use chrono::{DateTime, Utc};

use crate::auth::{Can, Rule, viewer};
use crate::connection::{self, PageArgs};
use crate::error::{Coded, nullable, soft};
use crate::ids::{CursorList as _, list};
use crate::ids::{NodeType, global_id};
use crate::money::Money;
use crate::objects::{
    Fulfilment, MenuItem, Order, OrderConnection, OrderEdge, OrderStatus, Restaurant, User,
};
use crate::request::context::loaders;
use bistro_data::order::OrderPageKey;

impl Order {
    /// Loads an order by id for a viewer who may see it. An order the viewer
    /// may not see is `None`, exactly like one that does not exist: a refusal
    /// would tell an outsider which order ids exist (and so how many orders
    /// a restaurant takes).
    pub async fn try_load(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<Self>> {
        let loaders = loaders(ctx)?;
        let order = loaders.order.load_one(id).await.coded()?;
        Ok(order.and_then(|order| Self::if_visible(ctx, order)))
    }

    /// The order, if the viewer may see it (`None` otherwise, like an unknown id).
    pub(crate) fn if_visible(ctx: &Context<'_>, order: order::Model) -> Option<Self> {
        viewer(ctx)
            .check(Rule::Order {
                customer_id: order.user_id,
                restaurant_id: order.restaurant_id,
            })
            .is_ok()
            .then_some(Self(order))
    }
}

impl OrderStatus {
    /// The stored status.
    pub(crate) fn to_entity(self) -> entity::OrderStatus {
        use entity::OrderStatus as S;
        match self {
            Self::Placed => S::Placed,
            Self::Accepted => S::Accepted,
            Self::Preparing => S::Preparing,
            Self::Ready => S::Ready,
            Self::OutForDelivery => S::OutForDelivery,
            Self::Completed => S::Completed,
            Self::Rejected => S::Rejected,
            Self::Cancelled => S::Cancelled,
        }
    }

    pub(crate) fn from_entity(status: entity::OrderStatus) -> Self {
        use entity::OrderStatus as S;
        match status {
            S::Placed => Self::Placed,
            S::Accepted => Self::Accepted,
            S::Preparing => Self::Preparing,
            S::Ready => Self::Ready,
            S::OutForDelivery => Self::OutForDelivery,
            S::Completed => Self::Completed,
            S::Rejected => Self::Rejected,
            S::Cancelled => Self::Cancelled,
        }
    }

    /// The stored form, for filters.
    pub(crate) fn stored(self) -> &'static str {
        match self {
            Self::Placed => "PLACED",
            Self::Accepted => "ACCEPTED",
            Self::Preparing => "PREPARING",
            Self::Ready => "READY",
            Self::OutForDelivery => "OUT_FOR_DELIVERY",
            Self::Completed => "COMPLETED",
            Self::Rejected => "REJECTED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// Where an order's money stands (independent of its status).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Waiting for the payment processor.
    Pending,
    /// Funds reserved.
    Authorized,
    /// Funds taken.
    Captured,
    /// Refused by the processor.
    Declined,
    /// Reserved funds released before capture (the order was rejected or cancelled in time).
    Voided,
    /// Given back after capture.
    Refunded,
    /// Captured, and part of it given back (from the payment processor's dashboard).
    PartiallyRefunded,
    /// Captured, and disputed by the card holder with their bank, which
    /// holds the money until the dispute ends.
    Disputed,
}

impl From<entity::PaymentStatus> for PaymentStatus {
    fn from(status: entity::PaymentStatus) -> Self {
        use entity::PaymentStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Authorized => Self::Authorized,
            S::Captured => Self::Captured,
            S::Declined => Self::Declined,
            S::Voided => Self::Voided,
            S::PartiallyRefunded => Self::PartiallyRefunded,
            S::Disputed => Self::Disputed,
            S::Refunded => Self::Refunded,
        }
    }
}

impl Fulfilment {
    /// The stored fulfilment.
    pub(crate) fn to_entity(self) -> entity::Fulfilment {
        match self {
            Self::Pickup => entity::Fulfilment::Pickup,
            Self::Delivery => entity::Fulfilment::Delivery,
            Self::DineIn => entity::Fulfilment::DineIn,
        }
    }
}

impl From<entity::Fulfilment> for Fulfilment {
    fn from(f: entity::Fulfilment) -> Self {
        match f {
            entity::Fulfilment::Pickup => Self::Pickup,
            entity::Fulfilment::Delivery => Self::Delivery,
            entity::Fulfilment::DineIn => Self::DineIn,
        }
    }
}

#[Object]
/// An order placed by a customer at one restaurant.
///
/// Cache: private.
impl Order {
    /// Globally unique, opaque identifier.
    pub fn id(&self) -> ID {
        global_id(NodeType::Order, self.0.id)
    }

    /// Where the order is in its lifecycle.
    fn status(&self) -> OrderStatus {
        OrderStatus::from_entity(self.0.status)
    }

    /// Where its payment stands.
    fn payment_status(&self) -> PaymentStatus {
        self.0.payment_status.into()
    }

    /// Pickup, delivery or dine-in.
    fn fulfilment(&self) -> Fulfilment {
        self.0.fulfilment.into()
    }

    /// Table number, for dine-in orders.
    fn table_number(&self) -> Option<i32> {
        self.0.table_number
    }

    /// Delivery address, for delivery orders. Like every detail of an order,
    /// only for its customer, its restaurant's staff and admins (as the order itself).
    #[graphql(
        guard = "Can(Rule::Order { customer_id: self.0.user_id, restaurant_id: self.0.restaurant_id })"
    )]
    fn delivery_address(&self) -> Option<&str> {
        self.0.delivery_address.as_deref()
    }

    /// Sum of the lines.
    fn subtotal(&self) -> Money {
        Money::from_minor(self.0.subtotal_amount, &self.0.currency_code)
    }

    /// What the customer pays: the subtotal plus fees.
    fn total(&self) -> Money {
        Money::from_minor(self.0.total_amount, &self.0.currency_code)
    }

    /// When it was placed.
    fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The restaurant it was placed at.
    async fn restaurant(&self, ctx: &Context<'_>) -> Option<Restaurant> {
        soft(ctx, Restaurant::try_load(ctx, self.0.restaurant_id).await).flatten()
    }

    /// The customer who placed it (their email stays theirs).
    async fn customer(&self, ctx: &Context<'_>) -> Option<User> {
        soft(ctx, User::try_load(ctx, self.0.user_id).await).flatten()
    }

    /// What was bought, at the prices of the day.
    #[graphql(
        guard = "Can(Rule::Order { customer_id: self.0.user_id, restaurant_id: self.0.restaurant_id })"
    )]
    async fn lines(&self, ctx: &Context<'_>) -> Option<Vec<OrderLine>> {
        nullable(ctx, async {
            let lines = loaders(ctx)?
                .order_lines
                .load_one(self.0.id)
                .await
                .coded()?
                .unwrap_or_default();
            Ok(lines
                .iter()
                .cloned()
                .map(|line| OrderLine {
                    line,
                    currency_code: self.0.currency_code.clone(),
                })
                .collect())
        })
        .await
    }

    /// Every status change so far, oldest first: `PLACED` at checkout, then
    /// each transition, with when and by whom.
    #[graphql(
        guard = "Can(Rule::Order { customer_id: self.0.user_id, restaurant_id: self.0.restaurant_id })"
    )]
    async fn events(&self, ctx: &Context<'_>) -> Option<Vec<OrderEvent>> {
        nullable(ctx, async {
            let events = loaders(ctx)?
                .order_events
                .load_one(self.0.id)
                .await
                .coded()?
                .unwrap_or_default();
            Ok(events
                .iter()
                .cloned()
                .map(|event| OrderEvent {
                    event,
                    customer_id: self.0.user_id,
                })
                .collect())
        })
        .await
    }

    /// The payment: how much, through which provider, where it stands.
    #[graphql(
        guard = "Can(Rule::Order { customer_id: self.0.user_id, restaurant_id: self.0.restaurant_id })"
    )]
    async fn payment(&self, ctx: &Context<'_>) -> Option<Payment> {
        nullable(ctx, async {
            Ok(loaders(ctx)?
                .payment
                .load_one(self.0.id)
                .await
                .coded()?
                .map(Payment))
        })
        .await
        .flatten()
    }
}

/// Who made a status change.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderActor {
    /// The customer who placed the order.
    Customer,
    /// The restaurant (its staff, or an administrator acting for it).
    Restaurant,
    /// Bistro itself.
    System,
}

/// One status change of an order.
pub struct OrderEvent {
    event: order_event::Model,
    customer_id: i64,
}

#[Object]
/// One status change of an order.
impl OrderEvent {
    /// The status it left; null for the first event (the order was placed).
    fn from(&self) -> Option<OrderStatus> {
        self.event.from_status.map(OrderStatus::from_entity)
    }

    /// The status it reached.
    fn to(&self) -> OrderStatus {
        OrderStatus::from_entity(self.event.to_status)
    }

    /// When.
    fn at(&self) -> DateTime<Utc> {
        self.event.created_at
    }

    /// Who made it.
    fn by(&self) -> OrderActor {
        match self.event.actor_user_id {
            None => OrderActor::System,
            Some(id) if id == self.customer_id => OrderActor::Customer,
            Some(_) => OrderActor::Restaurant,
        }
    }

    /// Why, when a reason was given (a rejection's), or what happened (a
    /// change the payment processor reported).
    fn note(&self) -> Option<&str> {
        self.event.note.as_deref()
    }

    /// The payment's status after this change, when the change moved money
    /// (placed: `AUTHORIZED`; accepted: `CAPTURED`; a refund or a dispute the
    /// payment processor reported, where `from` equals `to`); null when it
    /// moved none.
    fn payment_status(&self) -> Option<PaymentStatus> {
        self.event.payment_status.map(PaymentStatus::from)
    }
}

/// An order's payment.
pub struct Payment(payment::Model);

#[Object]
/// An order's payment.
impl Payment {
    /// Where the money stands.
    fn status(&self) -> PaymentStatus {
        self.0.status.into()
    }

    /// How much, in the order's currency.
    fn amount(&self) -> Money {
        Money::from_minor(self.0.amount, &self.0.currency_code)
    }

    /// How much of it was given back (refunds by Bistro and from the
    /// payment processor's dashboard together).
    fn refunded(&self) -> Money {
        Money::from_minor(self.0.amount_refunded, &self.0.currency_code)
    }

    // `@inaccessible` in the subgraph SDL, like `reference`: the payment
    // processor's bookkeeping, for Bistro's own clients (staff reconciling
    // charges), not part of a supergraph's contract.
    /// The payment provider, e.g. "simulated".
    #[graphql(inaccessible)]
    fn provider(&self) -> &str {
        &self.0.provider
    }

    /// The provider's reference for the charge.
    #[graphql(inaccessible)]
    fn reference(&self) -> Option<&str> {
        self.0.provider_reference.as_deref()
    }
}

/// One line of an order: an item, how many, at what price.
pub struct OrderLine {
    line: order_line::Model,
    currency_code: String,
}

#[Object]
/// One line of an order: an item, how many, at what price.
impl OrderLine {
    /// The item's name when it was bought.
    fn name(&self) -> &str {
        &self.line.name
    }

    /// How many.
    fn quantity(&self) -> i32 {
        self.line.quantity
    }

    /// Price of one, options included, when it was bought.
    fn unit_price(&self) -> Money {
        Money::from_minor(self.line.unit_price_amount, &self.currency_code)
    }

    /// Price of the line.
    fn total(&self) -> Money {
        Money::from_minor(self.line.line_total_amount, &self.currency_code)
    }

    /// The menu item as it is now (null if it was removed).
    async fn menu_item(&self, ctx: &Context<'_>) -> Option<MenuItem> {
        MenuItem::load(ctx, self.line.menu_item_id).await
    }

    /// The options chosen, as they were when it was bought.
    fn options(&self) -> Vec<OrderLineOption> {
        serde_json::from_str::<Vec<serde_json::Value>>(&self.line.options)
            .unwrap_or_default()
            .into_iter()
            .map(|o| OrderLineOption {
                group: o["group"].as_str().unwrap_or_default().to_owned(),
                name: o["option"].as_str().unwrap_or_default().to_owned(),
                price_delta: Money::from_minor(
                    o["priceDelta"].as_i64().unwrap_or_default(),
                    &self.currency_code,
                ),
            })
            .collect()
    }
}

/// An option chosen on an order line, as it was when bought.
#[derive(SimpleObject)]
pub struct OrderLineOption {
    /// The option group's name, e.g. "Size".
    pub group: String,
    /// The option's name, e.g. "Large".
    pub name: String,
    /// What it added to the unit price.
    pub price_delta: Money,
}

impl OrderConnection {
    /// One page of a customer's or a restaurant's orders (the caller has checked access).
    pub(crate) async fn page(
        ctx: &Context<'_>,
        owner: OrderOwner,
        owner_id: i64,
        status: Option<OrderStatus>,
        page: PageArgs,
    ) -> async_graphql::Result<OrderConnection> {
        let window = page.window::<list::Orders>(connection::limits(ctx)?)?;
        let key = OrderPageKey {
            owner,
            owner_id,
            status: status.map(|s| s.stored().to_owned()),
            window: window.clone(),
        };
        let rows = loaders(ctx)?
            .order_page
            .load_one(key)
            .await
            .coded()?
            .unwrap_or_default();
        let loaders = loaders(ctx)?;
        loaders.order.prime(rows.iter().map(|o| (o.id, o.clone())));
        let (rows, has_next, has_previous) = connection::trim_page(rows.to_vec(), &window);
        let edges: Vec<OrderEdge> = rows
            .into_iter()
            .map(|o| OrderEdge {
                cursor: list::Orders::encode(&o.id),
                node: Order(o),
            })
            .collect();
        Ok(OrderConnection {
            page_info: connection::page_info(&edges, |e| &e.cursor, has_next, has_previous),
            edges,
        })
    }
}

/// The payment processor checkout pays through.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentProcessor {
    /// The built-in simulated card processor: no real money moves; pay with
    /// its test tokens (`tok_visa`, `tok_chargeDeclined`, …).
    Simulated,
    /// Stripe: take the card with Stripe Elements and pay with the
    /// PaymentMethod id Stripe.js makes.
    Stripe,
}

/// How checkout takes cards on this server.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct PaymentForm {
    /// The payment processor.
    pub processor: PaymentProcessor,
    /// Stripe's publishable key for Stripe.js (`pk_…`); null with the
    /// simulated processor.
    pub stripe_publishable_key: Option<String>,
    /// Where to load Stripe.js from (the page's Content-Security-Policy
    /// allows it); null with the simulated processor.
    pub stripe_js_url: Option<String>,
}

impl PaymentForm {
    pub(crate) fn of(payments: &bistro_data::Payments) -> Self {
        let browser = &payments.browser;
        let stripe = payments.provider.name() == "stripe";
        let set = |value: &str| (stripe && !value.is_empty()).then(|| value.to_owned());
        Self {
            processor: if stripe {
                PaymentProcessor::Stripe
            } else {
                PaymentProcessor::Simulated
            },
            stripe_publishable_key: set(&browser.publishable_key),
            stripe_js_url: set(&browser.script_url),
        }
    }
}
