//! A Secret's value used as an HMAC-SHA256 key: the events' (`event_bus::signature`) and the
//! share links' (`auth::links`). Never shown in `Debug` output or logs.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest key accepted, in bytes: half the HMAC-SHA256 block.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Clone)]
pub struct HmacKey(Arc<[u8]>);

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(***)")
    }
}

impl HmacKey {
    /// A key from the Secret's value (trimmed); `Err` says why it cannot be one, naming the
    /// key as `what` ("an event key").
    pub fn new(secret: &str, what: &str) -> Result<Self, String> {
        let secret = secret.trim();
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!("{what} needs at least {MIN_KEY_BYTES} characters (e.g. `openssl rand -base64 32`)"));
        }
        Ok(Self(secret.as_bytes().into()))
    }

    /// A fresh MAC under this key.
    pub fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts every key length")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused_and_keys_never_show() {
        assert!(HmacKey::new("  short  ", "a key").unwrap_err().starts_with("a key needs at least 32"));
        let key = HmacKey::new("0123456789abcdef0123456789abcdef", "a key").unwrap();
        assert_eq!(format!("{key:?}"), "HmacKey(***)");
    }
}
