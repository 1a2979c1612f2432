//! The relational store on both backends: migrations, seeding, batched
//! queries (one statement per batch) and failure classification.
//!
//! SQLite always; PostgreSQL too when `BISTRO_TEST_DATABASE_URL` is set (each
//! test in its own schema, dropped afterwards). A set but unreachable URL fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bistro_sql::entity::{menu_item, restaurant};
use bistro_sql::query::{self, MenuPageArgs, PageWindow, RestaurantFilter};
use bistro_sql::seed::{SeedOptions, SeedSize};
use bistro_sql::{Error, SqlConfig};
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

const TODAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();

/// One database for one test, removed on [`TestDb::drop_all`].
struct TestDb {
    db: DatabaseConnection,
    cleanup: Option<(String, String)>,
    _dir: Option<TempDir>,
}

/// A temporary directory removed on drop (no extra dependency for one helper).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    async fn drop_all(self) {
        self.db.close().await.ok();
        if let Some((admin_url, schema)) = self.cleanup {
            let admin = sea_orm::Database::connect(admin_url.as_str())
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!(r#"DROP SCHEMA "{schema}" CASCADE"#))
                .await
                .unwrap();
            admin.close().await.ok();
        }
    }
}

async fn databases() -> Vec<TestDb> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("bistro-sql-test-{id}"));
    let sqlite_url = format!("sqlite://{}/bistro.db?mode=rwc", dir.display());
    let sqlite = bistro_sql::connect(&sqlite_url, &SqlConfig::default())
        .await
        .unwrap();
    bistro_sql::migrate(&sqlite).await.unwrap();
    let mut out = vec![TestDb {
        db: sqlite,
        cleanup: None,
        _dir: Some(TempDir(dir)),
    }];
    if let Ok(url) = std::env::var("BISTRO_TEST_DATABASE_URL") {
        let schema = format!("t_{id}");
        let admin = sea_orm::Database::connect(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("BISTRO_TEST_DATABASE_URL is set but unreachable: {e}"));
        admin
            .execute_unprepared(&format!(r#"CREATE SCHEMA "{schema}""#))
            .await
            .unwrap();
        admin.close().await.ok();
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        let pg = bistro_sql::connect(&scoped, &SqlConfig::default())
            .await
            .unwrap();
        bistro_sql::migrate(&pg).await.unwrap();
        out.push(TestDb {
            db: pg,
            cleanup: Some((url, schema)),
            _dir: None,
        });
    }
    out
}

fn options(seed: u64) -> SeedOptions {
    SeedOptions {
        size: SeedSize::Small,
        seed,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        progress: false,
        now: TODAY.and_hms_opt(12, 0, 0).unwrap().and_utc(),
    }
}

/// A clone of `db` that counts the statements it runs.
fn counted(db: &DatabaseConnection) -> (DatabaseConnection, Arc<AtomicU64>) {
    let counter = Arc::new(AtomicU64::new(0));
    let mut db = db.clone();
    let c = counter.clone();
    db.set_metric_callback(move |_| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    (db, counter)
}

#[tokio::test]
async fn migrations_are_idempotent_and_seeding_is_deterministic() {
    for t in databases().await {
        // A second run finds nothing to do.
        bistro_sql::migrate(&t.db).await.unwrap();
        assert!(bistro_sql::seed::is_empty(&t.db).await.unwrap());
        let summary = bistro_sql::seed::seed(&t.db, &options(7)).await.unwrap();
        assert_eq!(summary.restaurants, 12);
        assert_eq!(summary.menu_items, 144);
        assert_eq!(summary.users, 40);
        assert_eq!(summary.orders, 400);
        assert_eq!(summary.reviews, 150);
        assert!(summary.order_lines >= 400);
        assert!(!bistro_sql::seed::is_empty(&t.db).await.unwrap());

        let first = restaurant::Entity::find_by_id(1)
            .one(&t.db)
            .await
            .unwrap()
            .unwrap();
        // Same seed, same data, whatever the backend: compare with a fresh SQLite.
        let other = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        bistro_sql::migrate(&other).await.unwrap();
        bistro_sql::seed::seed(&other, &options(7)).await.unwrap();
        let again = restaurant::Entity::find_by_id(1)
            .one(&other)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.slug, again.slug);
        assert_eq!(first.opening_hours, again.opening_hours);
        let lines = bistro_sql::seed::todays_order_lines(&t.db, TODAY)
            .await
            .unwrap();
        assert!(!lines.is_empty(), "a tenth of the orders are today's");
        assert_eq!(
            lines,
            bistro_sql::seed::todays_order_lines(&other, TODAY)
                .await
                .unwrap()
        );
        // Carts: the demo customer first, one restaurant each, deterministic.
        let carts = bistro_sql::seed::cart_plan(&t.db, 7, 5).await.unwrap();
        assert_eq!(carts.len(), 5);
        assert_eq!(
            carts,
            bistro_sql::seed::cart_plan(&other, 7, 5).await.unwrap()
        );
        let demo = bistro_sql::query::user_by_email(&t.db, bistro_sql::seed::DEMO_CUSTOMER_EMAIL)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(carts[0].user_id, demo.id);
        for cart in &carts {
            assert!(!cart.lines.is_empty());
            let items = query::menu_items_by_ids(
                &t.db,
                &cart.lines.iter().map(|l| l.0).collect::<Vec<_>>(),
            )
            .await
            .unwrap();
            assert!(
                items
                    .iter()
                    .all(|i| i.restaurant_id == cart.restaurant_id && i.available)
            );
        }
        // A different seed gives different data.
        let third = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        bistro_sql::migrate(&third).await.unwrap();
        bistro_sql::seed::seed(&third, &options(8)).await.unwrap();
        assert_ne!(
            lines,
            bistro_sql::seed::todays_order_lines(&third, TODAY)
                .await
                .unwrap()
        );

        // Ids continue after the seeded ones (PostgreSQL sequences were moved).
        let inserted = restaurant::Entity::insert(restaurant::ActiveModel {
            slug: sea_orm::Set("new-place".into()),
            name: sea_orm::Set("New Place".into()),
            cuisine: sea_orm::Set("thai".into()),
            description: sea_orm::Set(String::new()),
            address: sea_orm::Set(String::new()),
            opening_hours: sea_orm::Set("[]".into()),
            currency_code: sea_orm::Set("EUR".into()),
            created_at: sea_orm::Set(chrono::Utc::now()),
            ..Default::default()
        })
        .exec(&t.db)
        .await
        .unwrap();
        assert_eq!(inserted.last_insert_id, 13);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn batched_queries_cost_one_statement_whatever_the_batch() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(1)).await.unwrap();
        let (db, statements) = counted(&t.db);
        let ids: Vec<i64> = (1..=12).collect();
        let args = MenuPageArgs {
            course: None,
            window: PageWindow {
                after: None,
                before: None,
                limit: 3,
                backward: false,
            },
        };
        for batch in [&ids[..1], &ids[..5], &ids[..]] {
            let before = statements.load(Ordering::Relaxed);
            query::restaurants_by_ids(&db, batch).await.unwrap();
            query::menu_pages(&db, batch, &args).await.unwrap();
            query::menu_counts(&db, batch, Some("MAIN")).await.unwrap();
            query::review_pages(
                &db,
                batch,
                &PageWindow {
                    after: None,
                    before: None,
                    limit: 2,
                    backward: false,
                },
            )
            .await
            .unwrap();
            query::rating_aggregates(&db, batch).await.unwrap();
            query::user_display_names(&db, batch).await.unwrap();
            assert_eq!(
                statements.load(Ordering::Relaxed) - before,
                6,
                "batch of {}",
                batch.len()
            );
        }
        t.drop_all().await;
    }
}

