//! sea-orm entities: one module per table, enums stored as upper-case strings.
//!
//! Relations between tables are enforced by foreign keys in the migrations;
//! the read path walks them through the batched queries in [`crate::query`],
//! never through lazy per-row relation loading.

pub mod email_outbox;
pub mod menu_item;
pub mod menu_option;
pub mod menu_option_group;
pub mod order;
pub mod order_event;
pub mod order_line;
pub mod payment;
pub mod pending_step;
pub mod persisted_document;
pub mod persisted_document_revision;
pub mod processor_event;
pub mod restaurant;
pub mod restaurant_staff;
pub mod review;
pub mod simulated_authorization;
pub mod simulated_operation;
pub mod simulated_pause;
pub mod user;

mod enums;
pub use enums::{
    Course, Fulfilment, OrderStatus, OutboxStatus, PaymentStatus, StepKind, StepState, UserRole,
};
