//! Who is asking, and what they may see and do.
//!
//! Authentication happens once per request, before execution
//! ([`authenticate`], called by the request scope): a bearer token is
//! verified, its session checked, and the result stored as the request's
//! [`Viewer`]. A bad token fails the whole request with `UNAUTHENTICATED`;
//! no token means an anonymous viewer.
//!
//! Authorization rules live here and only here: [`Rule`] names each kind of
//! permission and [`Viewer::check`] decides it. Fields state which rule
//! protects them with the [`Can`] guard (`#[graphql(guard = "Can(…)")]`),
//! so resolvers never repeat a check by hand.

use std::sync::{Arc, RwLock};

use async_graphql::{Context, Guard};
use bistro_auth::{Role, Sessions, TokenError, TokenKeys};
use bistro_data::Scope;
use bistro_data::account::ScopedSessions;

use crate::error::ErrorCode;

/// The address of the client making the request, put into the request by the
/// HTTP layer (the socket's peer, or the forwarded client behind a trusted
/// proxy). Rate limits key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// What authentication needs: the token keys, the session store, and the
/// bounded argon2 work of sign-ins and registrations.
#[derive(Clone, Debug)]
pub struct AuthDeps {
    /// Signs and verifies access tokens.
    pub keys: TokenKeys,
    /// Refresh tokens and sessions (over the uncounted key-value handle;
    /// each request re-targets it at its counted handle).
    pub sessions: Sessions,
    /// Password hashing and verification, at most so many at once.
    pub passwords: bistro_auth::password::PasswordHashing,
}

impl AuthDeps {
    /// The session store through a request's scope (its counted key-value handle).
    pub fn sessions_for(&self, scope: &Scope) -> ScopedSessions {
        scope.sessions(&self.sessions)
    }
}

/// A signed-in user, as their access token describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Database id of the user.
    pub user_id: i64,
    /// Their role.
    pub role: Role,
    /// For staff: the restaurants they work for.
    pub restaurants: Vec<i64>,
    /// The session the token belongs to.
    pub session_id: String,
}

impl Principal {
    fn works_for(&self, restaurant_id: i64) -> bool {
        self.role == Role::Staff && self.restaurants.contains(&restaurant_id)
    }
}

/// Who is asking: a signed-in user, or nobody.
#[derive(Debug, Clone, Default)]
pub struct Viewer(pub Option<Principal>);

/// A permission a field or mutation requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Any signed-in user.
    SignedIn,
    /// Administrators only.
    Admin,
    /// The account itself: its email, role, orders (and later its cart).
    Account {
        /// The account's user id.
        user_id: i64,
    },
    /// Staff of the restaurant: its orders, its menu management.
    StaffOf {
        /// The restaurant's id.
        restaurant_id: i64,
    },
    /// An order: its customer, or staff of its restaurant.
    Order {
        /// Who placed it.
        customer_id: i64,
        /// Where.
        restaurant_id: i64,
    },
}

impl Viewer {
    /// Decides `rule` for this viewer: admins may do everything; anonymous
    /// viewers are `UNAUTHENTICATED`; everyone else is allowed or `FORBIDDEN`.
    pub fn check(&self, rule: Rule) -> async_graphql::Result<()> {
        let Some(principal) = &self.0 else {
            return Err(ErrorCode::Unauthenticated.error("Sign in to see or do this."));
        };
        let allowed = principal.role == Role::Admin
            || match rule {
                Rule::SignedIn => true,
                Rule::Admin => false,
                Rule::Account { user_id } => principal.user_id == user_id,
                Rule::StaffOf { restaurant_id } => principal.works_for(restaurant_id),
                Rule::Order {
                    customer_id,
                    restaurant_id,
                } => principal.user_id == customer_id || principal.works_for(restaurant_id),
            };
        if allowed {
            Ok(())
        } else {
            Err(ErrorCode::Forbidden.error("You are not allowed to see or do this."))
        }
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> Option<i64> {
        self.0.as_ref().map(|p| p.user_id)
    }
}

/// The opening of a mutation for signed-in users: runs `work` with the
/// viewer's user id, or answers `UNAUTHENTICATED` without running it; either
/// way an error is the field's, with `null` (see [`crate::error::nullable`]).
pub async fn signed_in<T, F>(ctx: &Context<'_>, work: impl FnOnce(i64) -> F) -> Option<T>
where
    F: Future<Output = async_graphql::Result<T>>,
{
    crate::error::nullable(ctx, async {
        let viewer = viewer(ctx);
        viewer.check(Rule::SignedIn)?;
        work(viewer.user_id().unwrap_or_default()).await
    })
    .await
}

/// The request's viewer, as request data.
///
/// A request starts as whoever its token names. A mutation that signs in
/// (`register`, `login`, `refreshSession`) makes the new session the viewer
/// for the rest of the request, so its own payload (`session { user { email
/// cart } }`) and any later field are resolved as the user who just signed
/// in; `logout` of the request's own session makes it anonymous again.
#[derive(Debug, Default)]
pub struct ViewerCell(RwLock<Arc<Viewer>>);

impl ViewerCell {
    /// A request's viewer cell, starting as `viewer`.
    pub fn new(viewer: Viewer) -> Self {
        Self(RwLock::new(Arc::new(viewer)))
    }

    /// The viewer now.
    pub fn get(&self) -> Arc<Viewer> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Makes `viewer` the viewer for the rest of the request.
    pub fn set(&self, viewer: Viewer) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(viewer);
    }
}

/// The request's viewer (anonymous when the request carried no token).
pub fn viewer(ctx: &Context<'_>) -> Arc<Viewer> {
    ctx.data_opt::<ViewerCell>()
        .map(ViewerCell::get)
        .unwrap_or_default()
}

/// Guard requiring a [`Rule`]: `#[graphql(guard = "Can(Rule::Admin)")]`.
///
/// Put it on nullable fields: a refused field is `null` with the error at its path.
pub struct Can(pub Rule);

impl Guard for Can {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        viewer(ctx).check(self.0)
    }
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Past its expiry: refresh the session.
    Expired,
    /// Malformed, tampered with, or signed with another key.
    Invalid,
    /// Its session was ended (logout, or refresh-token reuse).
    SessionEnded,
}