#[tokio::test]
async fn menu_pages_match_a_per_restaurant_query() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let ids = [2_i64, 5, 9];
        let window = PageWindow {
            after: None,
            before: None,
            limit: 4,
            backward: false,
        };
        let rows = query::menu_pages(
            &t.db,
            &ids,
            &MenuPageArgs {
                course: None,
                window: window.clone(),
            },
        )
        .await
        .unwrap();
        for id in ids {
            let expected_rows = menu_item::Entity::find()
                .filter(menu_item::Column::RestaurantId.eq(id))
                .order_by_asc(menu_item::Column::Position)
                .order_by_asc(menu_item::Column::Id)
                .all(&t.db)
                .await
                .unwrap();
            // Whole rows, not only ids: pages are decoded by position on PostgreSQL.
            let got_rows: Vec<&menu_item::Model> =
                rows.iter().filter(|m| m.restaurant_id == id).collect();
            assert_eq!(got_rows, expected_rows.iter().take(5).collect::<Vec<_>>());
            let expected: Vec<i64> = expected_rows.iter().map(|m| m.id).collect();
            let got: Vec<i64> = got_rows.iter().map(|m| m.id).collect();
            // limit + 1 rows: the extra one tells the caller a next page exists.
            assert_eq!(got, expected[..5]);

            // Backward from the 6th item gives items 2..=5 (plus the extra 1st), in display order.
            let sixth = menu_item::Entity::find_by_id(expected[5])
                .one(&t.db)
                .await
                .unwrap()
                .unwrap();
            let back = query::menu_pages(
                &t.db,
                &[id],
                &MenuPageArgs {
                    course: None,
                    window: PageWindow {
                        after: None,
                        before: Some(query::MenuCursor {
                            position: sixth.position,
                            id: sixth.id,
                        }),
                        limit: 4,
                        backward: true,
                    },
                },
            )
            .await
            .unwrap();
            let back: Vec<i64> = back.iter().map(|m| m.id).collect();
            assert_eq!(back, expected[..5]);
        }

        let counts = query::menu_counts(&t.db, &ids, None).await.unwrap();
        assert!(ids.iter().all(|id| counts[id] == 12));
        let mains = query::menu_counts(&t.db, &ids, Some("MAIN")).await.unwrap();
        assert!(ids.iter().all(|id| mains[id] == 5));
        t.drop_all().await;
    }
}

