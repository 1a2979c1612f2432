//! Deterministic demo and benchmark data.
//!
//! The same [`SeedOptions::seed`] and [`SeedOptions::now`] always give the
//! same rows, on SQLite and on PostgreSQL: every random choice comes from one
//! seeded generator, drawn in a fixed order. Ids are assigned here (the
//! database is empty), so foreign keys need no read-back; PostgreSQL's id
//! sequences are moved past them at the end.
//!
//! Everything is written in one transaction: a seed that fails half-way
//! leaves the database empty, not half-seeded.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    EntityTrait, FromQueryResult, PaginatorTrait, Statement,
};

use crate::Result;
use crate::entity::{
    Course, Fulfilment, OrderStatus, PaymentStatus, UserRole, menu_item, menu_option,
    menu_option_group, order, order_event, order_line, payment, restaurant, restaurant_staff,
    review, simulated_authorization, user,
};

/// The demo customer (password: the seeding command's demo password).
pub const DEMO_CUSTOMER_EMAIL: &str = "customer@bistro.test";
/// The demo staff member, working for the first restaurant (among others).
pub const DEMO_STAFF_EMAIL: &str = "staff@bistro.test";
/// The demo administrator.
pub const DEMO_ADMIN_EMAIL: &str = "admin@bistro.test";

/// How much data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedSize {
    /// A dozen restaurants: what `cargo run` seeds into an empty database.
    Small,
    /// The benchmark data set (`shared/workloads`): 1,000 restaurants,
    /// 30,000 menu items, 5,000 users, 50,000 orders, 20,000 reviews.
    Standard,
}

impl FromStr for SeedSize {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "small" => Ok(Self::Small),
            "standard" => Ok(Self::Standard),
            other => Err(format!(
                "unknown size {other:?}: expected small or standard"
            )),
        }
    }
}

impl fmt::Display for SeedSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Small => "small",
            Self::Standard => "standard",
        })
    }
}

/// Row counts of one size.
#[derive(Debug, Clone, Copy)]
struct Plan {
    restaurants: u64,
    items_per_restaurant: u64,
    customers: u64,
    staff: u64,
    admins: u64,
    orders: u64,
    reviews: u64,
    carts: usize,
}

impl SeedSize {
    /// How many customers get a cart in the key-value store (see [`cart_plan`]).
    pub fn carts(self) -> usize {
        self.plan().carts
    }

    fn plan(self) -> Plan {
        match self {
            Self::Small => Plan {
                restaurants: 12,
                items_per_restaurant: 12,
                customers: 35,
                staff: 3,
                admins: 2,
                orders: 400,
                reviews: 150,
                carts: 5,
            },
            Self::Standard => Plan {
                restaurants: 1_000,
                items_per_restaurant: 30,
                customers: 4_900,
                staff: 90,
                admins: 10,
                orders: 50_000,
                reviews: 20_000,
                carts: 500,
            },
        }
    }
}

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// How much.
    pub size: SeedSize,
    /// The generator's seed: the same number gives the same data.
    pub seed: u64,
    /// PHC string stored as every seeded account's password hash (hashing
    /// thousands of passwords with argon2 would take minutes).
    pub password_hash: String,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// The moment that counts as now. Orders are spread over the 30 days
    /// before it, a tenth of them earlier on its day (UTC, the day of
    /// popularity counts and daily stock); nothing is dated after it, and
    /// today's most recent orders are still being prepared.
    pub now: DateTime<Utc>,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedSummary {
    /// Restaurants.
    pub restaurants: u64,
    /// Menu items.
    pub menu_items: u64,
    /// Accounts of every role.
    pub users: u64,
    /// Orders.
    pub orders: u64,
    /// Order lines.
    pub order_lines: u64,
    /// Reviews.
    pub reviews: u64,
}

/// Whether the database has no restaurants yet (seeding is for empty databases only).
pub async fn is_empty(db: &DatabaseConnection) -> Result<bool> {
    Ok(restaurant::Entity::find().count(db).await? == 0)
}

/// Units of each menu item ordered on `day` (UTC), per restaurant:
/// `(restaurant id, menu item id, units)`. Rejected and cancelled orders do not count.
pub async fn todays_order_lines(
    db: &DatabaseConnection,
    day: NaiveDate,
) -> Result<Vec<(i64, i64, i64)>> {
    #[derive(FromQueryResult)]
    struct Row {
        restaurant_id: i64,
        menu_item_id: i64,
        units: i64,
    }
    let (start, end) = day_bounds(day);
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT o.restaurant_id, l.menu_item_id, CAST(SUM(l.quantity) AS BIGINT) AS units \
             FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.created_at >= $1 AND o.created_at < $2 \
               AND o.status NOT IN ('REJECTED', 'CANCELLED') \
             GROUP BY o.restaurant_id, l.menu_item_id ORDER BY 1, 2"
        }
        _ => {
            "SELECT o.restaurant_id, l.menu_item_id, CAST(SUM(l.quantity) AS BIGINT) AS units \
             FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.created_at >= ? AND o.created_at < ? \
               AND o.status NOT IN ('REJECTED', 'CANCELLED') \
             GROUP BY o.restaurant_id, l.menu_item_id ORDER BY 1, 2"
        }
    };
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [start.into(), end.into()],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.restaurant_id, r.menu_item_id, r.units))
        .collect())
}

/// An open cart to put in the key-value store: one restaurant's items and quantities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedCart {
    /// Whose cart.
    pub user_id: i64,
    /// The restaurant it orders from (one at a time).
    pub restaurant_id: i64,
    /// `(menu item id, quantity)`, each item once.
    pub lines: Vec<(i64, i32)>,
}

/// Deterministic open carts for `count` customers of a seeded database (the
/// demo customer first), each with one to three available items of one
/// restaurant. The carts live in the key-value store; this only plans them.
pub async fn cart_plan(db: &DatabaseConnection, seed: u64, count: usize) -> Result<Vec<SeedCart>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut customers: Vec<i64> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Role.eq(UserRole::Customer))
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let items: Vec<(i64, i64)> = menu_item::Entity::find()
        .select_only()
        .column(menu_item::Column::RestaurantId)
        .column(menu_item::Column::Id)
        .filter(menu_item::Column::Available.eq(true))
        .order_by_asc(menu_item::Column::RestaurantId)
        .order_by_asc(menu_item::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut menus: std::collections::BTreeMap<i64, Vec<i64>> = std::collections::BTreeMap::new();
    for (restaurant_id, item_id) in items {
        menus.entry(restaurant_id).or_default().push(item_id);
    }
    let menus: Vec<(i64, Vec<i64>)> = menus.into_iter().collect();
    if customers.is_empty() || menus.is_empty() {
        return Ok(Vec::new());
    }
    // A stream of its own, so planning carts does not shift the SQL data.
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xCA27_5EED);
    let first = customers.remove(0);
    rng.shuffle(&mut customers);
    customers.insert(0, first);
    Ok(customers
        .into_iter()
        .take(count)
        .map(|user_id| {
            let (restaurant_id, menu) = &menus[rng.usize(..menus.len())];
            let mut lines: Vec<(i64, i32)> = Vec::new();
            for _ in 0..rng.usize(1..=3) {
                let item = menu[rng.usize(..menu.len())];
                if !lines.iter().any(|(id, _)| *id == item) {
                    lines.push((item, rng.i32(1..=3)));
                }
            }
            SeedCart {
                user_id,
                restaurant_id: *restaurant_id,
                lines,
            }
        })
        .collect())
}

fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
    (start, start + Duration::days(1))
}

/// One seeded restaurant's menu: `(restaurant id, currency, [(item id, price, name)])`.
type Menu = (i64, &'static str, Vec<(i64, i64, String)>);

/// Rows per `INSERT`: below both backends' bind-parameter limits for the widest table.
const BATCH: usize = 1_000;

/// Seeds an empty database. See the module documentation.
pub async fn seed(db: &DatabaseConnection, options: &SeedOptions) -> Result<SeedSummary> {
    let plan = options.size.plan();
    let now = chrono::SubsecRound::trunc_subsecs(options.now, 0);
    let total_rows = plan.restaurants * (1 + plan.items_per_restaurant)
        + plan.customers
        + plan.staff
        + plan.admins
        // An order, its lines, payment, ledger entry and events, about.
        + plan.orders * 7
        + plan.reviews;
    let bar = progress_bar(options.progress, total_rows);

    let (_turn, txn) = crate::ordering::begin_write(db).await?;
    // The steps draw from one generator in this order: the same seed gives the same data.
    let mut seeding = Seeding {
        txn: &txn,
        options,
        plan,
        rng: fastrand::Rng::with_seed(options.seed),
        now,
        bar,
        summary: SeedSummary::default(),
    };
    let (staff_ids, customer_ids) = seeding.users().await?;
    let menus = seeding.restaurants().await?;
    seeding.staff(&menus, &staff_ids).await?;
    seeding.orders(&menus, &staff_ids, &customer_ids).await?;
    seeding.reviews(&menus, &customer_ids).await?;
    let Seeding { bar, summary, .. } = seeding;

    if txn.get_database_backend() == DatabaseBackend::Postgres {
        reset_sequences(&txn).await?;
    }
    txn.commit().await?;
    // A bulk load leaves the planner's statistics behind (PostgreSQL's
    // autovacuum may be off or not have run yet): without them it plans the
    // option-group join of every checkout as a sequential scan.
    db.execute_unprepared("ANALYZE").await?;
    bar.finish_and_clear();
    Ok(summary)
}

/// What every step of [`seed`] shares: the transaction, the plan, the one
/// random generator, the clock, the progress bar and the counts so far.
struct Seeding<'a> {
    txn: &'a DatabaseTransaction,
    options: &'a SeedOptions,
    plan: Plan,
    rng: fastrand::Rng,
    now: DateTime<Utc>,
    bar: ProgressBar,
    summary: SeedSummary,
}

