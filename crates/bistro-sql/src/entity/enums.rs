//! Enumerations stored as strings, so both backends share one column type and
//! new variants need no schema change.

use sea_orm::entity::prelude::*;

/// What an account may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum UserRole {
    /// Orders food; sees only their own orders.
    #[sea_orm(string_value = "CUSTOMER")]
    Customer,
    /// Works for one or more restaurants (see `restaurant_staff`).
    #[sea_orm(string_value = "STAFF")]
    Staff,
    /// Operates the whole platform.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

/// Which part of a meal a menu item is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Course {
    /// Something to drink.
    #[sea_orm(string_value = "DRINK")]
    Drink,
    /// Served first.
    #[sea_orm(string_value = "STARTER")]
    Starter,
    /// The main dish.
    #[sea_orm(string_value = "MAIN")]
    Main,
    /// Served last.
    #[sea_orm(string_value = "DESSERT")]
    Dessert,
    /// Served alongside a main.
    #[sea_orm(string_value = "SIDE")]
    Side,
}

/// An order's place in its lifecycle.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum OrderStatus {
    /// Placed by the customer, waiting for the restaurant.
    #[sea_orm(string_value = "PLACED")]
    Placed,
    /// Accepted by the restaurant.
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    /// Being cooked.
    #[sea_orm(string_value = "PREPARING")]
    Preparing,
    /// Ready for pickup, delivery or the table.
    #[sea_orm(string_value = "READY")]
    Ready,
    /// On its way to the customer.
    #[sea_orm(string_value = "OUT_FOR_DELIVERY")]
    OutForDelivery,
    /// Handed over.
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    /// Refused by the restaurant.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// Cancelled before preparation.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// Where an order's money stands, independently of its status.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum PaymentStatus {
    /// Not yet answered by the processor.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Funds reserved.
    #[sea_orm(string_value = "AUTHORIZED")]
    Authorized,
    /// Funds taken.
    #[sea_orm(string_value = "CAPTURED")]
    Captured,
    /// Refused by the processor.
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    /// Reserved funds released before capture (rejected or cancelled in time).
    #[sea_orm(string_value = "VOIDED")]
    Voided,
    /// Given back after capture.
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
    /// Captured, and part of it given back (from the processor's dashboard).
    #[sea_orm(string_value = "PARTIALLY_REFUNDED")]
    PartiallyRefunded,
    /// Captured, and disputed by the card holder with their bank.
    #[sea_orm(string_value = "DISPUTED")]
    Disputed,
}

/// How an order reaches the customer.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Fulfilment {
    /// Collected at the counter.
    #[sea_orm(string_value = "PICKUP")]
    Pickup,
    /// Brought to an address.
    #[sea_orm(string_value = "DELIVERY")]
    Delivery,
    /// Served at a table.
    #[sea_orm(string_value = "DINE_IN")]
    DineIn,
}

/// Delivery state of an outgoing email.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Delivered.
    #[sea_orm(string_value = "SENT")]
    Sent,
    /// Given up after the last retry.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// What a pending step does.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum StepKind {
    /// A checkout: stock held, a payment authorized, an order to write.
    #[sea_orm(string_value = "CHECKOUT")]
    Checkout,
    /// A transition of an order that captures its payment.
    #[sea_orm(string_value = "CAPTURE")]
    Capture,
    /// A transition of an order that voids its authorization.
    #[sea_orm(string_value = "VOID")]
    Void,
    /// A transition of an order that refunds its payment.
    #[sea_orm(string_value = "REFUND")]
    Refund,
}

/// How far a pending step got.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum StepState {
    /// Under way: nothing is committed in SQL yet.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// Its SQL write committed; what follows the commit (the cart, counts,
    /// the live event, stock given back) may remain.
    #[sea_orm(string_value = "COMMITTED")]
    Committed,
}
