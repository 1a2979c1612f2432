//! Accounts and sessions: `register`, `login`, `refreshSession`, `logout`.

use std::net::{IpAddr, Ipv6Addr};

use async_graphql::{Context, InputObject, Object, SimpleObject};
use bistro_auth::Role as TokenRole;
use bistro_auth::password::{self, HashingError, MAX_PASSWORD_CHARS};
use bistro_auth::text::{self, MAX_DISPLAY_NAME_CHARS};
use bistro_data::NewUser;
use bistro_data::account::{NewAccountError, RotationError};
use bistro_data::entity::{UserRole, user};
use bistro_data::rate_limit::RateLimits;
use chrono::{DateTime, Utc};

use crate::auth::{AuthDeps, ClientAddr, Principal, Viewer, ViewerCell, viewer};
use crate::error::{Coded, ErrorCode, nullable, rate_limited, server_busy, store_error};
use crate::objects::User;
use crate::request::context::{data, loaders, scope};
use crate::user_error::{UserError, UserErrorCode};

/// A new account.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Sign-in email; stored lower-case.
    pub email: String,
    /// At least 10 characters, at most 128; not a common password.
    pub password: String,
    /// Public name shown with reviews (1 to 120 characters).
    pub display_name: String,
}

/// Credentials.
#[derive(InputObject)]
pub struct LoginInput {
    /// Sign-in email (case-insensitive).
    pub email: String,
    /// Password.
    pub password: String,
}

/// A refresh token to exchange.
#[derive(InputObject)]
pub struct RefreshSessionInput {
    /// The refresh token from `login`, `register` or the last `refreshSession`.
    pub refresh_token: String,
}

/// Which session to end.
#[derive(InputObject)]
pub struct LogoutInput {
    /// The session's refresh token. Optional when the request is signed in:
    /// then the session of its access token ends.
    pub refresh_token: Option<String>,
}

/// Tokens of a signed-in session.
#[derive(SimpleObject)]
pub struct AuthSession {
    /// Send as `Authorization: Bearer <accessToken>`; short-lived.
    pub access_token: String,
    /// When the access token stops working.
    pub access_token_expires_at: DateTime<Utc>,
    /// Exchange with `refreshSession` for new tokens; single use.
    pub refresh_token: String,
    /// When the refresh token stops working unless used.
    pub refresh_token_expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
}

/// Result of `register`, `login` and `refreshSession`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// The new session; null when there are user errors.
    pub session: Option<AuthSession>,
    /// Why it did not work, if it did not.
    pub user_errors: Vec<UserError>,
}

impl AuthPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self {
            session: None,
            user_errors: errors,
        }
    }
}

/// Result of `logout`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Whether a session was ended (false when it had already ended).
    pub logged_out: bool,
    /// Why it did not work, if it did not.
    pub user_errors: Vec<UserError>,
}

fn token_role(role: UserRole) -> TokenRole {
    match role {
        UserRole::Customer => TokenRole::Customer,
        UserRole::Staff => TokenRole::Staff,
        UserRole::Admin => TokenRole::Admin,
    }
}

/// Access token for `user` in session `session_id`, with their current role
/// and restaurants (read now, so a changed role takes effect at refresh).
async fn access_token(
    ctx: &Context<'_>,
    user: &user::Model,
    session_id: &str,
) -> async_graphql::Result<(String, DateTime<Utc>)> {
    let restaurants = if user.role == UserRole::Staff {
        scope(ctx)?.staff_restaurant_ids(user.id).await.coded()?
    } else {
        Vec::new()
    };
    let auth = data::<AuthDeps>(ctx)?;
    let issued = auth.keys.issue(
        user.id,
        token_role(user.role),
        restaurants.clone(),
        session_id,
    );
    // The payload, and the rest of the request, are resolved as the session just started.
    if let Some(cell) = ctx.data_opt::<ViewerCell>() {
        cell.set(Viewer(Some(Principal {
            user_id: user.id,
            role: token_role(user.role),
            restaurants,
            session_id: session_id.to_owned(),
        })));
    }
    Ok(issued)
}

/// Starts a session for `user` and returns its tokens.
async fn start_session(ctx: &Context<'_>, user: user::Model) -> async_graphql::Result<AuthPayload> {
    let auth = data::<AuthDeps>(ctx)?;
    let token = auth
        .sessions_for(scope(ctx)?)
        .start(&auth.keys, user.id)
        .await
        .map_err(|e| store_error(&e))?;
    let (access_token, access_expires) = access_token(ctx, &user, &token.session_id).await?;
    Ok(AuthPayload {
        session: Some(AuthSession {
            access_token,
            access_token_expires_at: access_expires,
            refresh_token: token.refresh_token,
            refresh_token_expires_at: token.expires_at,
            user: User(user),
        }),
        user_errors: Vec::new(),
    })
}

/// The request's client address (unspecified when the transport gave none).
fn client_address(ctx: &Context<'_>) -> IpAddr {
    ctx.data_opt::<ClientAddr>()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.0)
}

