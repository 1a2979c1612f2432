//! A live connection's standing, and the calls the transport makes on
//! [`Api`] for it: authenticating a connection once and running its
//! subscriptions.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_graphql::Response;
use async_graphql::futures_util::stream::BoxStream;

use super::hub::{LiveHub, SessionRegistration};
use crate::auth::{AuthFailure, Viewer, authenticate_until};
use crate::request::{Api, Caller, Prepared};

/// A live connection's standing: who it is, until when.
pub struct LiveConnection {
    viewer: Viewer,
    caller: Caller,
    expires_at: Option<SystemTime>,
    registration: Option<SessionRegistration>,
}

impl LiveConnection {
    /// Who the connection is, as its queries and mutations present themselves.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Who signed in on it (authenticated once, at `connection_init`).
    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    /// Whether a user signed in (else the connection is anonymous).
    pub fn is_signed_in(&self) -> bool {
        self.viewer.0.is_some()
    }

    /// How long until its access token expires (`None`: anonymous, never).
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_at.map(|at| {
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }

    /// Resolves when the connection's session has ended (logout on any
    /// replica); never for an anonymous connection.
    pub async fn session_ended(&self) {
        match &self.registration {
            Some(registration) => registration.ended().await,
            None => std::future::pending().await,
        }
    }
}

impl Api {
    /// The replica's live hub.
    pub fn live(&self) -> &LiveHub {
        &self.live
    }

    /// Authenticates a live connection by the token of its `connection_init`
    /// (none: anonymous), once: one key-value read of the session. A token
    /// past its expiry is refused even within the leeway requests get, since
    /// the connection would be closed at once.
    pub async fn connect(
        &self,
        token: Option<String>,
        address: Option<IpAddr>,
    ) -> Result<LiveConnection, AuthFailure> {
        let Some(token) = token else {
            return Ok(LiveConnection {
                viewer: Viewer(None),
                caller: Caller {
                    token: None,
                    address,
                    router: false,
                },
                expires_at: None,
                registration: None,
            });
        };
        let scope = self.data.scope();
        let (principal, exp) = authenticate_until(&self.auth, &scope, &token).await?;
        let expires_at = u64::try_from(exp)
            .map(|exp| UNIX_EPOCH + Duration::from_secs(exp))
            .map_err(|_| AuthFailure::Invalid)?;
        if expires_at <= SystemTime::now() {
            return Err(AuthFailure::Expired);
        }
        let registration = self.live.register_connection(&principal.session_id);
        Ok(LiveConnection {
            viewer: Viewer(Some(principal)),
            caller: Caller {
                token: Some(token),
                address,
                router: false,
            },
            expires_at: Some(expires_at),
            registration: Some(registration),
        })
    }

    /// Runs a prepared subscription operation ([`Api::prepare`] with the
    /// connection's [`LiveConnection::caller`] and [`LiveConnection::viewer`]):
    /// its responses, coded as HTTP responses are. A document that fails to
    /// validate yields one response with errors and no `data` (a request
    /// error) and ends; a subscription refused when it starts yields one
    /// with `data: null` and the error at its path, and ends.
    ///
    /// Queries and mutations sent over a live connection go through
    /// [`Api::run`] instead.
    pub fn subscribe(&self, prepared: Prepared) -> BoxStream<'static, Response> {
        self.stream(prepared)
    }
}
