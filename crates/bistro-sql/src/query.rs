//! Batched reads for the GraphQL loaders.
//!
//! Every public function here issues exactly **one** SQL statement, whatever
//! the number of keys it is given: the loaders in `bistro-schema` rely on that
//! to keep a request's statement count fixed. Functions take lists of parent
//! ids and return rows the caller groups by key (never by position: the
//! loaders hand keys over in arbitrary order).

use crate::KeyMap;

use sea_orm::sea_query::{
    Alias, Asterisk, Cond, Expr, ExprTrait, Order, Query, SelectStatement, WindowStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    FromQueryResult, IdenStatic, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};

use crate::Result;
use crate::entity::{menu_item, order, order_line, restaurant, restaurant_staff, review, user};

/// Which way a keyset page walks, and from where.
///
/// Built from Relay's `first/after/last/before`: `first` walks forward from
/// `after`, `last` walks backward from `before`. Both bounds may be given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageWindow<K> {
    /// Only rows strictly after this key.
    pub after: Option<K>,
    /// Only rows strictly before this key.
    pub before: Option<K>,
    /// How many rows the page shows.
    pub limit: u64,
    /// `true` for `last`: take the rows nearest `before` instead of nearest `after`.
    pub backward: bool,
}

impl<K> PageWindow<K> {
    /// One more row than the page shows: its presence answers "is there another page?".
    fn fetch(&self) -> u64 {
        self.limit + 1
    }
}

/// Filters for the restaurant list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RestaurantFilter {
    /// Exact cuisine, compared case-insensitively (cuisines are stored lower-case).
    pub cuisine: Option<String>,
}

fn restaurant_condition(filter: &RestaurantFilter) -> Cond {
    let mut cond = Cond::all();
    if let Some(cuisine) = &filter.cuisine {
        cond = cond.add(restaurant::Column::Cuisine.eq(cuisine.trim().to_lowercase()));
    }
    cond
}

