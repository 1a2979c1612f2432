//! Limited daily stock: units of an item left today, reserved atomically
//! at checkout.
//!
//! **Layout** `stock:v1:{day}:{restaurant id}` (hash): menu item id → units
//! left that day (UTC). One hash per restaurant and day, so a cart (one
//! restaurant) is reserved in one atomic step on one key (a Lua script on
//! Redis: cluster-safe), and the stock of a whole menu page is one
//! pipelined `HGET` per batch. Only items with a `daily_stock` have a field.
//!
//! A field is created when first needed, from SQL: the item's `daily_stock`
//! minus the units of the day's orders that were not rejected or
//! cancelled. Checkout takes units (all lines or none, never below zero)
//! before it authorizes the payment, recording them in a hold field
//! (`hold:{pending step id}` → `item:units,…`), so the take happens once
//! per checkout however often it is repeated, and giving back a failed
//! checkout's units (by the request, or by recovery after it died) happens
//! once; the hold is forgotten once the order is written. A rejected or
//! cancelled order gives its units back once (a `back:{order id}` marker);
//! changing an item's `daily_stock` drops its field, so it is recomputed.
//! Written by checkout, order transitions and menu edits; read by
//! `MenuItem.stockRemaining` and checkout. Expires two days after its day.
//!
//! When lost (flushed, expired early), fields are recomputed from SQL on
//! the next use: exact, except that checkouts in flight at the moment of
//! the loss are not counted until they commit, so those units can be sold
//! twice.

use bistro_sql::KeyMap;
use std::time::Duration;

use bistro_kv::Kv;
use bistro_sql::entity::{menu_item, order};
use bistro_sql::ordering;
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::Result;
use crate::batch::Load;
use crate::events::{self, AvailabilityReason};

/// How long a day's stock hash outlives the day.
pub const RETENTION: Duration = Duration::from_secs(2 * 24 * 3600);

bistro_kv::kv_key! {
    /// One restaurant's limited stock for one day.
    pub struct StockKey { pub day: NaiveDate, pub restaurant_id: i64 } => hash i64 => i64 = "stock:v1:{day}:{restaurant_id}";
}

/// Units wanted of one limited item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// The item.
    pub menu_item_id: i64,
    /// Its daily stock.
    pub daily_stock: i32,
    /// Units wanted (all lines of the item together).
    pub quantity: i64,
}

/// Units left of every item, counted from SQL (one statement).
async fn remaining_from_sql(
    db: &DatabaseConnection,
    day: NaiveDate,
    items: &[(i64, i32)],
) -> Result<KeyMap<i64, i64>> {
    let ids: Vec<i64> = items.iter().map(|(id, _)| *id).collect();
    let sold = ordering::units_sold_on(db, day, &ids).await?;
    Ok(items
        .iter()
        .map(|(id, stock)| {
            let left = i64::from(*stock) - sold.get(id).copied().unwrap_or(0);
            (*id, left.max(0))
        })
        .collect())
}

/// The field of a stock hash that records the units a checkout holds (its
/// pending step): a take happens once per hold, and only a take that is
/// held can be given back by [`release_hold`].
fn hold_field(step_id: i64) -> String {
    format!("hold:{step_id}")
}

/// Takes `wants` from one day's stock of one restaurant, all or nothing,
/// once for the checkout whose pending step is `step_id` (a repeat takes
/// nothing more). `Ok(Ok(left))`: taken, with the units left of each item;
/// `Ok(Err(id))`: nothing taken, `id` has fewer units left than wanted.
/// Publishes `SOLD_OUT` for the items this took to zero.
pub async fn reserve(
    db: &DatabaseConnection,
    kv: &Kv,
    day: NaiveDate,
    restaurant_id: i64,
    wants: &[Want],
    step_id: i64,
) -> Result<std::result::Result<Vec<(i64, i64)>, i64>> {
    if wants.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let items: Vec<(i64, i32)> = wants
        .iter()
        .map(|w| (w.menu_item_id, w.daily_stock))
        .collect();
    let initial = remaining_from_sql(db, day, &items).await?;
    let takes: Vec<(i64, i64, i64)> = wants
        .iter()
        .map(|w| {
            (
                w.menu_item_id,
                w.quantity,
                initial.get(&w.menu_item_id).copied().unwrap_or(0),
            )
        })
        .collect();
    let key = StockKey { day, restaurant_id };
    let held = wants
        .iter()
        .map(|w| format!("{}:{}", w.menu_item_id, w.quantity))
        .collect::<Vec<_>>()
        .join(",");
    let hold = hold_field(step_id);
    match kv
        .take_fields(&key, &takes, Some(RETENTION), Some((&hold, &held)))
        .await?
    {
        Ok(left) => {
            let left: Vec<(i64, i64)> = wants.iter().map(|w| w.menu_item_id).zip(left).collect();
            for (id, units) in &left {
                if *units == 0 {
                    events::publish_menu_availability(
                        kv,
                        *id,
                        restaurant_id,
                        AvailabilityReason::SoldOut,
                        true,
                        Some(0),
                    )
                    .await;
                }
            }
            Ok(Ok(left))
        }
        Err(index) => Ok(Err(wants.get(index).map_or(0, |w| w.menu_item_id))),
    }
}

/// Gives back what the checkout whose pending step is `step_id` holds
/// (`gives`: the units it took), once: a hold released already, or never
/// taken, gives nothing. Publishes `RESTOCKED` for items that were sold out.
pub async fn release_hold(
    kv: &Kv,
    day: NaiveDate,
    restaurant_id: i64,
    step_id: i64,
    gives: &[(i64, i64)],
) -> Result<()> {
    let key = StockKey { day, restaurant_id };
    let now = kv.release_fields(&key, &hold_field(step_id), gives).await?;
    restocked(kv, restaurant_id, gives, &now).await;
    Ok(())
}