impl Seeding<'_> {
    /// Users: admins first, then staff, then customers; the ids of staff and of customers.
    async fn users(&mut self) -> Result<(Vec<i64>, Vec<i64>)> {
        let (txn, options, plan, now, bar) =
            (self.txn, self.options, &self.plan, self.now, &self.bar);
        let rng = &mut self.rng;
        let summary = &mut self.summary;
        // Users: admins first, then staff, then customers; the demo accounts lead each group.
        let mut users = Vec::new();
        let mut next_user = 1_i64;
        let mut add_user = |email: String, name: String, role: UserRole| {
            let id = next_user;
            next_user += 1;
            users.push(user::ActiveModel {
                id: Set(id),
                email: Set(email),
                display_name: Set(name),
                password_hash: Set(options.password_hash.clone()),
                role: Set(role),
                created_at: Set(now - Duration::days(60)),
            });
            id
        };
        for i in 0..plan.admins {
            let email = if i == 0 {
                DEMO_ADMIN_EMAIL.to_owned()
            } else {
                format!("admin{i}@bistro.test")
            };
            add_user(email, person_name(rng), UserRole::Admin);
        }
        let mut staff_ids = Vec::new();
        for i in 0..plan.staff {
            let email = if i == 0 {
                DEMO_STAFF_EMAIL.to_owned()
            } else {
                format!("staff{i}@bistro.test")
            };
            staff_ids.push(add_user(email, person_name(rng), UserRole::Staff));
        }
        let mut customer_ids = Vec::new();
        for i in 0..plan.customers {
            let email = if i == 0 {
                DEMO_CUSTOMER_EMAIL.to_owned()
            } else {
                format!("customer{i}@bistro.test")
            };
            customer_ids.push(add_user(email, person_name(rng), UserRole::Customer));
        }
        summary.users = insert_batched::<user::Entity, _>(txn, users, bar).await?;
        Ok((staff_ids, customer_ids))
    }

    /// Restaurants and their menus, with option groups.
    async fn restaurants(&mut self) -> Result<Vec<Menu>> {
        let (txn, plan, now, bar) = (self.txn, &self.plan, self.now, &self.bar);
        let rng = &mut self.rng;
        let summary = &mut self.summary;
        // Restaurants and their menus.
        let mut restaurants = Vec::new();
        let mut items = Vec::new();
        let mut groups = Vec::new();
        let mut options_rows = Vec::new();
        let mut menus: Vec<Menu> = Vec::new();
        let mut next_item = 1_i64;
        let mut next_group = 1_i64;
        let mut next_option = 1_i64;
        for r in 0..plan.restaurants {
            let id = i64::try_from(r).unwrap_or(i64::MAX) + 1;
            let cuisine = &CUISINES[rng.usize(..CUISINES.len())];
            let city = &CITIES[rng.usize(..CITIES.len())];
            let name = format!(
                "{} {}",
                cuisine.venues[rng.usize(..cuisine.venues.len())],
                SURNAMES[rng.usize(..SURNAMES.len())]
            );
            let slug = format!("{}-{}", slugify(&name), id);
            let tagline = TAGLINES[rng.usize(..TAGLINES.len())];
            let number = rng.u32(1..200);
            let street = city.streets[rng.usize(..city.streets.len())];
            restaurants.push(restaurant::ActiveModel {
                id: Set(id),
                slug: Set(slug),
                description: Set(format!("{} in {}. {tagline}", cuisine.blurb, city.name)),
                address: Set(format!("{number} {street}, {}", city.name)),
                name: Set(name),
                cuisine: Set(cuisine.name.to_owned()),
                opening_hours: Set(opening_hours(rng)),
                currency_code: Set(city.currency.to_owned()),
                created_at: Set(now - Duration::days(90) + Duration::minutes(r as i64)),
            });
            let mut menu = Vec::new();
            for position in 0..plan.items_per_restaurant {
                let dish = &cuisine.dishes[position as usize % cuisine.dishes.len()];
                let item_id = next_item;
                next_item += 1;
                let variant = position as usize / cuisine.dishes.len().max(1);
                let name = if variant == 0 {
                    dish.name.to_owned()
                } else {
                    format!("{} {}", VARIANTS[(variant - 1) % VARIANTS.len()], dish.name)
                };
                // Prices vary ±20 % around the dish's base, rounded to 10 cents.
                let price = (dish.price * i64::from(rng.u32(80..=120)) / 100) / 10 * 10;
                items.push(menu_item::ActiveModel {
                    id: Set(item_id),
                    restaurant_id: Set(id),
                    name: Set(name.clone()),
                    description: Set(dish.description.to_owned()),
                    price_amount: Set(price),
                    currency_code: Set(city.currency.to_owned()),
                    course: Set(dish.course),
                    dietary: Set(dish.dietary.to_owned()),
                    // A few items sold out, a few with a limited daily batch.
                    available: Set(rng.u8(..100) >= 5),
                    daily_stock: Set((rng.u8(..100) < 10).then(|| rng.i32(10..60))),
                    position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                    created_at: Set(now - Duration::days(80)),
                    updated_at: Set(now - Duration::days(rng.i64(1..80))),
                });
                if let Some(choices) = option_group_for(dish.course) {
                    groups.push(menu_option_group::ActiveModel {
                        id: Set(next_group),
                        menu_item_id: Set(item_id),
                        name: Set(choices.name.to_owned()),
                        min_choices: Set(0),
                        max_choices: Set(choices.max_choices),
                        position: Set(0),
                    });
                    for (position, (option, delta)) in choices.options.iter().enumerate() {
                        options_rows.push(menu_option::ActiveModel {
                            id: Set(next_option),
                            group_id: Set(next_group),
                            name: Set((*option).to_owned()),
                            price_delta_amount: Set(*delta),
                            position: Set(i32::try_from(position).unwrap_or(0)),
                        });
                        next_option += 1;
                    }
                    next_group += 1;
                }
                menu.push((item_id, price, name));
            }
            menus.push((id, city.currency, menu));
        }
        summary.restaurants =
            insert_batched::<restaurant::Entity, _>(txn, restaurants, bar).await?;
        summary.menu_items = insert_batched::<menu_item::Entity, _>(txn, items, bar).await?;
        insert_batched::<menu_option_group::Entity, _>(txn, groups, &ProgressBar::hidden()).await?;
        insert_batched::<menu_option::Entity, _>(txn, options_rows, &ProgressBar::hidden()).await?;
        Ok(menus)
    }

    /// Who works where.
    async fn staff(&mut self, menus: &[Menu], staff_ids: &[i64]) -> Result<()> {
        let (txn, now) = (self.txn, self.now);
        // Staff member j works for every restaurant r with r ≡ j (mod staff count).
        let staff_rows: Vec<_> = menus
            .iter()
            .enumerate()
            .filter(|_| !staff_ids.is_empty())
            .map(|(r, (restaurant_id, _, _))| restaurant_staff::ActiveModel {
                user_id: Set(staff_ids[r % staff_ids.len()]),
                restaurant_id: Set(*restaurant_id),
                created_at: Set(now - Duration::days(60)),
            })
            .collect();
        insert_batched::<restaurant_staff::Entity, _>(txn, staff_rows, &ProgressBar::hidden())
            .await?;
        Ok(())
    }

    /// Orders with their lines, events, payments and the simulated
    /// processor's records, spread over the 30 days before now; none after it.
    async fn orders(
        &mut self,
        menus: &[Menu],
        staff_ids: &[i64],
        customer_ids: &[i64],
    ) -> Result<()> {
        let now = self.now;
        let today_start = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        let clock = OrderClock {
            now,
            today_start,
            seconds_today: (now - today_start).num_seconds().max(1),
        };
        let mut rows = OrderRows::default();
        for o in 0..self.plan.orders {
            let id = i64::try_from(o).unwrap_or(i64::MAX) + 1;
            let drawn = draw_order(&mut self.rng, menus, customer_ids, &clock);
            let steps = drawn.steps(now);
            let status = steps.last().map_or(OrderStatus::Placed, |(to, _)| *to);
            let payment_status = payment_status_after(status);
            let subtotal = rows.draw_lines(&mut self.rng, id, drawn.menu);
            // The customer places and may cancel; the restaurant's staff do the rest.
            let staff = staff_ids
                .get(usize::try_from(drawn.restaurant_id - 1).unwrap_or(0) % staff_ids.len().max(1))
                .copied();
            rows.push_events(id, &drawn, &steps, staff);
            let updated_at =
                drawn.created_at + steps.last().map_or(Duration::zero(), |(_, after)| *after);
            let reference = format!("sim_seed_{id}_{:08x}", self.rng.u32(..));
            let total = subtotal + delivery_fee(drawn.fulfilment);
            rows.push_payment(id, &drawn, payment_status, reference, total, updated_at);
            let order = order_row(
                &mut self.rng,
                id,
                &drawn,
                OrderTotals {
                    status,
                    payment_status,
                    subtotal,
                    total,
                },
                self.options.seed,
                updated_at,
            );
            rows.orders.push(order);
            // Flush in batches so memory stays flat on the standard size.
            if rows.orders.len() == BATCH {
                self.summary.orders += rows
                    .flush(self.txn, &self.bar, &mut self.summary.order_lines)
                    .await?;
            }
        }
        self.summary.orders += rows
            .flush(self.txn, &self.bar, &mut self.summary.order_lines)
            .await?;
        Ok(())
    }

    /// Reviews.
    async fn reviews(&mut self, menus: &[Menu], customer_ids: &[i64]) -> Result<()> {
        let (txn, plan, now, bar) = (self.txn, &self.plan, self.now, &self.bar);
        let rng = &mut self.rng;
        let summary = &mut self.summary;
        // Reviews: distinct (customer, restaurant) pairs.
        let mut seen = HashSet::new();
        let mut reviews = Vec::new();
        let wanted = plan.reviews.min(plan.customers * plan.restaurants / 2);
        while (reviews.len() as u64) < wanted {
            let customer = customer_ids[rng.usize(..customer_ids.len())];
            let (restaurant_id, _, _) = &menus[rng.usize(..menus.len())];
            if !seen.insert((customer, *restaurant_id)) {
                continue;
            }
            // Mostly good reviews, as on every real platform.
            let rating = [5, 5, 5, 4, 4, 4, 3, 3, 2, 1][rng.usize(..10)];
            let created_at =
                now - Duration::days(rng.i64(1..60)) - Duration::minutes(rng.i64(0..1440));
            reviews.push(review::ActiveModel {
                id: Set(reviews.len() as i64 + 1),
                user_id: Set(customer),
                restaurant_id: Set(*restaurant_id),
                rating: Set(rating),
                body: Set(REVIEW_BODIES[(5 - rating) as usize][rng.usize(..4)].to_owned()),
                created_at: Set(created_at),
                updated_at: Set(created_at),
            });
        }
        summary.reviews = insert_batched::<review::Entity, _>(txn, reviews, bar).await?;
        Ok(())
    }
}

/// The clock the seeded orders are dated by: now, and how much of today has passed.
struct OrderClock {
    now: DateTime<Utc>,
    today_start: DateTime<Utc>,
    /// Seconds from midnight to now (at least one).
    seconds_today: i64,
}

/// One seeded order as drawn: where, for whom, when, how it reaches the
/// customer, and how it ends.
struct DrawnOrder<'m> {
    restaurant_id: i64,
    currency: &'static str,
    menu: &'m [(i64, i64, String)],
    customer: i64,
    created_at: DateTime<Utc>,
    fulfilment: Fulfilment,
    ending: OrderStatus,
}