/// Restaurants with the given ids (missing ids are simply absent).
pub async fn restaurants_by_ids(
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<Vec<restaurant::Model>> {
    Ok(restaurant::Entity::find()
        .filter(restaurant::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Restaurants with the given slugs.
pub async fn restaurants_by_slugs(
    db: &DatabaseConnection,
    slugs: &[String],
) -> Result<Vec<restaurant::Model>> {
    Ok(restaurant::Entity::find()
        .filter(restaurant::Column::Slug.is_in(slugs.iter().cloned()))
        .all(db)
        .await?)
}

/// One page of restaurants in id order, plus one extra row when a further page exists.
///
/// The caller trims the extra row; it is returned so one statement answers
/// both "which rows" and "is there more".
pub async fn restaurants_page(
    db: &DatabaseConnection,
    filter: &RestaurantFilter,
    window: &PageWindow<i64>,
) -> Result<Vec<restaurant::Model>> {
    let mut cond = restaurant_condition(filter);
    if let Some(after) = window.after {
        cond = cond.add(restaurant::Column::Id.gt(after));
    }
    if let Some(before) = window.before {
        cond = cond.add(restaurant::Column::Id.lt(before));
    }
    let order = if window.backward {
        Order::Desc
    } else {
        Order::Asc
    };
    let mut rows = restaurant::Entity::find()
        .filter(cond)
        .order_by(restaurant::Column::Id, order)
        .limit(window.fetch())
        .all(db)
        .await?;
    if window.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// How many restaurants match the filter (one `COUNT(*)`).
pub async fn count_restaurants(db: &DatabaseConnection, filter: &RestaurantFilter) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(restaurant::Entity::find()
        .filter(restaurant_condition(filter))
        .count(db)
        .await?)
}

/// Every cuisine with its number of restaurants, by name (one `GROUP BY`).
pub async fn cuisines(db: &DatabaseConnection) -> Result<Vec<(String, u64)>> {
    #[derive(FromQueryResult)]
    struct Row {
        cuisine: String,
        restaurants: i64,
    }
    let rows = restaurant::Entity::find()
        .select_only()
        .column(restaurant::Column::Cuisine)
        .column_as(restaurant::Column::Id.count(), "restaurants")
        .group_by(restaurant::Column::Cuisine)
        .order_by_asc(restaurant::Column::Cuisine)
        .into_model::<Row>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.cuisine, u64::try_from(r.restaurants).unwrap_or(0)))
        .collect())
}

/// Menu items with the given ids.
pub async fn menu_items_by_ids(
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<Vec<menu_item::Model>> {
    let select = menu_item::Entity::find()
        .filter(menu_item::Column::Id.is_in(ids.iter().copied()))
        .into_query();
    menu_item_rows(db, db.get_database_backend().build(&select)).await
}

/// The menu items a statement returns; it selects the entity's columns in
/// declaration order (`Entity::find()`), possibly followed by others.
///
/// sea-orm's derived decoding finds every value's column by name and checks
/// its type, value by value: on PostgreSQL that was a quarter of the CPU of
/// a page of 20 menus with the caches off (220 rows of 13 columns). Here, on
/// PostgreSQL, the result's column names are checked against the entity's
/// once per statement and its first row is decoded the checked way (the
/// column types are the same for every row of a statement); the other rows
/// are read by position. Elsewhere, and when the names differ, every row is
/// decoded the checked way.
async fn menu_item_rows(
    db: &DatabaseConnection,
    statement: Statement,
) -> Result<Vec<menu_item::Model>> {
    use sea_orm::sqlx::{Column as _, Row as _};
    let rows = db.query_all_raw(statement).await?;
    let positional = rows
        .first()
        .and_then(|first| first.try_as_pg_row())
        .is_some_and(|first| {
            let columns = first.columns();
            <menu_item::Column as sea_orm::Iterable>::iter()
                .enumerate()
                .all(|(i, column)| columns.get(i).is_some_and(|c| c.name() == column.as_str()))
        });
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        out.push(match row.try_as_pg_row() {
            Some(pg) if positional && i > 0 => menu_item_by_position(pg)
                .map_err(|e| sea_orm::DbErr::Type(format!("menu_items row: {e}")))?,
            _ => menu_item::Model::from_query_result(row, "")?,
        });
    }
    Ok(out)
}

/// A `menu_items` row read by position (see [`menu_item_rows`]).
fn menu_item_by_position(
    row: &sea_orm::sqlx::postgres::PgRow,
) -> std::result::Result<menu_item::Model, sea_orm::sqlx::Error> {
    use sea_orm::ActiveEnum as _;
    use sea_orm::sqlx::Row as _;
    let course: String = row.try_get_unchecked(6)?;
    Ok(menu_item::Model {
        id: row.try_get_unchecked(0)?,
        restaurant_id: row.try_get_unchecked(1)?,
        name: row.try_get_unchecked(2)?,
        description: row.try_get_unchecked(3)?,
        price_amount: row.try_get_unchecked(4)?,
        currency_code: row.try_get_unchecked(5)?,
        course: menu_item::Course::try_from_value(&course)
            .map_err(|e| sea_orm::sqlx::Error::Decode(e.to_string().into()))?,
        dietary: row.try_get_unchecked(7)?,
        available: row.try_get_unchecked(8)?,
        daily_stock: row.try_get_unchecked(9)?,
        position: row.try_get_unchecked(10)?,
        created_at: row.try_get_unchecked(11)?,
        updated_at: row.try_get_unchecked(12)?,
    })
}

/// Reviews with the given ids.
pub async fn reviews_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<review::Model>> {
    Ok(review::Entity::find()
        .filter(review::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Public profile facts of users: `(id, display name)`. Emails and hashes stay in the table.
pub async fn user_display_names(
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<KeyMap<i64, String>> {
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
        display_name: String,
    }
    let rows = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::DisplayName)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .into_model::<Row>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.display_name)).collect())
}

/// Whole user rows (for fields the schema guards; never exposed wholesale).
pub async fn users_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// The account with this (normalised) email.
pub async fn user_by_email(db: &DatabaseConnection, email: &str) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?)
}

/// The restaurants a user works for, in id order.
pub async fn staff_restaurant_ids(db: &DatabaseConnection, user_id: i64) -> Result<Vec<i64>> {
    Ok(restaurant_staff::Entity::find()
        .filter(restaurant_staff::Column::UserId.eq(user_id))
        .order_by_asc(restaurant_staff::Column::RestaurantId)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.restaurant_id)
        .collect())
}