impl AuthFailure {
    /// The message clients see.
    pub fn message(self) -> &'static str {
        match self {
            Self::Expired => "The access token has expired; refresh the session.",
            Self::Invalid => "The access token is invalid.",
            Self::SessionEnded => "The session has ended; sign in again.",
        }
    }
}

/// Verifies a bearer token and checks its session is still active and
/// belongs to the token's subject (one key-value round trip). When the
/// key-value store is unreachable the signature and expiry alone decide: a
/// logged-out token then works until it expires, which is short, rather
/// than every signed-in request failing.
pub async fn authenticate(
    deps: &AuthDeps,
    scope: &Scope,
    token: &str,
) -> Result<Principal, AuthFailure> {
    Ok(authenticate_until(deps, scope, token).await?.0)
}

/// [`authenticate`], with the token's expiry (`exp`, seconds since the epoch).
pub(crate) async fn authenticate_until(
    deps: &AuthDeps,
    scope: &Scope,
    token: &str,
) -> Result<(Principal, i64), AuthFailure> {
    let claims = deps.keys.verify(token).map_err(|e| match e {
        TokenError::Expired => AuthFailure::Expired,
        TokenError::Invalid => AuthFailure::Invalid,
    })?;
    let user_id = claims.user_id().ok_or(AuthFailure::Invalid)?;
    match deps.sessions_for(scope).active_user(&claims.sid).await {
        Ok(Some(owner)) if owner == user_id => {}
        // A validly signed token naming someone else's session.
        Ok(Some(_)) => return Err(AuthFailure::Invalid),
        Ok(None) => return Err(AuthFailure::SessionEnded),
        // Logged where it happened.
        Err(_) => {
            tracing::warn!("session store unreachable; trusting the access token's signature");
        }
    }
    Ok((
        Principal {
            user_id,
            role: claims.role,
            restaurants: claims.restaurants,
            session_id: claims.sid,
        },
        claims.exp,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(user_id: i64, role: Role, restaurants: &[i64]) -> Viewer {
        Viewer(Some(Principal {
            user_id,
            role,
            restaurants: restaurants.to_vec(),
            session_id: "s".into(),
        }))
    }

    fn code(result: async_graphql::Result<()>) -> &'static str {
        match result {
            Ok(()) => "OK",
            Err(e) => match e.extensions.and_then(|x| x.get("code").cloned()) {
                Some(async_graphql::Value::String(code)) if code == "FORBIDDEN" => "FORBIDDEN",
                Some(async_graphql::Value::String(code)) if code == "UNAUTHENTICATED" => {
                    "UNAUTHENTICATED"
                }
                _ => "OTHER",
            },
        }
    }

    #[test]
    fn rules_decide_by_role_and_relation() {
        let anonymous = Viewer::default();
        let customer = principal(1, Role::Customer, &[]);
        let staff = principal(2, Role::Staff, &[10]);
        let admin = principal(3, Role::Admin, &[]);
        let order = Rule::Order {
            customer_id: 1,
            restaurant_id: 10,
        };
        assert_eq!(code(anonymous.check(Rule::SignedIn)), "UNAUTHENTICATED");
        assert_eq!(code(customer.check(Rule::SignedIn)), "OK");
        assert_eq!(code(customer.check(order)), "OK");
        assert_eq!(code(staff.check(order)), "OK");
        assert_eq!(
            code(principal(4, Role::Staff, &[11]).check(order)),
            "FORBIDDEN"
        );
        assert_eq!(
            code(principal(5, Role::Customer, &[10]).check(Rule::StaffOf { restaurant_id: 10 })),
            "FORBIDDEN"
        );
        assert_eq!(
            code(customer.check(Rule::Account { user_id: 2 })),
            "FORBIDDEN"
        );
        assert_eq!(code(customer.check(Rule::Admin)), "FORBIDDEN");
        assert_eq!(code(admin.check(Rule::Admin)), "OK");
        assert_eq!(code(admin.check(order)), "OK");
    }
}