/// Draws an order's restaurant, customer, time, fulfilment and ending, in
/// that order (the draws of one order come in a fixed order: the same seed
/// gives the same data).
fn draw_order<'m>(
    rng: &mut fastrand::Rng,
    menus: &'m [Menu],
    customer_ids: &[i64],
    clock: &OrderClock,
) -> DrawnOrder<'m> {
    let (restaurant_id, currency, menu) = &menus[rng.usize(..menus.len())];
    let customer = customer_ids[rng.usize(..customer_ids.len())];
    let days_ago = if rng.u8(..10) == 0 { 0 } else { rng.i64(1..30) };
    let created_at = if days_ago == 0 {
        // Nearer now more often: a few of today's orders are still under way.
        let age = rng
            .i64(0..clock.seconds_today)
            .min(rng.i64(0..clock.seconds_today));
        clock.now - Duration::seconds(age)
    } else {
        clock.today_start - Duration::days(days_ago) + Duration::seconds(rng.i64(0..86_400))
    };
    let fulfilment = [Fulfilment::Pickup, Fulfilment::Delivery, Fulfilment::DineIn][rng.usize(..3)];
    // An order is where its age puts it on the way; most that are done
    // were completed, a few cancelled by the customer or rejected.
    let ending = match rng.u8(..100) {
        0..=4 => OrderStatus::Cancelled,
        5..=7 => OrderStatus::Rejected,
        _ => OrderStatus::Completed,
    };
    DrawnOrder {
        restaurant_id: *restaurant_id,
        currency,
        menu,
        customer,
        created_at,
        fulfilment,
        ending,
    }
}

impl DrawnOrder<'_> {
    /// The statuses the order has gone through by `now`, each with how long
    /// after the order was placed it was reached.
    fn steps(&self, now: DateTime<Utc>) -> Vec<(OrderStatus, Duration)> {
        let age = now - self.created_at;
        match self.ending {
            OrderStatus::Completed => lifecycle_steps(self.fulfilment)
                .iter()
                .copied()
                .take_while(|(_, after)| *after <= age)
                .collect(),
            _ => vec![
                (OrderStatus::Placed, Duration::zero()),
                (self.ending, Duration::minutes(4).min(age)),
            ],
        }
    }
}

/// The payment's status once the order is in `status`.
fn payment_status_after(status: OrderStatus) -> PaymentStatus {
    match status {
        OrderStatus::Placed => PaymentStatus::Authorized,
        // Both end a placed order: its authorization is released.
        OrderStatus::Cancelled | OrderStatus::Rejected => PaymentStatus::Voided,
        _ => PaymentStatus::Captured,
    }
}

/// Added to a delivery order, in minor units.
fn delivery_fee(fulfilment: Fulfilment) -> i64 {
    if fulfilment == Fulfilment::Delivery {
        350
    } else {
        0
    }
}

/// The simulated processor's state of a payment in `status`, if it records one.
fn ledger_state(status: PaymentStatus) -> Option<&'static str> {
    match status {
        PaymentStatus::Authorized => Some("AUTHORIZED"),
        PaymentStatus::Captured => Some("CAPTURED"),
        PaymentStatus::Voided => Some("VOIDED"),
        PaymentStatus::Refunded => Some("REFUNDED"),
        PaymentStatus::Pending
        | PaymentStatus::Declined
        | PaymentStatus::PartiallyRefunded
        | PaymentStatus::Disputed => None,
    }
}

/// Where an order and its payment stand, and what it costs.
struct OrderTotals {
    status: OrderStatus,
    payment_status: PaymentStatus,
    subtotal: i64,
    total: i64,
}

/// The order's own row; draws its table (dine-in) or its address (delivery).
fn order_row(
    rng: &mut fastrand::Rng,
    id: i64,
    drawn: &DrawnOrder<'_>,
    totals: OrderTotals,
    seed: u64,
    updated_at: DateTime<Utc>,
) -> order::ActiveModel {
    let fulfilment = drawn.fulfilment;
    order::ActiveModel {
        id: Set(id),
        user_id: Set(drawn.customer),
        restaurant_id: Set(drawn.restaurant_id),
        status: Set(totals.status),
        payment_status: Set(totals.payment_status),
        fulfilment: Set(fulfilment),
        table_number: Set((fulfilment == Fulfilment::DineIn).then(|| rng.i32(1..30))),
        delivery_address: Set((fulfilment == Fulfilment::Delivery)
            .then(|| format!("{} Delivery Lane", rng.u32(1..500)))),
        subtotal_amount: Set(totals.subtotal),
        total_amount: Set(totals.total),
        currency_code: Set(drawn.currency.to_owned()),
        idempotency_key: Set(format!("seed-{seed}-{id}")),
        checkout_fingerprint: Set(None),
        pending_step_id: Set(None),
        created_at: Set(drawn.created_at),
        updated_at: Set(updated_at),
    }
}

/// Seeded orders' rows not written yet, and the next ids of lines and events.
struct OrderRows {
    orders: Vec<order::ActiveModel>,
    lines: Vec<order_line::ActiveModel>,
    events: Vec<order_event::ActiveModel>,
    payments: Vec<payment::ActiveModel>,
    /// The simulated processor's record of each seeded payment, so seeded
    /// orders can be accepted, rejected and cancelled like any other.
    ledger: Vec<simulated_authorization::ActiveModel>,
    next_line: i64,
    next_event: i64,
}

impl Default for OrderRows {
    fn default() -> Self {
        Self {
            orders: Vec::with_capacity(BATCH),
            lines: Vec::new(),
            events: Vec::new(),
            payments: Vec::new(),
            ledger: Vec::new(),
            next_line: 1,
            next_event: 1,
        }
    }
}

impl OrderRows {
    /// Draws the lines of order `id` from `menu` and adds them; returns the subtotal.
    fn draw_lines(&mut self, rng: &mut fastrand::Rng, id: i64, menu: &[(i64, i64, String)]) -> i64 {
        // Lines as the cart makes them: the same dish again adds to its line.
        let first_line = self.lines.len();
        let mut subtotal = 0;
        for _ in 0..rng.u32(1..=5) {
            // Skewed towards the top of the menu, so some dishes trend.
            let index = rng.usize(..menu.len()).min(rng.usize(..menu.len()));
            let (item_id, price, name) = &menu[index];
            let quantity = [1, 1, 1, 2, 2, 3][rng.usize(..6)];
            subtotal += price * i64::from(quantity);
            let same = self.lines[first_line..]
                .iter_mut()
                .find(|line: &&mut order_line::ActiveModel| line.menu_item_id.as_ref() == item_id);
            if let Some(line) = same {
                let merged = line.quantity.as_ref() + quantity;
                line.quantity = Set(merged);
                line.line_total_amount = Set(price * i64::from(merged));
                continue;
            }
            self.lines.push(order_line::ActiveModel {
                id: Set(self.next_line),
                order_id: Set(id),
                menu_item_id: Set(*item_id),
                name: Set(name.clone()),
                quantity: Set(quantity),
                unit_price_amount: Set(*price),
                options: Set("[]".to_owned()),
                line_total_amount: Set(price * i64::from(quantity)),
            });
            self.next_line += 1;
        }
        subtotal
    }

    /// One event per step of order `id`: the customer's (placing, cancelling)
    /// or `staff`'s (the rest).
    fn push_events(
        &mut self,
        id: i64,
        drawn: &DrawnOrder<'_>,
        steps: &[(OrderStatus, Duration)],
        staff: Option<i64>,
    ) {
        let mut from = None;
        for (to, after) in steps {
            let by_customer = matches!(to, OrderStatus::Placed | OrderStatus::Cancelled);
            self.events.push(order_event::ActiveModel {
                id: Set(self.next_event),
                order_id: Set(id),
                from_status: Set(from),
                to_status: Set(*to),
                actor_user_id: Set(if by_customer {
                    Some(drawn.customer)
                } else {
                    staff
                }),
                note: Set((*to == OrderStatus::Rejected)
                    .then(|| REJECTION_REASONS[id as usize % REJECTION_REASONS.len()].to_owned())),
                payment_status: Set(None),
                created_at: Set(drawn.created_at + *after),
            });
            self.next_event += 1;
            from = Some(*to);
        }
    }