/// The restaurants each of many users works for: `(user id, restaurant id)`
/// pairs, by user then restaurant (one statement).
pub async fn staff_restaurants_by_users(
    db: &DatabaseConnection,
    user_ids: &[i64],
) -> Result<Vec<(i64, i64)>> {
    Ok(restaurant_staff::Entity::find()
        .filter(restaurant_staff::Column::UserId.is_in(user_ids.iter().copied()))
        .order_by_asc(restaurant_staff::Column::UserId)
        .order_by_asc(restaurant_staff::Column::RestaurantId)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.user_id, row.restaurant_id))
        .collect())
}

/// Orders with the given ids.
pub async fn orders_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// The lines of many orders, grouped by order, each order's lines in id order.
pub async fn order_lines_by_orders(
    db: &DatabaseConnection,
    order_ids: &[i64],
) -> Result<Vec<order_line::Model>> {
    Ok(order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(order_line::Column::OrderId)
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await?)
}

/// Whose orders a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderOwner {
    /// A customer's orders.
    Customer,
    /// A restaurant's orders.
    Restaurant,
}

/// The same order page (newest first, by id) for many customers or
/// restaurants at once, in one statement; optionally of one status (stored form).
pub async fn order_pages(
    db: &DatabaseConnection,
    owner: OrderOwner,
    owner_ids: &[i64],
    status: Option<&str>,
    window: &PageWindow<i64>,
) -> Result<Vec<order::Model>> {
    use order::Column as C;
    let parent = match owner {
        OrderOwner::Customer => C::UserId,
        OrderOwner::Restaurant => C::RestaurantId,
    };
    let mut cond = Cond::all().add(parent.is_in(owner_ids.iter().copied()));
    if let Some(status) = status {
        cond = cond.add(C::Status.eq(status));
    }
    if let Some(after) = window.after {
        cond = cond.add(C::Id.lt(after));
    }
    if let Some(before) = window.before {
        cond = cond.add(C::Id.gt(before));
    }
    let order = if window.backward {
        Order::Asc
    } else {
        Order::Desc
    };
    let partition = WindowStatement::partition_by(parent)
        .order_by(C::Id, order.clone())
        .to_owned();
    let mut inner = order::Entity::find().filter(cond).into_query();
    inner.expr_window_as(Expr::cust("ROW_NUMBER()"), partition, Alias::new("rn"));
    let rows = order::Model::find_by_statement(windowed(
        db.get_database_backend(),
        inner,
        window.fetch(),
        [(parent.as_str(), Order::Asc), (C::Id.as_str(), order)],
    ))
    .all(db)
    .await?;
    Ok(reverse_groups_if(rows, window.backward, |o| match owner {
        OrderOwner::Customer => o.user_id,
        OrderOwner::Restaurant => o.restaurant_id,
    }))
}

/// A position in a restaurant's menu: menus are ordered by `(position, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MenuCursor {
    /// The item's `position` column.
    pub position: i32,
    /// The item's id, which breaks ties between equal positions.
    pub id: i64,
}

/// What a menu page shows, shared by every restaurant in one batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MenuPageArgs {
    /// Only items of this course (stored string value, e.g. `"MAIN"`).
    pub course: Option<String>,
    /// Where the page starts and how long it is.
    pub window: PageWindow<MenuCursor>,
}

/// The same menu page for many restaurants at once, in one statement.
///
/// A `ROW_NUMBER() OVER (PARTITION BY restaurant_id …)` subquery limits each
/// restaurant to `limit + 1` rows inside the database, so a page of 20
/// restaurants never drags their whole menus over the wire. Rows come back
/// grouped by restaurant, each group in menu order.
pub async fn menu_pages(
    db: &DatabaseConnection,
    restaurant_ids: &[i64],
    args: &MenuPageArgs,
) -> Result<Vec<menu_item::Model>> {
    use menu_item::Column as C;
    let window = &args.window;
    let mut cond = Cond::all().add(C::RestaurantId.is_in(restaurant_ids.iter().copied()));
    if let Some(course) = &args.course {
        cond = cond.add(C::Course.eq(course.as_str()));
    }
    if let Some(after) = window.after {
        cond = cond.add(
            Cond::any().add(C::Position.gt(after.position)).add(
                Cond::all()
                    .add(C::Position.eq(after.position))
                    .add(C::Id.gt(after.id)),
            ),
        );
    }
    if let Some(before) = window.before {
        cond = cond.add(
            Cond::any().add(C::Position.lt(before.position)).add(
                Cond::all()
                    .add(C::Position.eq(before.position))
                    .add(C::Id.lt(before.id)),
            ),
        );
    }
    let order = if window.backward {
        Order::Desc
    } else {
        Order::Asc
    };
    let partition = WindowStatement::partition_by(C::RestaurantId)
        .order_by(C::Position, order.clone())
        .order_by(C::Id, order.clone())
        .to_owned();
    let mut inner = menu_item::Entity::find().filter(cond).into_query();
    inner.expr_window_as(Expr::cust("ROW_NUMBER()"), partition, Alias::new("rn"));
    let rows = menu_item_rows(
        db,
        windowed(
            db.get_database_backend(),
            inner,
            window.fetch(),
            [
                (C::RestaurantId.as_str(), Order::Asc),
                (C::Position.as_str(), order.clone()),
                (C::Id.as_str(), order),
            ],
        ),
    )
    .await?;
    Ok(reverse_groups_if(rows, window.backward, |m| {
        m.restaurant_id
    }))
}