/// The account `input` names, when its password is right; `None` when the
/// email or the password is not. An unknown account is checked against a
/// decoy hash (same time, same answer); an overlong password is refused
/// before hashing (hashing is the cost an attacker wants).
async fn check_credentials(
    ctx: &Context<'_>,
    input: &LoginInput,
) -> async_graphql::Result<Option<user::Model>> {
    if input.password.chars().count() > MAX_PASSWORD_CHARS {
        return Ok(None);
    }
    let user = match password::normalize_email(&input.email) {
        Ok(email) => scope(ctx)?.user_by_email(&email).await.coded()?,
        Err(_) => None,
    };
    let verified = data::<AuthDeps>(ctx)?
        .passwords
        .verify(
            &input.password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        )
        .await
        .map_err(|_| server_busy())?;
    Ok(user.filter(|_| verified))
}

/// Account and session mutations.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
/// Account and session mutations.
impl AccountMutation {
    /// Creates a customer account and signs it in.
    #[graphql(complexity = "crate::limits::PASSWORD_HASH_COST")]
    async fn register(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account.")] input: RegisterInput,
    ) -> Option<AuthPayload> {
        nullable(ctx, async {
            let mut errors = Vec::new();
            let email = match password::normalize_email(&input.email) {
                Ok(email) => Some(email),
                Err(problem) => {
                    errors.push(UserError::on(
                        "email",
                        problem.into(),
                        "Enter an email address like name@example.com.",
                    ));
                    None
                }
            };
            let display_name = text::display_name(&input.display_name);
            if display_name.is_none() {
                errors.push(UserError::on(
                    "displayName",
                    UserErrorCode::DisplayNameInvalid,
                    format!(
                        "Use 1 to {MAX_DISPLAY_NAME_CHARS} visible characters on one line \
                         (no invisible or direction-changing ones)."
                    ),
                ));
            }
            if let Err(problem) =
                password::check_password(&input.password, email.as_deref().unwrap_or(""))
            {
                errors.push(UserError::on("password", problem.into(), problem.message()));
            }
            let (Some(email), Some(display_name)) = (email, display_name) else {
                return Ok(AuthPayload::failed(errors));
            };
            if !errors.is_empty() {
                return Ok(AuthPayload::failed(errors));
            }
            let email_taken = || {
                AuthPayload::failed(vec![UserError::on(
                    "email",
                    UserErrorCode::EmailTaken,
                    "An account with this email already exists; sign in instead.",
                )])
            };
            // Registration attempts per address, counted first: each account
            // brings a request budget of its own, so accounts must not be
            // free; and a taken email, answered next, is one attempt too, so
            // asking which emails have accounts is bounded like signing up.
            let limits = data::<RateLimits>(ctx)?;
            let data_scope = scope(ctx)?;
            let reservation = match limits
                .begin_registration(data_scope, client_address(ctx))
                .await
            {
                Ok(reservation) => reservation,
                Err(limited) => {
                    return Err(rate_limited(
                        "Too many accounts registered from this address; try again later.",
                        limited,
                    ));
                }
            };
            // A taken email is answered before anything is hashed: asking
            // costs one indexed read, not an argon2 run.
            let taken = match scope(ctx)?.user_by_email(&email).await {
                Ok(taken) => taken.is_some(),
                Err(error) => {
                    limits.registration_abandoned(data_scope, reservation).await;
                    return Err(store_error(&error));
                }
            };
            if taken {
                return Ok(email_taken());
            }
            let password_hash = match data::<AuthDeps>(ctx)?.passwords.hash(&input.password).await {
                Ok(hash) => hash,
                Err(HashingError::Busy(_)) => {
                    limits.registration_abandoned(data_scope, reservation).await;
                    return Err(server_busy());
                }
                Err(HashingError::Failed(e)) => {
                    limits.registration_abandoned(data_scope, reservation).await;
                    tracing::error!(error = %e, "password hashing failed");
                    return Err(ErrorCode::Internal.error("Internal server error"));
                }
            };
            let created = scope(ctx)?
                .create_user(NewUser {
                    email,
                    display_name,
                    password_hash,
                    role: UserRole::Customer,
                    restaurant_ids: Vec::new(),
                })
                .await;
            let user = match created {
                Ok(user) => user,
                // Registered at the same moment by another request: an attempt like any.
                Err(NewAccountError::EmailTaken) => return Ok(email_taken()),
                Err(NewAccountError::Store(e)) => {
                    limits.registration_abandoned(data_scope, reservation).await;
                    return Err(store_error(&e));
                }
            };
            start_session(ctx, user).await
        })
        .await
    }