    /// Order `id`'s payment of `total`, and the simulated processor's record of it.
    fn push_payment(
        &mut self,
        id: i64,
        drawn: &DrawnOrder<'_>,
        status: PaymentStatus,
        reference: String,
        total: i64,
        updated_at: DateTime<Utc>,
    ) {
        if let Some(state) = ledger_state(status) {
            self.ledger.push(simulated_authorization::ActiveModel {
                idempotency_key: Set(format!("seed-{reference}")),
                request_hash: Set("seed".to_owned()),
                reference: Set(Some(reference.clone())),
                decline_code: Set(None),
                state: Set(Some(state.to_owned())),
                pause_operation: Set(None),
                pause_name: Set(None),
                created_at: Set(drawn.created_at),
                updated_at: Set(updated_at),
            });
        }
        self.payments.push(payment::ActiveModel {
            id: Set(id),
            order_id: Set(id),
            provider: Set("simulated".to_owned()),
            provider_reference: Set(Some(reference)),
            status: Set(status),
            amount: Set(total),
            currency_code: Set(drawn.currency.to_owned()),
            failure_code: Set(None),
            amount_refunded: Set(if status == PaymentStatus::Refunded {
                total
            } else {
                0
            }),
            created_at: Set(drawn.created_at),
            updated_at: Set(updated_at),
        });
    }

    /// Writes the rows gathered so far; returns how many orders, and adds
    /// the lines written to `line_count`.
    async fn flush(
        &mut self,
        txn: &DatabaseTransaction,
        bar: &ProgressBar,
        line_count: &mut u64,
    ) -> Result<u64> {
        let written =
            insert_batched::<order::Entity, _>(txn, std::mem::take(&mut self.orders), bar).await?;
        *line_count +=
            insert_batched::<order_line::Entity, _>(txn, std::mem::take(&mut self.lines), bar)
                .await?;
        insert_batched::<payment::Entity, _>(txn, std::mem::take(&mut self.payments), bar).await?;
        insert_batched::<simulated_authorization::Entity, _>(
            txn,
            std::mem::take(&mut self.ledger),
            bar,
        )
        .await?;
        insert_batched::<order_event::Entity, _>(txn, std::mem::take(&mut self.events), bar)
            .await?;
        Ok(written)
    }
}

async fn insert_batched<E, A>(
    txn: &DatabaseTransaction,
    rows: Vec<A>,
    bar: &ProgressBar,
) -> Result<u64>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    let total = rows.len() as u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(BATCH).collect();
        let n = batch.len() as u64;
        E::insert_many(batch).exec_without_returning(txn).await?;
        bar.inc(n);
    }
    Ok(total)
}

/// Explicit ids do not advance PostgreSQL's sequences; move each past its table's maximum.
async fn reset_sequences(txn: &DatabaseTransaction) -> Result<()> {
    for table in [
        "users",
        "restaurants",
        "menu_items",
        "menu_option_groups",
        "menu_options",
        "orders",
        "order_lines",
        "order_events",
        "payments",
        "reviews",
    ] {
        txn.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
        .await?;
    }
    Ok(())
}

fn progress_bar(visible: bool, total: u64) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "seeding {bar:40} {percent:>3}% {human_pos}/{human_len} rows ({elapsed}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

fn person_name(rng: &mut fastrand::Rng) -> String {
    format!(
        "{} {}",
        FIRST_NAMES[rng.usize(..FIRST_NAMES.len())],
        SURNAMES[rng.usize(..SURNAMES.len())]
    )
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// The accented letters of the seed's names, without their accents.
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

fn opening_hours(rng: &mut fastrand::Rng) -> String {
    let closed = ["MON", "TUE", "SUN"][rng.usize(..3)];
    let opens = ["11:00", "11:30", "12:00", "17:00"][rng.usize(..4)];
    let closes = ["21:30", "22:00", "23:00"][rng.usize(..3)];
    let days: Vec<serde_json::Value> = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
        .into_iter()
        .filter(|day| *day != closed)
        .map(|day| serde_json::json!({ "day": day, "opens": opens, "closes": closes }))
        .collect();
    serde_json::Value::Array(days).to_string()
}

/// The way of a completed order of `fulfilment`: each status and how long
/// after the order was placed it was reached.
fn lifecycle_steps(fulfilment: Fulfilment) -> &'static [(OrderStatus, Duration)] {
    const TO_THE_DOOR: &[(OrderStatus, Duration)] = &[
        (OrderStatus::Placed, Duration::zero()),
        (OrderStatus::Accepted, Duration::minutes(3)),
        (OrderStatus::Preparing, Duration::minutes(8)),
        (OrderStatus::Ready, Duration::minutes(24)),
        (OrderStatus::OutForDelivery, Duration::minutes(28)),
        (OrderStatus::Completed, Duration::minutes(45)),
    ];
    const AT_THE_COUNTER: &[(OrderStatus, Duration)] = &[
        (OrderStatus::Placed, Duration::zero()),
        (OrderStatus::Accepted, Duration::minutes(3)),
        (OrderStatus::Preparing, Duration::minutes(8)),
        (OrderStatus::Ready, Duration::minutes(24)),
        (OrderStatus::Completed, Duration::minutes(35)),
    ];
    match fulfilment {
        Fulfilment::Delivery => TO_THE_DOOR,
        _ => AT_THE_COUNTER,
    }
}

/// What a restaurant tells a customer whose order it rejects.
const REJECTION_REASONS: &[&str] = &[
    "Sorry, the kitchen is closing early tonight.",
    "Sorry, we are too busy to take more orders right now.",
    "Sorry, we cannot deliver to this address.",
];

/// An optional group of choices on every dish of a course.
struct Choices {
    name: &'static str,
    max_choices: i32,
    /// `(name, price change in minor units)`.
    options: &'static [(&'static str, i64)],
}

/// The choices a course offers. Every group is optional and offers only
/// real choices: leaving it alone is the plain dish ("no extras", the
/// regular size), so no option stands for "nothing".
fn option_group_for(course: Course) -> Option<Choices> {
    match course {
        Course::Drink => Some(Choices {
            name: "Size",
            max_choices: 1,
            options: &[("Large", 150)],
        }),
        Course::Main => Some(Choices {
            name: "Extras",
            max_choices: 2,
            options: &[("Extra cheese", 100), ("Side salad", 250)],
        }),
        _ => None,
    }
}

struct Dish {
    name: &'static str,
    description: &'static str,
    course: Course,
    dietary: &'static str,
    /// Base price in minor units.
    price: i64,
}

struct Cuisine {
    name: &'static str,
    /// What the restaurant serves, the start of its description ("… in Paris.").
    blurb: &'static str,
    venues: &'static [&'static str],
    dishes: &'static [Dish],
}

struct City {
    name: &'static str,
    currency: &'static str,
    streets: &'static [&'static str],
}

const fn dish(
    name: &'static str,
    description: &'static str,
    course: Course,
    dietary: &'static str,
    price: i64,
) -> Dish {
    Dish {
        name,
        description,
        course,
        dietary,
        price,
    }
}

