//! Authentication: argon2id password hashes (at a bounded memory cost), EdDSA-signed JWTs, the `AuthUser` extractor, and
//! the signed share links of MP3s (`links`).
//!
//! Only the auth function holds the private key ([`TokenSigner`]); every other function
//! verifies with the public key ([`TokenVerifier`]).

mod extract;
pub mod keys;
pub mod links;
mod password;
mod tokens;

pub use extract::AuthUser;
pub use password::Passwords;
pub use tokens::{Claims, KeyPair, TokenError, TokenSigner, TokenVerifier};