#[tokio::test]
async fn menu_items_by_id_are_the_rows_sea_orm_reads() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let mut expected = menu_item::Entity::find().all(&t.db).await.unwrap();
        expected.sort_by_key(|m| m.id);
        // Limited and unlimited items, so both sides of the one nullable column are read.
        assert!(expected.iter().any(|m| m.daily_stock.is_some()));
        assert!(expected.iter().any(|m| m.daily_stock.is_none()));
        let ids: Vec<i64> = expected.iter().map(|m| m.id).collect();
        let mut got = query::menu_items_by_ids(&t.db, &ids).await.unwrap();
        got.sort_by_key(|m| m.id);
        assert_eq!(got, expected, "{:?}", t.db.get_database_backend());
    }
}

#[tokio::test]
async fn restaurant_pages_filter_and_walk_both_ways() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(4)).await.unwrap();
        let all = RestaurantFilter::default();
        let page = |after, before, backward| PageWindow {
            after,
            before,
            limit: 5,
            backward,
        };
        let first = query::restaurants_page(&t.db, &all, &page(None, None, false))
            .await
            .unwrap();
        assert_eq!(
            first.iter().map(|r| r.id).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );
        let last = query::restaurants_page(&t.db, &all, &page(None, None, true))
            .await
            .unwrap();
        assert_eq!(
            last.iter().map(|r| r.id).collect::<Vec<_>>(),
            [7, 8, 9, 10, 11, 12]
        );
        assert_eq!(query::count_restaurants(&t.db, &all).await.unwrap(), 12);

        let cuisine = first[0].cuisine.clone();
        let filter = RestaurantFilter {
            cuisine: Some(cuisine.to_uppercase()),
        };
        let matching = query::restaurants_page(&t.db, &filter, &page(None, None, false))
            .await
            .unwrap();
        assert!(!matching.is_empty());
        assert!(matching.iter().all(|r| r.cuisine == cuisine));
        let slugs = vec![first[0].slug.clone(), "no-such-place".to_owned()];
        let by_slug = query::restaurants_by_slugs(&t.db, &slugs).await.unwrap();
        assert_eq!(by_slug.len(), 1);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn rating_aggregates_include_restaurants_without_reviews() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(5)).await.unwrap();
        let ratings = query::rating_aggregates(&t.db, &[1, 2, 999]).await.unwrap();
        assert_eq!(
            ratings[&999],
            query::RatingAggregate {
                average: 0.0,
                count: 0
            }
        );
        let reviews = bistro_sql::entity::review::Entity::find()
            .filter(bistro_sql::entity::review::Column::RestaurantId.eq(1))
            .all(&t.db)
            .await
            .unwrap();
        let expected =
            reviews.iter().map(|r| f64::from(r.rating)).sum::<f64>() / reviews.len() as f64;
        assert_eq!(ratings[&1].count, reviews.len() as u64);
        assert!((ratings[&1].average - expected).abs() < 1e-9);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn search_ranks_names_above_descriptions_and_follows_edits() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(6)).await.unwrap();
        let hits = query::search_menu_items(&t.db, "ramen", 0, 50)
            .await
            .unwrap();
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|h| {
            let text = format!("{} {}", h.item.name, h.item.description).to_lowercase();
            text.contains("ramen")
        }));
        assert!(hits.windows(2).all(|w| w[0].rank >= w[1].rank));
        // Stemming: "dumpling" finds "dumplings".
        assert!(
            !query::search_menu_items(&t.db, "dumpling", 0, 5)
                .await
                .unwrap()
                .is_empty()
        );
        // Any word may match: dishes with more of the words come first.
        let either = query::search_menu_items(&t.db, "ramen tiramisu", 0, 100)
            .await
            .unwrap();
        let names = |hits: &[query::SearchHit]| -> Vec<String> {
            hits.iter().map(|h| h.item.name.to_lowercase()).collect()
        };
        assert!(names(&either).iter().any(|n| n.contains("ramen")));
        assert!(names(&either).iter().any(|n| n.contains("tiramisu")));
        assert!(either.iter().all(|h| (1.0..2.0).contains(&h.rank)));
        let spicy_ramen = query::search_menu_items(&t.db, "spicy ramen", 0, 100)
            .await
            .unwrap();
        assert!(spicy_ramen[0].item.name.contains("Spicy Miso Ramen"));
        assert!(spicy_ramen[0].rank >= 2.0);
        assert!(spicy_ramen.iter().any(|h| h.item.name.contains("Tonkotsu")));
        assert!(spicy_ramen.windows(2).all(|w| w[0].rank >= w[1].rank));
        // Stop words count for nothing ("ramen with" is "ramen").
        assert_eq!(
            query::search_menu_items(&t.db, "the ramen with", 0, 100)
                .await
                .unwrap()
                .len(),
            hits.len()
        );
        // Punctuation and FTS syntax are inert.
        assert!(
            query::search_menu_items(&t.db, "\"ramen\" OR NEAR(", 0, 5)
                .await
                .is_ok()
        );
        assert!(
            query::search_menu_items(&t.db, "  --  ", 0, 5)
                .await
                .unwrap()
                .is_empty()
        );
        // Pages do not overlap.
        let page1 = query::search_menu_items(&t.db, "ramen", 0, 2)
            .await
            .unwrap();
        let page2 = query::search_menu_items(&t.db, "ramen", 2, 2)
            .await
            .unwrap();
        assert!(
            page1
                .iter()
                .all(|a| page2.iter().all(|b| a.item.id != b.item.id))
        );

        // A renamed item is found under its new name at once (triggers / generated column).
        let target = hits[0].item.id;
        menu_item::Entity::update_many()
            .col_expr(
                menu_item::Column::Name,
                sea_orm::sea_query::Expr::value("Zanzibar Pilau"),
            )
            .filter(menu_item::Column::Id.eq(target))
            .exec(&t.db)
            .await
            .unwrap();
        let renamed = query::search_menu_items(&t.db, "zanzibar", 0, 5)
            .await
            .unwrap();
        assert_eq!(
            renamed.iter().map(|h| h.item.id).collect::<Vec<_>>(),
            [target]
        );
        t.drop_all().await;
    }
}