/// How many items each restaurant's menu has (optionally of one course): one `GROUP BY`.
pub async fn menu_counts(
    db: &DatabaseConnection,
    restaurant_ids: &[i64],
    course: Option<&str>,
) -> Result<KeyMap<i64, u64>> {
    use menu_item::Column as C;
    let mut cond = Cond::all().add(C::RestaurantId.is_in(restaurant_ids.iter().copied()));
    if let Some(course) = course {
        cond = cond.add(C::Course.eq(course));
    }
    count_by_parent(
        db,
        menu_item::Entity::find()
            .select_only()
            .column_as(C::RestaurantId, "parent_id")
            .column_as(C::Id.count(), "count")
            .filter(cond)
            .group_by(C::RestaurantId)
            .into_query(),
    )
    .await
}

/// The same review page for many restaurants at once, newest first (by id), in one statement.
pub async fn review_pages(
    db: &DatabaseConnection,
    restaurant_ids: &[i64],
    window: &PageWindow<i64>,
) -> Result<Vec<review::Model>> {
    use review::Column as C;
    let mut cond = Cond::all().add(C::RestaurantId.is_in(restaurant_ids.iter().copied()));
    // Newest first: "after" a cursor means a smaller id.
    if let Some(after) = window.after {
        cond = cond.add(C::Id.lt(after));
    }
    if let Some(before) = window.before {
        cond = cond.add(C::Id.gt(before));
    }
    let order = if window.backward {
        Order::Asc
    } else {
        Order::Desc
    };
    let partition = WindowStatement::partition_by(C::RestaurantId)
        .order_by(C::Id, order.clone())
        .to_owned();
    let mut inner = review::Entity::find().filter(cond).into_query();
    inner.expr_window_as(Expr::cust("ROW_NUMBER()"), partition, Alias::new("rn"));
    let rows = review::Model::find_by_statement(windowed(
        db.get_database_backend(),
        inner,
        window.fetch(),
        [
            (C::RestaurantId.as_str(), Order::Asc),
            (C::Id.as_str(), order),
        ],
    ))
    .all(db)
    .await?;
    Ok(reverse_groups_if(rows, window.backward, |r| {
        r.restaurant_id
    }))
}

/// A restaurant's review aggregate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatingAggregate {
    /// Mean rating, 1.0–5.0; 0.0 when there are no reviews.
    pub average: f64,
    /// Number of reviews.
    pub count: u64,
}

/// Review count and mean rating per restaurant, in one `GROUP BY`.
///
/// Restaurants without reviews are present with a zero aggregate, so the
/// caller can cache "no reviews yet" as well.
pub async fn rating_aggregates(
    db: &DatabaseConnection,
    restaurant_ids: &[i64],
) -> Result<KeyMap<i64, RatingAggregate>> {
    use review::Column as C;
    #[derive(FromQueryResult)]
    struct Row {
        restaurant_id: i64,
        count: i64,
        average: Option<f64>,
    }
    // AVG over a DOUBLE PRECISION cast gives a float on both backends
    // (PostgreSQL's AVG of an integer is NUMERIC, which would not decode as f64).
    let rows = review::Entity::find()
        .select_only()
        .column(C::RestaurantId)
        .column_as(C::Id.count(), "count")
        .column_as(
            Expr::cust("AVG(CAST(rating AS DOUBLE PRECISION))"),
            "average",
        )
        .filter(C::RestaurantId.is_in(restaurant_ids.iter().copied()))
        .group_by(C::RestaurantId)
        .into_model::<Row>()
        .all(db)
        .await?;
    let mut out: KeyMap<i64, RatingAggregate> = restaurant_ids
        .iter()
        .map(|id| {
            (
                *id,
                RatingAggregate {
                    average: 0.0,
                    count: 0,
                },
            )
        })
        .collect();
    for row in rows {
        out.insert(
            row.restaurant_id,
            RatingAggregate {
                average: row.average.unwrap_or(0.0),
                count: u64::try_from(row.count).unwrap_or(0),
            },
        );
    }
    Ok(out)
}

