#![doc = include_str!("../README.md")]

pub mod password;
pub mod session;
pub mod text;
pub mod token;

pub use session::{Rotation, RotationError, SessionToken, Sessions};
pub use token::{AccessClaims, KeyError, Role, TokenError, TokenKeys};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `bytes` of operating-system randomness, base64url-encoded.
///
/// # Panics
/// When the operating system has no randomness to give, which leaves no
/// safe way to mint secrets.
pub fn random_string(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}