#[tokio::test]
async fn search_counts_dietary_tags_and_ranks_dishes_with_more_of_the_words_first() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(6)).await.unwrap();
        let search = |text: &'static str| {
            let db = t.db.clone();
            async move { query::search_menu_items(&db, text, 0, 500).await.unwrap() }
        };
        let tagged = |tag: &'static str| {
            let db = t.db.clone();
            async move {
                let mut ids: Vec<i64> = menu_item::Entity::find()
                    .filter(menu_item::Column::Dietary.contains(tag))
                    .all(&db)
                    .await
                    .unwrap()
                    .iter()
                    .map(|i| i.id)
                    .collect();
                ids.sort_unstable();
                ids
            }
        };
        // A tag counts like a word of the description: every dish tagged
        // vegan is found, also where neither its name nor its description says so.
        let mut vegan: Vec<i64> = search("vegan").await.iter().map(|h| h.item.id).collect();
        vegan.sort_unstable();
        assert_eq!(vegan, tagged("vegan").await);
        let quiet = menu_item::Entity::find()
            .filter(menu_item::Column::Dietary.contains("vegan"))
            .filter(menu_item::Column::Description.not_like("%egan%"))
            .filter(menu_item::Column::Name.not_like("%egan%"))
            .all(&t.db)
            .await
            .unwrap();
        assert!(!quiet.is_empty());
        // "gluten-free" is the tag `gluten_free`: the dishes tagged so match
        // both words and come first; "free" alone finds dairy-free ones after them.
        let gluten_free = search("gluten-free").await;
        let mut both: Vec<i64> = gluten_free
            .iter()
            .take_while(|h| h.rank >= 2.0)
            .map(|h| h.item.id)
            .collect();
        both.sort_unstable();
        assert_eq!(both, tagged("gluten_free").await);
        assert!(
            gluten_free
                .iter()
                .skip(both.len())
                .all(|h| h.rank < 2.0 && h.item.dietary.contains("dairy_free"))
        );

        // The storefront's and the README's example: spicy curries first,
        // then every other curry and every other spicy dish.
        let hits = search("spicy curry").await;
        let matches = |item: &menu_item::Model, word: &str| {
            format!("{} {} {}", item.name, item.description, item.dietary)
                .to_lowercase()
                .contains(word)
        };
        let both = hits
            .iter()
            .take_while(|h| h.rank >= 2.0)
            .collect::<Vec<_>>();
        assert!(both.len() >= 3, "spicy curries: {both:?}");
        for hit in &both {
            assert!(
                matches(&hit.item, "spic") && matches(&hit.item, "curr"),
                "{:?}",
                hit.item
            );
        }
        let rest = &hits[both.len()..];
        assert!(rest.iter().all(|h| (1.0..2.0).contains(&h.rank)));
        assert!(rest.iter().any(|h| h.item.name.contains("Massaman Curry")));
        assert!(rest.iter().any(|h| h.item.name.contains("Buffalo Wings")));
        assert!(hits.windows(2).all(|w| w[0].rank >= w[1].rank));
        t.drop_all().await;
    }
}