/// Forgets the hold of a checkout whose order was written: its units are
/// the order's now (a rejection or cancellation gives them back).
pub async fn settle_hold(kv: &Kv, day: NaiveDate, restaurant_id: i64, step_id: i64) {
    let key = bistro_kv::typed::Key::render(&StockKey { day, restaurant_id });
    if let Err(error) = kv.hdel(&key, &[hold_field(step_id)]).await {
        tracing::warn!(%error, restaurant.id = restaurant_id, "forgetting a settled stock hold failed; it expires with its day");
    }
}

/// Publishes `RESTOCKED` for items whose units were all given back.
async fn restocked(kv: &Kv, restaurant_id: i64, gives: &[(i64, i64)], now: &[Option<i64>]) {
    for ((id, units), left) in gives.iter().zip(now) {
        if let Some(left) = left
            && left == units
            && *units > 0
        {
            events::publish_menu_availability(
                kv,
                *id,
                restaurant_id,
                AvailabilityReason::Restocked,
                true,
                Some(*left),
            )
            .await;
        }
    }
}

/// Gives a rejected or cancelled order's units back to the stock of the
/// day it was placed (if that day's stock is still kept), once per order:
/// a repeat (recovery finishing what a request started) gives nothing.
/// Its lines come through the request's loader, where the answer finds them.
pub(crate) async fn give_back_order(
    loaders: &crate::Loaders,
    kv: &Kv,
    order: &order::Model,
) -> Result<()> {
    let lines = loaders
        .order_lines
        .load_one(order.id)
        .await?
        .unwrap_or_default();
    let mut units: KeyMap<i64, i64> = KeyMap::default();
    for line in lines.iter() {
        *units.entry(line.menu_item_id).or_default() += i64::from(line.quantity);
    }
    // Only limited items have fields; giving to a missing field does nothing.
    let gives: Vec<(i64, i64)> = units.into_iter().collect();
    let key = StockKey {
        day: order.created_at.date_naive(),
        restaurant_id: order.restaurant_id,
    };
    let now = kv
        .give_fields_once(&key, &format!("back:{}", order.id), &gives)
        .await?;
    restocked(kv, order.restaurant_id, &gives, &now).await;
    Ok(())
}

/// After a menu item changed: a new `daily_stock` drops today's field (it is
/// recomputed from the new stock), and a change of `available` is published.
pub async fn item_changed(kv: &Kv, before: &menu_item::Model, after: &menu_item::Model) {
    let day = crate::popularity::today();
    if before.daily_stock != after.daily_stock {
        let key = bistro_kv::typed::Key::render(&StockKey {
            day,
            restaurant_id: after.restaurant_id,
        });
        if let Err(error) = kv.hdel(&key, &[after.id.to_string()]).await {
            tracing::error!(%error, menu_item.id = after.id, "dropping a changed stock counter failed; it expires with its day");
        }
        if after.daily_stock.unwrap_or(i32::MAX) > before.daily_stock.unwrap_or(i32::MAX)
            || (before.daily_stock.is_some() && after.daily_stock.is_none())
        {
            events::publish_menu_availability(
                kv,
                after.id,
                after.restaurant_id,
                AvailabilityReason::Restocked,
                after.available,
                None,
            )
            .await;
        }
    }
    if before.available != after.available {
        events::publish_menu_availability(
            kv,
            after.id,
            after.restaurant_id,
            AvailabilityReason::AvailabilitySet,
            after.available,
            None,
        )
        .await;
    }
}

/// What to read the stock of: a limited item of a restaurant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StockQuery {
    /// The item's restaurant.
    pub restaurant_id: i64,
    /// The item.
    pub menu_item_id: i64,
    /// Its daily stock.
    pub daily_stock: i32,
}

/// Units left today: one pipelined read of the stock hashes per batch,
/// then, for items without a field yet, one SQL count.
pub struct StockLoader {
    pub(crate) db: DatabaseConnection,
    pub(crate) kv: Kv,
    pub(crate) day: NaiveDate,
}

impl Load<StockQuery> for StockLoader {
    type Value = i64;

    async fn load(&self, keys: &[StockQuery]) -> Result<KeyMap<StockQuery, Self::Value>> {
        let fields: Vec<(StockKey, i64)> = keys
            .iter()
            .map(|k| {
                (
                    StockKey {
                        day: self.day,
                        restaurant_id: k.restaurant_id,
                    },
                    k.menu_item_id,
                )
            })
            .collect();
        let stored = self.kv.load_fields(&fields).await?;
        let mut out = KeyMap::with_capacity_and_hasher(keys.len(), Default::default());
        let mut misses = Vec::new();
        for (key, value) in keys.iter().zip(stored) {
            match value {
                Some(left) => {
                    out.insert(*key, left.max(0));
                }
                None => misses.push(*key),
            }
        }
        if !misses.is_empty() {
            let items: Vec<(i64, i32)> = misses
                .iter()
                .map(|k| (k.menu_item_id, k.daily_stock))
                .collect();
            let left = remaining_from_sql(&self.db, self.day, &items).await?;
            for key in misses {
                out.insert(key, left.get(&key.menu_item_id).copied().unwrap_or(0));
            }
        }
        Ok(out)
    }
}

impl crate::Scope {
    /// After a menu item write committed: resets today's stock counter when
    /// the daily stock changed, and publishes availability changes.
    pub async fn menu_item_changed(&self, before: &menu_item::Model, after: &menu_item::Model) {
        item_changed(&self.kv, before, after).await;
        self.loaders.stock.clear();
    }
}