const CUISINES: &[Cuisine] = &[
    Cuisine {
        name: "italian",
        blurb: "Handmade pasta and wood-fired pizza",
        venues: &["Trattoria", "Osteria", "Pizzeria", "Cucina"],
        dishes: &[
            dish(
                "Bruschetta",
                "Grilled bread, ripe tomatoes, garlic and basil",
                Course::Starter,
                "vegetarian,vegan,dairy_free",
                750,
            ),
            dish(
                "Burrata",
                "Creamy burrata with heirloom tomatoes and olive oil",
                Course::Starter,
                "vegetarian,gluten_free",
                1150,
            ),
            dish(
                "Margherita Pizza",
                "Tomato, mozzarella and fresh basil from the wood oven",
                Course::Main,
                "vegetarian",
                1200,
            ),
            dish(
                "Spaghetti Carbonara",
                "Guanciale, egg yolk, pecorino and black pepper",
                Course::Main,
                "",
                1450,
            ),
            dish(
                "Penne Arrabbiata",
                "Pasta in a spicy tomato sauce with chilli and garlic",
                Course::Main,
                "vegetarian,vegan,spicy,dairy_free",
                1250,
            ),
            dish(
                "Mushroom Risotto",
                "Creamy arborio rice with porcini mushrooms and parmesan",
                Course::Main,
                "vegetarian,gluten_free",
                1550,
            ),
            dish(
                "Lasagne",
                "Layers of fresh pasta, beef ragù and béchamel",
                Course::Main,
                "",
                1600,
            ),
            dish(
                "Rocket Salad",
                "Rocket, parmesan shavings and lemon",
                Course::Side,
                "vegetarian,gluten_free",
                550,
            ),
            dish(
                "Tiramisu",
                "Espresso-soaked savoiardi with mascarpone cream",
                Course::Dessert,
                "vegetarian",
                750,
            ),
            dish(
                "Panna Cotta",
                "Vanilla cream with berry coulis",
                Course::Dessert,
                "vegetarian,gluten_free",
                700,
            ),
            dish(
                "Espresso",
                "A short, strong coffee",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                250,
            ),
            dish(
                "Limonata",
                "Sparkling Sicilian lemonade",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                400,
            ),
        ],
    },
    Cuisine {
        name: "japanese",
        blurb: "Ramen, sushi and izakaya small plates",
        venues: &["Ramen Bar", "Sushi House", "Izakaya", "Kitchen"],
        dishes: &[
            dish(
                "Edamame",
                "Steamed soy beans with sea salt",
                Course::Starter,
                "vegan,gluten_free,dairy_free",
                500,
            ),
            dish(
                "Gyoza",
                "Pan-fried pork and cabbage dumplings",
                Course::Starter,
                "dairy_free",
                750,
            ),
            dish(
                "Tonkotsu Ramen",
                "Noodles in a rich pork broth with chashu and a soft egg",
                Course::Main,
                "dairy_free",
                1500,
            ),
            dish(
                "Spicy Miso Ramen",
                "Spicy miso broth with noodles, chilli oil, tofu and corn",
                Course::Main,
                "vegetarian,spicy,dairy_free",
                1400,
            ),
            dish(
                "Salmon Nigiri",
                "Fresh salmon over seasoned rice",
                Course::Main,
                "gluten_free,dairy_free",
                1300,
            ),
            dish(
                "Chicken Katsu Curry",
                "Crispy chicken cutlet and rice with a mild Japanese curry sauce",
                Course::Main,
                "dairy_free",
                1450,
            ),
            dish(
                "Vegetable Tempura",
                "Light batter, seasonal vegetables, dipping sauce",
                Course::Main,
                "vegetarian,vegan,dairy_free",
                1200,
            ),
            dish(
                "Steamed Rice",
                "Short-grain Japanese rice",
                Course::Side,
                "vegan,gluten_free,dairy_free",
                300,
            ),
            dish(
                "Matcha Ice Cream",
                "Green tea ice cream",
                Course::Dessert,
                "vegetarian,gluten_free",
                600,
            ),
            dish(
                "Mochi",
                "Sweet rice cakes filled with red bean",
                Course::Dessert,
                "vegan,gluten_free,dairy_free",
                650,
            ),
            dish(
                "Green Tea",
                "Hot sencha",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                300,
            ),
            dish(
                "Yuzu Soda",
                "Sparkling citrus soda",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                450,
            ),
        ],
    },
    Cuisine {
        name: "indian",
        blurb: "Slow-cooked curries and tandoor breads",
        venues: &["Curry House", "Tandoor", "Spice Kitchen", "Dhaba"],
        dishes: &[
            dish(
                "Vegetable Samosa",
                "Crisp pastry filled with spiced potato and peas",
                Course::Starter,
                "vegetarian,vegan,dairy_free",
                550,
            ),
            dish(
                "Onion Bhaji",
                "Onion fritters in gram flour batter",
                Course::Starter,
                "vegetarian,vegan,gluten_free,dairy_free",
                500,
            ),
            dish(
                "Butter Chicken",
                "Mild, creamy curry of tandoori chicken in a tomato and butter sauce",
                Course::Main,
                "gluten_free,halal",
                1450,
            ),
            dish(
                "Lamb Rogan Josh",
                "Spicy Kashmiri lamb curry, slow-cooked with chilli and aromatic spices",
                Course::Main,
                "gluten_free,dairy_free,halal,spicy",
                1600,
            ),
            dish(
                "Chana Masala",
                "Vegan chickpea curry in a spiced tomato and onion sauce",
                Course::Main,
                "vegetarian,vegan,gluten_free,dairy_free",
                1150,
            ),
            dish(
                "Palak Paneer",
                "Vegetarian curry of fresh paneer cheese in a smooth spinach sauce",
                Course::Main,
                "vegetarian,gluten_free",
                1250,
            ),
            dish(
                "Chicken Vindaloo",
                "Our hottest curry: fiery, spicy Goan chicken with vinegar and chilli",
                Course::Main,
                "gluten_free,dairy_free,halal,spicy",
                1400,
            ),
            dish(
                "Garlic Naan",
                "Tandoor-baked bread brushed with garlic butter",
                Course::Side,
                "vegetarian",
                350,
            ),
            dish(
                "Gulab Jamun",
                "Milk dumplings in rose syrup",
                Course::Dessert,
                "vegetarian",
                550,
            ),
            dish(
                "Mango Kulfi",
                "Frozen mango and cardamom cream",
                Course::Dessert,
                "vegetarian,gluten_free",
                600,
            ),
            dish(
                "Mango Lassi",
                "Yoghurt shake with mango",
                Course::Drink,
                "vegetarian,gluten_free",
                450,
            ),
            dish(
                "Masala Chai",
                "Spiced milk tea",
                Course::Drink,
                "vegetarian,gluten_free",
                350,
            ),
        ],
    },
    Cuisine {
        name: "mexican",
        blurb: "Tacos, fresh salsas and slow-cooked meats",
        venues: &["Taqueria", "Cantina", "Cocina", "Tortilleria"],
        dishes: &[
            dish(
                "Guacamole and Chips",
                "Smashed avocado, lime and coriander with tortilla chips",
                Course::Starter,
                "vegetarian,vegan,gluten_free,dairy_free",
                700,
            ),
            dish(
                "Elote",
                "Grilled corn with chilli, lime and cheese",
                Course::Starter,
                "vegetarian,gluten_free,spicy",
                600,
            ),
            dish(
                "Tacos al Pastor",
                "Marinated pork, pineapple and onion on corn tortillas",
                Course::Main,
                "gluten_free,dairy_free",
                1250,
            ),
            dish(
                "Chicken Burrito",
                "Rice, beans, chicken tinga and salsa in a flour tortilla",
                Course::Main,
                "",
                1300,
            ),
            dish(
                "Black Bean Enchiladas",
                "Corn tortillas filled with black beans, baked in a spicy salsa roja",
                Course::Main,
                "vegetarian,gluten_free,spicy",
                1200,
            ),
            dish(
                "Carnitas Bowl",
                "Slow-cooked pork with rice, beans and pickled onion",
                Course::Main,
                "gluten_free,dairy_free",
                1350,
            ),
            dish(
                "Fish Tacos",
                "Crispy fish, cabbage slaw and chipotle mayo",
                Course::Main,
                "dairy_free",
                1300,
            ),
            dish(
                "Refried Beans",
                "Pinto beans cooked twice",
                Course::Side,
                "vegetarian,vegan,gluten_free,dairy_free",
                400,
            ),
            dish(
                "Churros",
                "Fried dough with cinnamon sugar and chocolate",
                Course::Dessert,
                "vegetarian",
                650,
            ),
            dish(
                "Tres Leches Cake",
                "Sponge soaked in three milks",
                Course::Dessert,
                "vegetarian",
                700,
            ),
            dish(
                "Horchata",
                "Rice and cinnamon drink",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                400,
            ),
            dish(
                "Agua de Jamaica",
                "Hibiscus iced tea",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                350,
            ),
        ],
    },
    Cuisine {
        name: "french",
        blurb: "Bistro classics and French pastries",
        venues: &["Bistro", "Brasserie", "Café", "Maison"],
        dishes: &[
            dish(
                "French Onion Soup",
                "Caramelised onion broth with a gruyère crouton",
                Course::Starter,
                "vegetarian",
                850,
            ),
            dish(
                "Escargots",
                "Snails in garlic and parsley butter",
                Course::Starter,
                "gluten_free",
                1100,
            ),
            dish(
                "Steak Frites",
                "Grilled sirloin with fries and béarnaise",
                Course::Main,
                "gluten_free",
                2200,
            ),
            dish(
                "Coq au Vin",
                "Chicken slow-braised in red wine with mushrooms and bacon",
                Course::Main,
                "gluten_free,dairy_free",
                1850,
            ),
            dish(
                "Ratatouille",
                "Provençal stew of summer vegetables",
                Course::Main,
                "vegetarian,vegan,gluten_free,dairy_free",
                1400,
            ),
            dish(
                "Croque Monsieur",
                "Ham and gruyère toastie with béchamel",
                Course::Main,
                "",
                1100,
            ),
            dish(
                "Moules Marinières",
                "Mussels in white wine, shallots and cream",
                Course::Main,
                "gluten_free",
                1700,
            ),
            dish(
                "Green Beans",
                "Haricots verts with butter",
                Course::Side,
                "vegetarian,gluten_free",
                500,
            ),
            dish(
                "Crème Brûlée",
                "Vanilla custard with a burnt sugar crust",
                Course::Dessert,
                "vegetarian,gluten_free",
                800,
            ),
            dish(
                "Tarte Tatin",
                "Upside-down caramelised apple tart",
                Course::Dessert,
                "vegetarian",
                850,
            ),
            dish(
                "Café au Lait",
                "Coffee with hot milk",
                Course::Drink,
                "vegetarian,gluten_free",
                350,
            ),
            dish(
                "Citron Pressé",
                "Fresh lemon juice with water and sugar",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                450,
            ),
        ],
    },
    Cuisine {
        name: "lebanese",
        blurb: "Mezze, charcoal grills and fresh flatbread",
        venues: &["Mezze House", "Grill", "Kitchen", "Bakery"],
        dishes: &[
            dish(
                "Hummus",
                "Chickpeas, tahini and lemon with warm pita",
                Course::Starter,
                "vegetarian,vegan,dairy_free",
                650,
            ),
            dish(
                "Falafel",
                "Crisp chickpea fritters with tahini sauce",
                Course::Starter,
                "vegetarian,vegan,dairy_free",
                700,
            ),
            dish(
                "Chicken Shawarma",
                "Spit-roasted chicken, garlic sauce and pickles in flatbread",
                Course::Main,
                "dairy_free,halal",
                1200,
            ),
            dish(
                "Lamb Kofta",
                "Grilled spiced lamb skewers with rice",
                Course::Main,
                "gluten_free,dairy_free,halal",
                1500,
            ),
            dish(
                "Halloumi Wrap",
                "Grilled halloumi, tomato and mint",
                Course::Main,
                "vegetarian",
                1100,
            ),
            dish(
                "Mixed Grill",
                "Chicken, lamb and kofta with grilled vegetables",
                Course::Main,
                "gluten_free,dairy_free,halal",
                1900,
            ),
            dish(
                "Stuffed Vine Leaves",
                "Rice, herbs and lemon rolled in vine leaves",
                Course::Main,
                "vegetarian,vegan,gluten_free,dairy_free",
                1000,
            ),
            dish(
                "Tabbouleh",
                "Parsley, bulgur, tomato and lemon salad",
                Course::Side,
                "vegetarian,vegan,dairy_free",
                600,
            ),
            dish(
                "Baklava",
                "Filo pastry with pistachios and honey syrup",
                Course::Dessert,
                "vegetarian",
                600,
            ),
            dish(
                "Knafeh",
                "Warm cheese pastry with orange blossom syrup",
                Course::Dessert,
                "vegetarian",
                750,
            ),
            dish(
                "Mint Lemonade",
                "Lemon, fresh mint and crushed ice",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                400,
            ),
            dish(
                "Ayran",
                "Salted yoghurt drink",
                Course::Drink,
                "vegetarian,gluten_free",
                300,
            ),
        ],
    },
    Cuisine {
        name: "thai",
        blurb: "Street-food noodles and fragrant curries",
        venues: &["Thai Kitchen", "Noodle Bar", "Street Food", "Canteen"],
        dishes: &[
            dish(
                "Chicken Satay",
                "Grilled chicken skewers with peanut sauce",
                Course::Starter,
                "gluten_free,dairy_free",
                750,
            ),
            dish(
                "Spring Rolls",
                "Crispy vegetable rolls with sweet chilli dip",
                Course::Starter,
                "vegetarian,vegan,dairy_free",
                600,
            ),
            dish(
                "Pad Thai",
                "Stir-fried rice noodles with tamarind, egg, peanuts and lime",
                Course::Main,
                "gluten_free,dairy_free",
                1300,
            ),
            dish(
                "Green Curry",
                "Spicy Thai curry of coconut milk, green chilli, basil and aubergine",
                Course::Main,
                "gluten_free,dairy_free,spicy",
                1350,
            ),
            dish(
                "Massaman Curry",
                "Mild, slow-cooked beef curry with potatoes and peanuts",
                Course::Main,
                "gluten_free,dairy_free",
                1450,
            ),
            dish(
                "Tofu Pad Kra Pao",
                "Spicy stir-fried tofu with holy basil, chilli and rice",
                Course::Main,
                "vegetarian,vegan,dairy_free,spicy",
                1200,
            ),
            dish(
                "Tom Yum Soup",
                "Hot and sour prawn soup with lemongrass and chilli",
                Course::Main,
                "gluten_free,dairy_free,spicy",
                1250,
            ),
            dish(
                "Jasmine Rice",
                "Steamed fragrant rice",
                Course::Side,
                "vegan,gluten_free,dairy_free",
                300,
            ),
            dish(
                "Mango Sticky Rice",
                "Sweet coconut rice with fresh mango",
                Course::Dessert,
                "vegan,gluten_free,dairy_free",
                650,
            ),
            dish(
                "Coconut Ice Cream",
                "Dairy-free coconut sorbet",
                Course::Dessert,
                "vegan,gluten_free,dairy_free",
                550,
            ),
            dish(
                "Thai Iced Tea",
                "Strong black tea with condensed milk",
                Course::Drink,
                "vegetarian,gluten_free",
                400,
            ),
            dish(
                "Coconut Water",
                "Fresh young coconut",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                450,
            ),
        ],
    },
    Cuisine {
        name: "american",
        blurb: "Burgers, smoked barbecue and thick milkshakes",
        venues: &["Diner", "Burger Joint", "Smokehouse", "Grill"],
        dishes: &[
            dish(
                "Buffalo Wings",
                "Spicy chicken wings in hot sauce with a blue cheese dip",
                Course::Starter,
                "gluten_free,spicy",
                850,
            ),
            dish(
                "Mac and Cheese Bites",
                "Fried macaroni cheese with ranch",
                Course::Starter,
                "vegetarian",
                700,
            ),
            dish(
                "Classic Cheeseburger",
                "Beef patty, cheddar, pickles and house sauce",
                Course::Main,
                "",
                1350,
            ),
            dish(
                "Pulled Pork Sandwich",
                "Smoked pork shoulder with slaw in a brioche bun",
                Course::Main,
                "",
                1300,
            ),
            dish(
                "Veggie Burger",
                "Vegetarian burger: black bean patty, avocado and chipotle mayo",
                Course::Main,
                "vegetarian",
                1250,
            ),
            dish(
                "BBQ Ribs",
                "Slow-smoked pork ribs with barbecue glaze",
                Course::Main,
                "gluten_free,dairy_free",
                1900,
            ),
            dish(
                "Fried Chicken",
                "Crispy buttermilk fried chicken with hot honey",
                Course::Main,
                "dairy_free",
                1400,
            ),
            dish(
                "Sweet Potato Fries",
                "Crispy fries with smoked salt",
                Course::Side,
                "vegan,gluten_free,dairy_free",
                450,
            ),
            dish(
                "Apple Pie",
                "Cinnamon apple pie with vanilla ice cream",
                Course::Dessert,
                "vegetarian",
                650,
            ),
            dish(
                "Brownie Sundae",
                "Warm chocolate brownie with ice cream and nuts",
                Course::Dessert,
                "vegetarian",
                750,
            ),
            dish(
                "Chocolate Milkshake",
                "Thick shake made with real ice cream",
                Course::Drink,
                "vegetarian,gluten_free",
                550,
            ),
            dish(
                "Root Beer",
                "Classic sarsaparilla soda",
                Course::Drink,
                "vegan,gluten_free,dairy_free",
                300,
            ),
        ],
    },
];

