//! Orders: by id, their lines, and one page per customer or restaurant.

use bistro_sql::KeyMap;
use std::sync::Arc;

use bistro_sql::entity::{order, order_event, order_line, payment};
use bistro_sql::query::{self, OrderOwner, PageWindow};
use sea_orm::DatabaseConnection;

use crate::Result;
use crate::batch::Load;
use crate::batch::{group_by, group_rows};

/// Orders by id.
pub struct OrderLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for OrderLoader {
    type Value = order::Model;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let rows = query::orders_by_ids(&self.db, keys).await?;
        Ok(rows.into_iter().map(|o| (o.id, o)).collect())
    }
}

/// The lines of many orders, one statement per batch.
pub struct OrderLinesLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for OrderLinesLoader {
    type Value = Arc<[order_line::Model]>;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let mut lines = group_rows(query::order_lines_by_orders(&self.db, keys).await?, |l| {
            l.order_id
        });
        Ok(keys
            .iter()
            .map(|id| (*id, lines.remove(id).unwrap_or_default().into()))
            .collect())
    }
}

/// Key of one order page: whose orders, which status, which page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderPageKey {
    /// A customer's or a restaurant's orders.
    pub owner: OrderOwner,
    /// The customer's or restaurant's id.
    pub owner_id: i64,
    /// Only orders in this status (stored form).
    pub status: Option<String>,
    /// Which page.
    pub window: PageWindow<i64>,
}

/// Order pages: one windowed statement per distinct page shape.
pub struct OrderPageLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<OrderPageKey> for OrderPageLoader {
    type Value = Arc<[order::Model]>;

    async fn load(&self, keys: &[OrderPageKey]) -> Result<KeyMap<OrderPageKey, Self::Value>> {
        let mut out = KeyMap::with_capacity_and_hasher(keys.len(), Default::default());
        for ((owner, status, window), owner_ids) in group_by(keys, |k| {
            ((k.owner, k.status.clone(), k.window.clone()), k.owner_id)
        }) {
            let rows =
                query::order_pages(&self.db, owner, &owner_ids, status.as_deref(), &window).await?;
            let mut pages = group_rows(rows, |o| match owner {
                OrderOwner::Customer => o.user_id,
                OrderOwner::Restaurant => o.restaurant_id,
            });
            for owner_id in owner_ids {
                let page = pages.remove(&owner_id).unwrap_or_default();
                out.insert(
                    OrderPageKey {
                        owner,
                        owner_id,
                        status: status.clone(),
                        window: window.clone(),
                    },
                    page.into(),
                );
            }
        }
        Ok(out)
    }
}

/// The payment of each order (its latest attempt), one statement per batch.
pub struct PaymentLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for PaymentLoader {
    type Value = payment::Model;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        // Oldest first: the last one per order wins.
        let rows = bistro_sql::ordering::payments_by_orders(&self.db, keys).await?;
        Ok(rows.into_iter().map(|p| (p.order_id, p)).collect())
    }
}

/// The events (status transitions) of each order, oldest first, one statement per batch.
pub struct OrderEventsLoader {
    pub(crate) db: DatabaseConnection,
}

impl Load<i64> for OrderEventsLoader {
    type Value = Arc<[order_event::Model]>;

    async fn load(&self, keys: &[i64]) -> Result<KeyMap<i64, Self::Value>> {
        let mut events = group_rows(
            bistro_sql::ordering::events_by_orders(&self.db, keys).await?,
            |e| e.order_id,
        );
        Ok(keys
            .iter()
            .map(|id| (*id, events.remove(id).unwrap_or_default().into()))
            .collect())
    }
}
