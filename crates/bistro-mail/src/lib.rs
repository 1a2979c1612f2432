#![doc = include_str!("../README.md")]

mod delivery;
mod worker;

pub use delivery::{Delivered, Delivery, DeliveryError, OutgoingMessage};
pub use worker::{Clock, MailSettings, Worker};