/// One ranked search hit.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The matching item.
    pub item: menu_item::Model,
    /// Relevance; higher is better. Comparable only within one search.
    pub rank: f64,
}

/// Full-text search over menu items across restaurants: their names,
/// descriptions and dietary tags ("spicy", "vegan", "gluten free").
///
/// A dish matches when it has any of the words, stemmed ("curries" finds
/// "curry"); dishes with more of the words come first, then the better
/// match of those words (a word in the name counts more than one in the
/// description or the tags), then the lower id, so pages are stable.
/// `rank` is the number of words matched plus that relevance squeezed into
/// `[0, 1)`, the same scale on both backends.
///
/// PostgreSQL reads the `search_vector` column (`english` configuration;
/// name, description and tags weighted A, B, B) and ranks with `ts_rank`;
/// SQLite reads the FTS5 table `menu_items_fts` (porter stemmer) and ranks
/// with `bm25` weighted alike. Each word's own match is counted with its
/// own query, so the counting is the same on both. English stop words
/// ("with", "and") are left out on both, as PostgreSQL's configuration
/// does: they would otherwise match nearly every description on SQLite.
/// A query with no words left matches nothing and costs no statement.
pub async fn search_menu_items(
    db: &DatabaseConnection,
    text: &str,
    offset: u64,
    limit: u64,
) -> Result<Vec<SearchHit>> {
    let words = search_words(text);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let columns = <menu_item::Column as sea_orm::Iterable>::iter()
        .map(|c| format!("m.{}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let n = words.len();
    let statement = match backend {
        DatabaseBackend::Postgres => {
            // $1..$n are the words, each its own query; the dish must match
            // their union, ranked once.
            let queries = (1..=n)
                .map(|i| format!("plainto_tsquery('english', ${i}) AS w{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let any = (1..=n)
                .map(|i| format!("q.w{i}"))
                .collect::<Vec<_>>()
                .join(" || ");
            let matched = (1..=n)
                .map(|i| format!("CAST(m.search_vector @@ a.w{i} AS INTEGER)"))
                .collect::<Vec<_>>()
                .join(" + ");
            let sql = format!(
                "WITH q AS (SELECT {queries}), a AS (SELECT q.*, {any} AS any_word FROM q) \
                 SELECT {columns}, CAST(m.matched + m.relevance / (1 + m.relevance) \
                   AS DOUBLE PRECISION) AS search_rank \
                 FROM (SELECT m.*, ({matched}) AS matched, \
                         ts_rank(m.search_vector, a.any_word) AS relevance \
                       FROM menu_items m, a WHERE m.search_vector @@ a.any_word) m \
                 ORDER BY search_rank DESC, m.id ASC LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            );
            let mut values: Vec<sea_orm::Value> = words.iter().map(|w| w.clone().into()).collect();
            values.push(to_i64(limit).into());
            values.push(to_i64(offset).into());
            Statement::from_sql_and_values(backend, sql, values)
        }
        _ => {
            // ?1..?n are the words, each quoted so that FTS5 query syntax
            // (AND, NEAR, column filters) in user input is matched
            // literally; ?n+1 is all of them joined with OR.
            let matched = (1..=n)
                .map(|i| {
                    format!(
                        "(m.id IN (SELECT rowid FROM menu_items_fts WHERE menu_items_fts MATCH ?{i}))"
                    )
                })
                .collect::<Vec<_>>()
                .join(" + ");
            let sql = format!(
                "SELECT {columns}, ({matched}) + f.relevance / (1 + f.relevance) AS search_rank \
                 FROM (SELECT rowid, -bm25(menu_items_fts, 10.0, 4.0, 4.0) AS relevance \
                       FROM menu_items_fts WHERE menu_items_fts MATCH ?{}) f \
                 JOIN menu_items m ON m.id = f.rowid \
                 ORDER BY search_rank DESC, m.id ASC LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2,
                n + 3
            );
            let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
            let mut values: Vec<sea_orm::Value> = quoted.iter().map(|w| w.clone().into()).collect();
            values.push(quoted.join(" OR ").into());
            values.push(to_i64(limit).into());
            values.push(to_i64(offset).into());
            Statement::from_sql_and_values(backend, sql, values)
        }
    };
    let rows = db.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| {
            Ok(SearchHit {
                item: menu_item::Model::from_query_result(row, "")?,
                rank: row.try_get::<f64>("", "search_rank")?,
            })
        })
        .collect()
}

/// Most words a search looks for: each is one more test of every dish the
/// search finds, and common words find thousands.
pub const MAX_SEARCH_WORDS: usize = 8;

/// The distinct lower-cased alphanumeric words of a search text that are
/// not English stop words, at most [`MAX_SEARCH_WORDS`] of them.
fn search_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
    {
        if !STOP_WORDS.contains(&word.as_str()) && !words.contains(&word) {
            words.push(word);
            if words.len() == MAX_SEARCH_WORDS {
                break;
            }
        }
    }
    words
}

/// PostgreSQL's English stop words (`tsearch_data/english.stop`), which its
/// `english` configuration drops; SQLite's FTS5 has none, so they are
/// dropped before either sees the words.
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
    "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it",
    "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which", "who",
    "whom", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be", "been",
    "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and",
    "but", "if", "or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about",
    "against", "between", "into", "through", "during", "before", "after", "above", "below", "to",
    "from", "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "then",
    "once", "here", "there", "when", "where", "why", "how", "all", "any", "both", "each", "few",
    "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so",
    "than", "too", "very", "s", "t", "can", "will", "just", "don", "should", "now",
];

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Wraps a query carrying an `rn` window column: keep `rn <= fetch`, order the result.
fn windowed<const N: usize>(
    backend: DatabaseBackend,
    inner: SelectStatement,
    fetch: u64,
    order: [(&str, Order); N],
) -> Statement {
    let mut outer = Query::select();
    outer
        .column(Asterisk)
        .from_subquery(inner, Alias::new("page"))
        .and_where(Expr::col(Alias::new("rn")).lte(to_i64(fetch)));
    for (column, direction) in order {
        outer.order_by(Alias::new(column), direction);
    }
    backend.build(&outer)
}

/// Rows come grouped by parent; a backward page is fetched nearest-first and
/// must be turned back into display order within each group.
fn reverse_groups_if<T>(rows: Vec<T>, backward: bool, parent: impl Fn(&T) -> i64) -> Vec<T> {
    if !backward {
        return rows;
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut group: Vec<T> = Vec::new();
    for row in rows {
        if group
            .last()
            .is_some_and(|last| parent(last) != parent(&row))
        {
            out.extend(group.drain(..).rev());
        }
        group.push(row);
    }
    out.extend(group.into_iter().rev());
    out
}

async fn count_by_parent(
    db: &DatabaseConnection,
    query: SelectStatement,
) -> Result<KeyMap<i64, u64>> {
    #[derive(FromQueryResult)]
    struct Row {
        parent_id: i64,
        count: i64,
    }
    let rows = Row::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.parent_id, u64::try_from(r.count).unwrap_or(0)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_drop_punctuation_and_syntax() {
        assert_eq!(
            search_words("Spicy  tofu, \"NEAR\"(x) -"),
            ["spicy", "tofu", "near", "x"]
        );
        assert!(search_words(" -- ").is_empty());
    }

    #[test]
    fn search_words_drop_stop_words_and_repeats() {
        assert_eq!(
            search_words("Curry with rice and the RICE"),
            ["curry", "rice"]
        );
        assert!(search_words("the and with").is_empty());
    }

    #[test]
    fn backward_groups_are_put_back_in_display_order() {
        let rows = vec![(1, 3), (1, 2), (2, 9), (2, 8), (2, 7)];
        let out = reverse_groups_if(rows, true, |r| r.0);
        assert_eq!(out, vec![(1, 2), (1, 3), (2, 7), (2, 8), (2, 9)]);
    }
}