#[tokio::test]
async fn seeded_orders_read_like_real_ones() {
    use bistro_sql::entity::{
        OrderStatus, PaymentStatus, menu_option, order, order_event, order_line,
    };
    // Early in the day, when a day's orders can only be a few hours old.
    let now = TODAY.and_hms_opt(3, 20, 0).unwrap().and_utc();
    for t in databases().await {
        let mut early = options(9);
        early.now = now;
        bistro_sql::seed::seed(&t.db, &early).await.unwrap();
        let orders = order::Entity::find().all(&t.db).await.unwrap();
        let lines = order_line::Entity::find().all(&t.db).await.unwrap();
        let events = order_event::Entity::find()
            .order_by_asc(order_event::Column::Id)
            .all(&t.db)
            .await
            .unwrap();

        // Nothing is dated after now; the orders spread over the last days.
        assert!(
            orders
                .iter()
                .all(|o| o.created_at <= now && o.updated_at <= now)
        );
        assert!(events.iter().all(|e| e.created_at <= now));
        let days: std::collections::BTreeSet<_> =
            orders.iter().map(|o| o.created_at.date_naive()).collect();
        assert!(days.len() >= 25, "{days:?}");
        assert!(days.contains(&TODAY));

        for o in &orders {
            // Lines as a cart makes them: one line per dish (the seed chooses no options).
            let mine: Vec<_> = lines.iter().filter(|l| l.order_id == o.id).collect();
            let mut dishes: Vec<(i64, &str)> = mine
                .iter()
                .map(|l| (l.menu_item_id, l.options.as_str()))
                .collect();
            dishes.sort_unstable();
            dishes.dedup();
            assert_eq!(dishes.len(), mine.len(), "order {}: {mine:?}", o.id);
            assert!(
                mine.iter()
                    .all(|l| l.line_total_amount == l.unit_price_amount * i64::from(l.quantity))
            );
            assert_eq!(
                o.subtotal_amount,
                mine.iter().map(|l| l.line_total_amount).sum::<i64>()
            );

            // Its events are a walk of the lifecycle, in time order, ending at its status.
            let walk: Vec<_> = events.iter().filter(|e| e.order_id == o.id).collect();
            assert_eq!(walk[0].from_status, None);
            assert_eq!(walk[0].to_status, OrderStatus::Placed);
            for pair in walk.windows(2) {
                assert_eq!(pair[1].from_status, Some(pair[0].to_status));
                assert!(pair[1].created_at >= pair[0].created_at);
            }
            assert_eq!(walk.last().unwrap().to_status, o.status);
            let expected_payment = match o.status {
                OrderStatus::Placed => PaymentStatus::Authorized,
                OrderStatus::Rejected | OrderStatus::Cancelled => PaymentStatus::Voided,
                _ => PaymentStatus::Captured,
            };
            assert_eq!(o.payment_status, expected_payment, "order {}", o.id);
            if o.status == OrderStatus::Rejected {
                assert!(walk.last().unwrap().note.is_some(), "a rejection says why");
            }
        }
        // Orders still under way are today's latest.
        let open: Vec<_> = orders
            .iter()
            .filter(|o| {
                !matches!(
                    o.status,
                    OrderStatus::Completed | OrderStatus::Rejected | OrderStatus::Cancelled
                )
            })
            .collect();
        assert!(
            open.iter()
                .all(|o| now - o.created_at < chrono::Duration::hours(1))
        );

        // Descriptions read as a restaurant would write them.
        for r in restaurant::Entity::find().all(&t.db).await.unwrap() {
            assert!(!r.description.contains("cooking in"), "{}", r.description);
            assert!(r.description.ends_with('.'), "{}", r.description);
        }
        // No option stands for "nothing": the seeded groups are optional,
        // so leaving one alone is the plain dish.
        let options = menu_option::Entity::find().all(&t.db).await.unwrap();
        assert!(!options.is_empty());
        assert!(
            options.iter().all(|o| o.price_delta_amount > 0),
            "{options:?}"
        );
        t.drop_all().await;
    }
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_and_fails_fast() {
    let config = SqlConfig {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(500),
    };
    let started = Instant::now();
    let err = bistro_sql::connect("postgres://postgres@127.0.0.1:1/postgres", &config)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn constraint_violations_are_database_errors() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(2)).await.unwrap();
        let err =
            t.db.execute_unprepared("UPDATE reviews SET rating = 9 WHERE id = 1")
                .await
                .map_err(Error::from)
                .unwrap_err();
        assert!(matches!(err, Error::Db(_)), "{err:?}");
        t.drop_all().await;
    }
}

fn new_order(user_id: i64, key: &str) -> bistro_sql::ordering::NewOrder {
    use bistro_sql::entity::order_line;
    use bistro_sql::ordering::{NewEmail, NewOrder, NewPayment};
    use sea_orm::ActiveValue::Set;
    NewOrder {
        user_id,
        restaurant_id: 1,
        fulfilment: bistro_sql::entity::Fulfilment::Pickup,
        table_number: None,
        delivery_address: None,
        subtotal_amount: 1200,
        total_amount: 1200,
        currency_code: "EUR".into(),
        idempotency_key: key.into(),
        checkout_fingerprint: "fp".into(),
        lines: vec![order_line::ActiveModel {
            menu_item_id: Set(1),
            name: Set("Soup".into()),
            quantity: Set(2),
            unit_price_amount: Set(600),
            options: Set("[]".into()),
            line_total_amount: Set(1200),
            ..Default::default()
        }],
        payment: NewPayment {
            provider: "simulated".into(),
            reference: format!("auth_{user_id}_{key}"),
        },
        confirmation: NewEmail {
            recipient: "someone@example.com".into(),
            subject: "Order {order_id}".into(),
            body: "Thanks for order {order_id}.".into(),
            kind: "ORDER_CONFIRMATION".into(),
        },
        placed_at: chrono::Utc::now(),
        step: None,
    }
}