const CITIES: &[City] = &[
    City {
        name: "Paris",
        currency: "EUR",
        streets: &["Rue de Rivoli", "Rue Oberkampf", "Boulevard Voltaire"],
    },
    City {
        name: "Berlin",
        currency: "EUR",
        streets: &["Kastanienallee", "Oranienstraße", "Torstraße"],
    },
    City {
        name: "Lisbon",
        currency: "EUR",
        streets: &["Rua Augusta", "Rua da Rosa", "Avenida da Liberdade"],
    },
    City {
        name: "London",
        currency: "GBP",
        streets: &["Brick Lane", "Upper Street", "Exmouth Market"],
    },
    City {
        name: "Manchester",
        currency: "GBP",
        streets: &["Oldham Street", "Deansgate", "Thomas Street"],
    },
    City {
        name: "New York",
        currency: "USD",
        streets: &["Bleecker Street", "Bedford Avenue", "Mott Street"],
    },
    City {
        name: "Chicago",
        currency: "USD",
        streets: &["Milwaukee Avenue", "Halsted Street", "Clark Street"],
    },
    City {
        name: "Zürich",
        currency: "CHF",
        streets: &["Langstrasse", "Niederdorfstrasse", "Seefeldstrasse"],
    },
];

const SURNAMES: &[&str] = &[
    "Rossi", "Tanaka", "Sharma", "García", "Dubois", "Haddad", "Suzuki", "Müller", "Silva",
    "Okafor", "Novak", "Kowalski", "Jensen", "Moreau", "Bianchi", "Patel", "Nguyen", "Costa",
    "Larsen", "Hughes",
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chloé", "Dev", "Elena", "Farah", "Gus", "Hana", "Ivan", "Jules", "Kai", "Lena",
    "Marco", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Teo", "Uma", "Vik", "Wen", "Yara",
    "Zoe",
];

