//! Authentication: argon2id password hashes (at a bounded memory cost), EdDSA-signed JWTs, and the `AuthUser` extractor.
//!
//! Only the auth function holds the private key ([`TokenSigner`]); every other function
//! verifies with the public key ([`TokenVerifier`]).

mod extract;
pub mod keys;
mod password;
mod tokens;

pub use extract::AuthUser;
pub use password::Passwords;
pub use tokens::{Claims, KeyPair, TokenError, TokenSigner, TokenVerifier};
