//! Operator account management: `bistro user create`.

use anyhow::{Context as _, bail};
use bistro_auth::{password, text};
use bistro_sql::entity::{UserRole, user};
use bistro_sql::write::{CreateUserError, NewUser};
use sea_orm::DatabaseConnection;

/// What `bistro user create` was asked for.
#[derive(Debug, Clone)]
pub struct CreateAccount {
    /// Sign-in email.
    pub email: String,
    /// Role of the account.
    pub role: UserRole,
    /// Slugs of the restaurants a staff member works for.
    pub restaurants: Vec<String>,
    /// Public name; defaults to the email's local part.
    pub display_name: Option<String>,
    /// Password; `None` generates one.
    pub password: Option<String>,
}

/// The account created, and the generated password when none was given.
#[derive(Debug)]
pub struct CreatedAccount {
    /// The stored account.
    pub user: user::Model,
    /// The password to hand over, when it was generated.
    pub generated_password: Option<String>,
}

/// Validates and creates an account the way `register` would, with any role.
pub async fn create_account(
    db: &DatabaseConnection,
    request: CreateAccount,
) -> anyhow::Result<CreatedAccount> {
    let email = password::normalize_email(&request.email)
        .map_err(|p| anyhow::anyhow!("{:?} is not a valid email ({})", request.email, p.code()))?;
    match (request.role, request.restaurants.is_empty()) {
        (UserRole::Staff, true) => bail!("staff accounts need at least one --restaurant <slug>"),
        (UserRole::Customer | UserRole::Admin, false) => {
            bail!("--restaurant applies to staff accounts only")
        }
        _ => {}
    }
    let restaurant_ids = bistro_sql::write::restaurant_ids_by_slugs(db, &request.restaurants)
        .await?
        .map_err(|slug| anyhow::anyhow!("no restaurant has the slug {slug:?}"))?;
    let (password, generated) = match request.password {
        Some(password) => (password, false),
        None => (bistro_auth::random_string(18), true),
    };
    if let Err(problem) = password::check_password(&password, &email) {
        bail!("password refused: {}", problem.message());
    }
    let display_name = match request.display_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => text::display_name(name).ok_or_else(|| {
            anyhow::anyhow!(
                "the display name must be 1 to {} visible characters on one line \
                 (no control, invisible or direction-changing characters)",
                text::MAX_DISPLAY_NAME_CHARS
            )
        })?,
        _ => text::display_name(email.split('@').next().unwrap_or_default())
            .context("the email's local part is not a usable display name; pass --display-name")?,
    };
    let password_hash = password::hash_password(&password).await?;
    let user = bistro_sql::write::create_user(
        db,
        NewUser {
            email,
            display_name,
            password_hash,
            role: request.role,
            restaurant_ids,
        },
    )
    .await
    .map_err(|e| match e {
        CreateUserError::EmailTaken => anyhow::anyhow!("an account with this email already exists"),
        CreateUserError::Store(e) => anyhow::Error::new(e),
    })
    .context("creating the account")?;
    Ok(CreatedAccount {
        user,
        generated_password: generated.then_some(password),
    })
}