#[tokio::test]
async fn idempotency_keys_are_unique_per_customer_not_across_customers() {
    use bistro_sql::ordering::{PlaceOrderError, order_by_idempotency_key, place_order};
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let placed = place_order(&t.db, new_order(1, "key-1")).await.unwrap();
        let first = placed.order.clone();
        // Another customer may use the same key.
        let other = place_order(&t.db, new_order(2, "key-1"))
            .await
            .unwrap()
            .order;
        assert_ne!(first.id, other.id);
        // The same customer may not.
        assert!(matches!(
            place_order(&t.db, new_order(1, "key-1")).await,
            Err(PlaceOrderError::DuplicateKey)
        ));
        let found = order_by_idempotency_key(&t.db, 1, "key-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, first.id);
        assert_eq!(found.checkout_fingerprint.as_deref(), Some("fp"));
        // Everything was written with the order, the email naming it.
        let outbox = bistro_sql::outbox::all(&t.db).await.unwrap();
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox[0].subject, format!("Order {}", first.id));
        let events = bistro_sql::ordering::events_by_orders(&t.db, &[first.id])
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        let payments = bistro_sql::ordering::payments_by_orders(&t.db, &[first.id])
            .await
            .unwrap();
        assert_eq!(payments[0].amount, 1200);
        // What place_order hands back is what was written.
        assert_eq!(events, vec![placed.event]);
        assert_eq!(payments, vec![placed.payment]);
        let lines = bistro_sql::query::order_lines_by_orders(&t.db, &[first.id])
            .await
            .unwrap();
        assert_eq!(lines, placed.lines);
        // Units sold today count it (and the seeded orders of the day).
        let sold =
            bistro_sql::ordering::units_sold_on(&t.db, chrono::Utc::now().date_naive(), &[1])
                .await
                .unwrap();
        assert!(sold[&1] >= 4, "{sold:?}");
        t.drop_all().await;
    }
}

#[tokio::test]
async fn transitions_apply_only_from_the_expected_status() {
    use bistro_sql::entity::{OrderStatus as S, PaymentStatus as P};
    use bistro_sql::ordering::{NewTransition, place_order, record_transition};
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let order = place_order(&t.db, new_order(1, "k")).await.unwrap().order;
        let accept = NewTransition {
            order_id: order.id,
            from: S::Placed,
            to: S::Accepted,
            payment: Some((P::Authorized, P::Captured)),
            step: None,
            actor_user_id: Some(2),
            note: None,
            at: chrono::Utc::now(),
        };
        let accepted = record_transition(&t.db, accept.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (accepted.status, accepted.payment_status),
            (S::Accepted, P::Captured)
        );
        // The same transition again finds the order moved on: nothing happens.
        assert_eq!(record_transition(&t.db, accept).await.unwrap(), None);
        let events = bistro_sql::ordering::events_by_orders(&t.db, &[order.id])
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        let payments = bistro_sql::ordering::payments_by_orders(&t.db, &[order.id])
            .await
            .unwrap();
        assert_eq!(payments[0].status, P::Captured);
        t.drop_all().await;
    }
}

fn checkout_step(user_id: i64, key: &str, owner: &str) -> bistro_sql::steps::NewCheckoutStep {
    let now = chrono::Utc::now();
    bistro_sql::steps::NewCheckoutStep {
        user_id,
        idempotency_key: key.into(),
        provider: "simulated".into(),
        provider_key: format!("checkout-{user_id}-{key}-{owner}"),
        detail: "{}".into(),
        lease_owner: owner.into(),
        lease_until: now + chrono::Duration::seconds(60),
        now,
        durability_may_trail: false,
    }
}

