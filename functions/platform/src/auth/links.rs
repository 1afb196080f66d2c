//! Share links: an MP3's URL that works without a token until it expires. The link carries
//! its expiry and an HMAC-SHA256 of the MP3's id and that expiry, keyed by
//! `MP3CONVERT_LINK_KEY` (a Secret only the download function holds), so a download checks it
//! with no database lookup, and changing either part breaks the signature.
//!
//! Without a configured key, dev mode generates one into the data directory (shared by the
//! dev processes that use it, like the JWT pair: see `keys`); production refuses to start.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::{Config, Mode};
use crate::hmac_key::{HmacKey, MIN_KEY_BYTES};

const KEY_FILE: &str = "link.key";

/// Why a link is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Missing, malformed, or signed for another MP3, expiry or key.
    Invalid,
    /// Signed, but its time is up.
    Expired,
}

/// The key share links are signed and checked with.
#[derive(Clone, Debug)]
pub struct LinkKey(HmacKey);

impl LinkKey {
    /// A key from the Secret's value; `Err` says why it cannot be one.
    pub fn new(secret: &str) -> Result<Self, String> {
        HmacKey::new(secret, "a link key").map(Self)
    }

    fn mac(&self, mp3_id: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = self.0.mac();
        mac.update(format!("mp3convert-link-v1\n{mp3_id}\n{expires}").as_bytes());
        mac
    }

    /// The signature of a link to `mp3_id` that expires at `expires` (Unix seconds).
    pub fn sign(&self, mp3_id: &str, expires: i64) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(mp3_id, expires).finalize().into_bytes())
    }

    /// Checks a link's signature (in constant time), then its expiry against `now`.
    pub fn verify(&self, mp3_id: &str, expires: i64, signature: &str, now: i64) -> Result<(), LinkError> {
        let signature = URL_SAFE_NO_PAD.decode(signature.trim()).map_err(|_| LinkError::Invalid)?;
        self.mac(mp3_id, expires).verify_slice(&signature).map_err(|_| LinkError::Invalid)?;
        if now >= expires { Err(LinkError::Expired) } else { Ok(()) }
    }
}

/// The configured key (`MP3CONVERT_LINK_KEY`(`_FILE`)), or in dev mode the data directory's
/// (generated if missing); production refuses without one.
pub fn load(config: &Config) -> anyhow::Result<LinkKey> {
    let secret = match &config.link_key {
        Some(secret) => secret.expose().to_owned(),
        None => {
            anyhow::ensure!(
                config.mode == Mode::Dev,
                "production mode needs MP3CONVERT_LINK_KEY(_FILE) to sign share links (a Secret of at least {MIN_KEY_BYTES} \
                 characters, held by the download function alone); a generated key is only for MP3CONVERT_MODE=dev"
            );
            super::keys::generated_once(&config.data_dir.join("keys"), KEY_FILE, "a dev share-link key", || {
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                Ok(URL_SAFE_NO_PAD.encode(bytes))
            })?
        }
    };
    LinkKey::new(&secret).map_err(|e| anyhow::anyhow!("MP3CONVERT_LINK_KEY: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LinkKey {
        LinkKey::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn a_signed_link_holds_until_it_expires() {
        let signature = key().sign("mp3-1", 1_000);
        assert_eq!(key().verify("mp3-1", 1_000, &signature, 999), Ok(()));
        assert_eq!(key().verify("mp3-1", 1_000, &signature, 1_000), Err(LinkError::Expired));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let signature = key().sign("mp3-1", 1_000);
        assert_eq!(key().verify("mp3-2", 1_000, &signature, 0), Err(LinkError::Invalid));
        assert_eq!(key().verify("mp3-1", 1_001, &signature, 0), Err(LinkError::Invalid));
        assert_eq!(key().verify("mp3-1", 1_000, "not base64!", 0), Err(LinkError::Invalid));
        let other = LinkKey::new("another key of at least thirty-two characters").unwrap();
        assert_eq!(other.verify("mp3-1", 1_000, &signature, 0), Err(LinkError::Invalid));
    }

    fn config(vars: &[(&str, &str)]) -> Config {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap()
    }

    #[test]
    fn production_refuses_to_start_without_a_key() {
        let production = config(&[("MP3CONVERT_MODE", "production"), ("MP3CONVERT_JWT_PUBLIC_KEY", "a public key")]);
        let error = load(&production).unwrap_err().to_string();
        assert!(error.contains("MP3CONVERT_LINK_KEY"), "{error}");
    }

    #[test]
    fn dev_mode_generates_one_key_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let dev = config(&[("MP3CONVERT_DATA_DIR", dir.path().to_str().unwrap())]);
        let signature = load(&dev).unwrap().sign("mp3-1", 1_000);
        assert_eq!(load(&dev).unwrap().verify("mp3-1", 1_000, &signature, 0), Ok(()), "the second start has the same key");
        let configured =
            config(&[("MP3CONVERT_DATA_DIR", dir.path().to_str().unwrap()), ("MP3CONVERT_LINK_KEY", "0123456789abcdef0123456789abcdef")]);
        assert_eq!(load(&configured).unwrap().verify("mp3-1", 1_000, &signature, 0), Err(LinkError::Invalid), "a configured key wins");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(LinkKey::new("short").is_err());
    }
}