    /// Signs in with email and password.
    #[graphql(complexity = "crate::limits::PASSWORD_HASH_COST")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Credentials.")] input: LoginInput,
    ) -> Option<AuthPayload> {
        nullable(ctx, async {
            let invalid = || {
                AuthPayload::failed(vec![UserError::general(
                    UserErrorCode::InvalidCredentials,
                    "The email or password is not right.",
                )])
            };
            // Every attempt reserves its place in the failed-sign-in counts
            // before the password is looked at, so attempts sent at once
            // cannot all slip under a limit; past a limit (or during the
            // account's delay, for an address that failed on it) the attempt
            // is refused even when the password is right. Each aliased
            // `login` of a request is an attempt of its own.
            let limits = data::<RateLimits>(ctx)?;
            let data_scope = scope(ctx)?;
            let attempts = limits.login_attempts(&input.email, client_address(ctx));
            let reservation = match limits.begin_login(data_scope, &attempts).await {
                Ok(reservation) => reservation,
                Err(limited) => {
                    return Err(rate_limited(
                        "Too many failed sign-ins; try again later.",
                        limited,
                    ));
                }
            };
            match check_credentials(ctx, &input).await {
                Ok(Some(user)) => {
                    limits
                        .login_released(data_scope, &attempts, reservation)
                        .await;
                    start_session(ctx, user).await
                }
                Ok(None) => {
                    limits.login_failed(reservation);
                    Ok(invalid())
                }
                // The password was never checked (the server is busy, a
                // store failed): the attempt does not count.
                Err(error) => {
                    limits
                        .login_released(data_scope, &attempts, reservation)
                        .await;
                    Err(error)
                }
            }
        })
        .await
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works
    /// once: presenting one again ends its whole session, since a copy of it
    /// is then in someone else's hands.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token to exchange.")] input: RefreshSessionInput,
    ) -> Option<AuthPayload> {
        nullable(ctx, async {
            let auth = data::<AuthDeps>(ctx)?;
            let sessions = auth.sessions_for(scope(ctx)?);
            let rotation = match sessions.rotate(&auth.keys, &input.refresh_token).await {
                Ok(rotation) => rotation,
                Err(RotationError::Invalid) => {
                    return Ok(AuthPayload::failed(vec![UserError::on(
                        "refreshToken",
                        UserErrorCode::RefreshTokenInvalid,
                        "The session has expired or ended; sign in again.",
                    )]));
                }
                Err(RotationError::Reused) => {
                    return Ok(AuthPayload::failed(vec![UserError::on(
                        "refreshToken",
                        UserErrorCode::RefreshTokenReused,
                        "This refresh token was already used, so the session was ended for safety; sign in again.",
                    )]));
                }
                Err(RotationError::Store(e)) => return Err(store_error(&e)),
            };
            let user = loaders(ctx)?
                .user
                .load_one(rotation.user_id)
                .await
                .coded()?;
            let Some(user) = user else {
                sessions
                    .revoke(&rotation.token.session_id)
                    .await
                    .map_err(|e| store_error(&e))?;
                return Ok(AuthPayload::failed(vec![UserError::on(
                    "refreshToken",
                    UserErrorCode::RefreshTokenInvalid,
                    "The account no longer exists.",
                )]));
            };
            let (access_token, access_expires) =
                access_token(ctx, &user, &rotation.token.session_id).await?;
            Ok(AuthPayload {
                session: Some(AuthSession {
                    access_token,
                    access_token_expires_at: access_expires,
                    refresh_token: rotation.token.refresh_token,
                    refresh_token_expires_at: rotation.token.expires_at,
                    user: User(user),
                }),
                user_errors: Vec::new(),
            })
        })
        .await
    }

    /// Ends a session: its refresh token and its access tokens stop working.
    #[graphql(complexity = "crate::limits::OWN_STATEMENT_COST")]
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which session to end.")] input: LogoutInput,
    ) -> Option<LogoutPayload> {
        nullable(ctx, async {
            let auth = data::<AuthDeps>(ctx)?;
            let sessions = auth.sessions_for(scope(ctx)?);
            let signed_in = viewer(ctx).0.as_ref().map(|p| p.session_id.clone());
            let logged_out = match (&input.refresh_token, signed_in) {
                // The token's secret is checked before anything changes: the
                // session id alone (readable in any access token) ends nothing.
                (Some(token), _) => match sessions.end(&auth.keys, token).await {
                    Ok(logged_out) => logged_out,
                    Err(RotationError::Store(e)) => return Err(store_error(&e)),
                    Err(RotationError::Invalid | RotationError::Reused) => {
                        return Ok(LogoutPayload {
                            logged_out: false,
                            user_errors: vec![UserError::on(
                                "refreshToken",
                                UserErrorCode::RefreshTokenInvalid,
                                "This is not a refresh token of a session.",
                            )],
                        });
                    }
                },
                // A verified access token of the session proves the caller holds it.
                (None, Some(sid)) => sessions.revoke(&sid).await.map_err(|e| store_error(&e))?,
                (None, None) => {
                    return Err(ErrorCode::Unauthenticated
                        .error("Sign in, or pass the session's refresh token, to log out."));
                }
            };
            // Ending the request's own session makes the rest of the request anonymous.
            let own = viewer(ctx).0.as_ref().is_some_and(|p| {
                input.refresh_token.as_deref().is_none_or(|token| {
                    token.split_once('.').map(|(sid, _)| sid) == Some(p.session_id.as_str())
                })
            });
            if logged_out
                && own
                && let Some(cell) = ctx.data_opt::<ViewerCell>()
            {
                cell.set(Viewer(None));
            }
            Ok(LogoutPayload {
                logged_out,
                user_errors: Vec::new(),
            })
        })
        .await
    }
}