/// The second sentence of a restaurant's description.
const TAGLINES: &[&str] = &[
    "Family run since 1998.",
    "The menu changes with the seasons.",
    "A neighbourhood favourite for over ten years.",
    "Open late on Fridays and Saturdays.",
    "Everything is cooked to order by a small team.",
];

const VARIANTS: &[&str] = &["Chef's", "House", "Grandma's", "Seasonal"];

const REVIEW_BODIES: [[&str; 4]; 5] = [
    [
        "Outstanding food and friendly staff. We will be back.",
        "Best meal I have had this year, everything was perfect.",
        "Delivery was quick and the food arrived hot. Excellent.",
        "Generous portions and wonderful flavours.",
    ],
    [
        "Very good, a little slow on a busy night.",
        "Tasty dishes and fair prices.",
        "Solid choice, the mains were the highlight.",
        "Good food, the dessert could be better.",
    ],
    [
        "Fine, nothing special.",
        "Decent food but the wait was long.",
        "Average portions for the price.",
        "Some dishes good, some forgettable.",
    ],
    [
        "The food arrived cold and late.",
        "Disappointing, the flavours were flat.",
        "Not worth the price.",
        "Order was missing an item.",
    ],
    [
        "Terrible experience, would not order again.",
        "Wrong order and no reply from the restaurant.",
        "Food was inedible.",
        "Waited two hours for nothing.",
    ],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_case_insensitively() {
        assert_eq!("Small".parse::<SeedSize>(), Ok(SeedSize::Small));
        assert_eq!("standard".parse::<SeedSize>(), Ok(SeedSize::Standard));
        assert!("huge".parse::<SeedSize>().is_err());
    }

    #[test]
    fn slugs_are_lowercase_and_dashed() {
        assert_eq!(slugify("Café Müller & Sons"), "cafe-muller-sons");
        assert_eq!(slugify("Trattoria Rossi"), "trattoria-rossi");
    }

    #[test]
    fn standard_plan_matches_the_workload_data_set() {
        let plan = SeedSize::Standard.plan();
        assert_eq!(plan.restaurants, 1_000);
        assert_eq!(plan.restaurants * plan.items_per_restaurant, 30_000);
        assert_eq!(plan.customers + plan.staff + plan.admins, 5_000);
        assert_eq!((plan.customers, plan.staff, plan.admins), (4_900, 90, 10));
        assert_eq!(plan.orders, 50_000);
        assert_eq!(plan.reviews, 20_000);
        assert_eq!(plan.carts, 500);
    }
}
