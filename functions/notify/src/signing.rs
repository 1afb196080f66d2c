//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a secret is `whsec_`
//! and the base64 of a random key; a delivery carries `webhook-id`, `webhook-timestamp`
//! (unix seconds) and `webhook-signature: v1,<base64 of HMAC-SHA256(key, "id.timestamp.body")>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const PREFIX: &str = "whsec_";
const KEY_BYTES: usize = 32;

/// A new secret.
pub fn new_secret() -> String {
    let mut key = [0u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` value of `body` sent as message `id` at `timestamp`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> anyhow::Result<String> {
    let encoded = secret.strip_prefix(PREFIX).ok_or_else(|| anyhow::anyhow!("a webhook secret starts with {PREFIX}"))?;
    let key = STANDARD.decode(encoded)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_like_the_reference_implementations() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_prefixed_random_keys() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(STANDARD.decode(a.strip_prefix(PREFIX).unwrap()).unwrap().len(), KEY_BYTES);
        assert!(sign("no-prefix", "id", 1, "").is_err());
    }
}