#[tokio::test]
async fn a_checkout_step_claims_its_key_once_and_guards_the_order_it_writes() {
    use bistro_sql::ordering::{PlaceOrderError, StepGuard, place_order};
    use bistro_sql::steps::{self, CheckoutClaim};
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let CheckoutClaim::Claimed(step) = steps::claim_checkout(&t.db, checkout_step(1, "k", "a"))
            .await
            .unwrap()
        else {
            panic!("the first claim of a key wins");
        };
        // A second claim of the key finds it held; another customer's is free.
        assert!(matches!(
            steps::claim_checkout(&t.db, checkout_step(1, "k", "b"))
                .await
                .unwrap(),
            CheckoutClaim::Held
        ));
        // A claim whose commit may trail the disk claims the same way.
        let trailing = |owner| bistro_sql::steps::NewCheckoutStep {
            durability_may_trail: true,
            ..checkout_step(2, "k", owner)
        };
        assert!(matches!(
            steps::claim_checkout(&t.db, trailing("b")).await.unwrap(),
            CheckoutClaim::Claimed(_)
        ));
        assert!(matches!(
            steps::claim_checkout(&t.db, trailing("c")).await.unwrap(),
            CheckoutClaim::Held
        ));
        // The lease is the holder's until it passes.
        let now = chrono::Utc::now();
        let later = now + chrono::Duration::seconds(61);
        assert!(
            steps::take_over(&t.db, step.id, "b", later, now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            steps::set_reference(&t.db, step.id, "a", "ref-1")
                .await
                .unwrap()
        );
        assert!(
            !steps::set_reference(&t.db, step.id, "b", "ref-2")
                .await
                .unwrap()
        );
        // Taken over after it passed, the old holder cannot write its order.
        let taken = steps::take_over(
            &t.db,
            step.id,
            "b",
            later + chrono::Duration::seconds(60),
            later,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(taken.lease_owner, "b");
        assert_eq!(taken.provider_reference.as_deref(), Some("ref-1"));
        let mut stale = new_order(1, "k");
        stale.step = Some(StepGuard {
            id: step.id,
            owner: "a".into(),
            lease_until: later,
        });
        assert!(matches!(
            place_order(&t.db, stale).await,
            Err(PlaceOrderError::LeaseLost)
        ));
        assert_eq!(
            bistro_sql::ordering::order_by_idempotency_key(&t.db, 1, "k")
                .await
                .unwrap(),
            None,
            "nothing of the refused order was written"
        );
        // The holder writes it, and the step is committed with it.
        let mut held = new_order(1, "k");
        held.step = Some(StepGuard {
            id: step.id,
            owner: "b".into(),
            lease_until: later,
        });
        place_order(&t.db, held).await.unwrap();
        let committed = steps::checkout_step(&t.db, 1, "k").await.unwrap().unwrap();
        assert_eq!(committed.state, bistro_sql::entity::StepState::Committed);
        assert!(steps::finish(&t.db, step.id, "b").await.unwrap());
        // With the order written, the key cannot be claimed again.
        assert!(matches!(
            steps::claim_checkout(&t.db, checkout_step(1, "k", "c"))
                .await
                .unwrap(),
            CheckoutClaim::Ordered
        ));
        t.drop_all().await;
    }
}

#[tokio::test]
async fn an_order_goes_through_one_payment_change_at_a_time() {
    use bistro_sql::entity::{OrderStatus as S, PaymentStatus as P, StepKind};
    use bistro_sql::ordering::{
        NewPaymentChange, NewTransition, TransitionStep, abandon_payment_change,
        begin_payment_change, place_order, record_transition,
    };
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let order = place_order(&t.db, new_order(1, "k")).await.unwrap().order;
        let now = chrono::Utc::now();
        let change = |owner: &str| NewPaymentChange {
            order_id: order.id,
            from: S::Placed,
            payment_from: P::Authorized,
            kind: StepKind::Capture,
            provider: "simulated".into(),
            provider_key: format!("order-{}-capture-{owner}", order.id),
            reference: "ref".into(),
            detail: "{}".into(),
            lease_owner: owner.into(),
            lease_until: now + chrono::Duration::seconds(60),
            now,
        };
        let step = begin_payment_change(&t.db, change("a"))
            .await
            .unwrap()
            .unwrap();
        // A second change, and a transition that moves no money, both lose.
        assert!(
            begin_payment_change(&t.db, change("b"))
                .await
                .unwrap()
                .is_none()
        );
        let reject_without_money = NewTransition {
            order_id: order.id,
            from: S::Placed,
            to: S::Rejected,
            payment: None,
            step: None,
            actor_user_id: Some(2),
            note: None,
            at: now,
        };
        assert_eq!(
            record_transition(&t.db, reject_without_money.clone())
                .await
                .unwrap(),
            None
        );
        // Refused by the provider, the change ends and the order is free again.
        abandon_payment_change(&t.db, order.id, step.id)
            .await
            .unwrap();
        let step = begin_payment_change(&t.db, change("c"))
            .await
            .unwrap()
            .unwrap();
        let accept = NewTransition {
            order_id: order.id,
            from: S::Placed,
            to: S::Accepted,
            payment: Some((P::Authorized, P::Captured)),
            step: Some(TransitionStep {
                id: step.id,
                keep_until: None,
            }),
            actor_user_id: Some(2),
            note: None,
            at: now,
        };
        let accepted = record_transition(&t.db, accept.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                accepted.status,
                accepted.payment_status,
                accepted.pending_step_id
            ),
            (S::Accepted, P::Captured, None)
        );
        // Recorded once: a repeat (recovery after the request) changes nothing.
        assert_eq!(record_transition(&t.db, accept).await.unwrap(), None);
        assert!(bistro_sql::steps::all(&t.db).await.unwrap().is_empty());
        t.drop_all().await;
    }
}

#[tokio::test]
async fn the_simulated_ledger_applies_an_operation_once_per_key() {
    use bistro_sql::simulated_ledger as ledger;
    for t in databases().await {
        let now = chrono::Utc::now();
        let row = ledger::new_authorization("k1".into(), "h".into(), Ok("ref-1".into()), None, now);
        let (first, fresh) = ledger::record_authorization(&t.db, row.clone())
            .await
            .unwrap();
        assert!(fresh);
        let mut other = row;
        other.request_hash = "other".into();
        let (again, fresh) = ledger::record_authorization(&t.db, other).await.unwrap();
        assert!(!fresh);
        assert_eq!(
            again.request_hash, first.request_hash,
            "the first answer stands"
        );
        let capture = ("AUTHORIZED", "CAPTURED");
        let applied = ledger::apply(&t.db, "c1", "CAPTURE", "ref-1", capture, now)
            .await
            .unwrap();
        assert_eq!((applied.outcome.as_str(), applied.fresh), ("APPLIED", true));
        let replay = ledger::apply(&t.db, "c1", "CAPTURE", "ref-1", capture, now)
            .await
            .unwrap();
        assert_eq!((replay.outcome.as_str(), replay.fresh), ("APPLIED", false));
        let twice = ledger::apply(&t.db, "c2", "CAPTURE", "ref-1", capture, now)
            .await
            .unwrap();
        assert_eq!(twice.outcome, "INVALID_STATE");
        let reused = ledger::apply(&t.db, "c1", "VOID", "ref-1", ("AUTHORIZED", "VOIDED"), now)
            .await
            .unwrap();
        assert_eq!(reused.outcome, "KEY_REUSED");
        let missing = ledger::apply(&t.db, "c3", "CAPTURE", "nope", capture, now)
            .await
            .unwrap();
        assert_eq!(missing.outcome, "NO_SUCH_AUTHORIZATION");
        assert_eq!(
            ledger::state(&t.db, "ref-1").await.unwrap().as_deref(),
            Some("CAPTURED")
        );
        // Pauses: waiting until released, released for good.
        assert_eq!(ledger::hold(&t.db, "p", now).await.unwrap(), "WAITING");
        assert_eq!(ledger::hold(&t.db, "p", now).await.unwrap(), "WAITING");
        ledger::release(&t.db, "p", now).await.unwrap();
        assert_eq!(ledger::hold(&t.db, "p", now).await.unwrap(), "RELEASED");
        // Pruned by age.
        let pruned = ledger::prune(&t.db, now + chrono::Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(
            pruned,
            1 + 3 + 1,
            "the authorization, three operations (a reused key is not recorded) and the pause"
        );
        assert_eq!(ledger::state(&t.db, "ref-1").await.unwrap(), None);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn outbox_claims_never_overlap_and_lapsed_leases_are_claimable_again() {
    use bistro_sql::ordering::place_order;
    use bistro_sql::outbox;
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        for i in 0..6 {
            place_order(&t.db, new_order(1, &format!("k{i}")))
                .await
                .unwrap();
        }
        let now = chrono::Utc::now() + chrono::Duration::seconds(1);
        let lease = Duration::from_secs(60);
        let (a, b) = tokio::join!(
            outbox::claim_due(&t.db, "a", now, lease, 4),
            outbox::claim_due(&t.db, "b", now, lease, 4)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 6, "every row claimed once");
        assert!(
            a.iter()
                .all(|row| !b.iter().any(|other| other.id == row.id))
        );
        assert!(
            outbox::claim_due(&t.db, "c", now, lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Only the lease holder finishes a row.
        assert!(!outbox::mark_sent(&t.db, a[0].id, "b", now).await.unwrap());
        assert!(outbox::mark_sent(&t.db, a[0].id, "a", now).await.unwrap());
        // After the leases lapse, the unfinished rows are claimable again, and count a second attempt.
        let later = now + chrono::Duration::seconds(61);
        let again = outbox::claim_due(&t.db, "c", later, lease, 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 5);
        assert!(again.iter().all(|row| row.attempts == 2));
        // A retry waits until it is due.
        assert!(
            outbox::retry_later(
                &t.db,
                again[0].id,
                "c",
                later + chrono::Duration::seconds(30),
                "refused"
            )
            .await
            .unwrap()
        );
        let due = outbox::claim_due(&t.db, "d", later + chrono::Duration::seconds(61), lease, 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 5);
        t.drop_all().await;
    }
}

#[tokio::test]
async fn option_groups_load_with_their_options_in_one_statement() {
    for t in databases().await {
        bistro_sql::seed::seed(&t.db, &options(3)).await.unwrap();
        let (db, count) = counted(&t.db);
        let ids: Vec<i64> = (1..=144).collect();
        let groups = bistro_sql::ordering::option_groups_by_items(&db, &ids)
            .await
            .unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 1);
        assert!(!groups.is_empty());
        for item_groups in groups.values() {
            for group in item_groups {
                assert!(!group.options.is_empty());
                assert!(
                    group
                        .options
                        .windows(2)
                        .all(|w| w[0].position <= w[1].position)
                );
            }
        }
        t.drop_all().await;
    }
}
