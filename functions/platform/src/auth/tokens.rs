//! JWTs signed with Ed25519 (`alg: EdDSA`), the algorithm pinned on verification.

use std::time::Duration;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub email: String,
    pub iss: String,
    pub iat: u64,
    pub exp: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
}

/// A PEM-encoded Ed25519 key pair: PKCS#8 private key and SPKI public key.
#[derive(Clone)]
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl KeyPair {
    pub fn generate() -> anyhow::Result<Self> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let key = SigningKey::from_bytes(&seed);
        Ok(Self {
            private_pem: key.to_pkcs8_pem(LineEnding::LF)?.to_string(),
            public_pem: key.verifying_key().to_public_key_pem(LineEnding::LF)?,
        })
    }

    /// The pair of a PKCS#8 PEM private key (the public key is derived from it).
    pub fn from_private_pem(private_pem: &str) -> anyhow::Result<Self> {
        let key = SigningKey::from_pkcs8_pem(private_pem)?;
        Ok(Self { private_pem: private_pem.to_owned(), public_pem: key.verifying_key().to_public_key_pem(LineEnding::LF)? })
    }
}

/// Issues tokens. Only the auth function has one.
pub struct TokenSigner {
    key: EncodingKey,
    issuer: String,
    ttl: Duration,
}

impl TokenSigner {
    pub fn new(private_pem: &str, issuer: &str, ttl: Duration) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(private_pem.as_bytes())
            .map_err(|e| anyhow::anyhow!("JWT private key is not an Ed25519 PKCS#8 PEM key: {e}"))?;
        Ok(Self { key, issuer: issuer.to_owned(), ttl })
    }

    /// A signed token for the user and its lifetime in seconds.
    pub fn issue(&self, user_id: &str, email: &str) -> anyhow::Result<(String, u64)> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims =
            Claims { sub: user_id.to_owned(), email: email.to_owned(), iss: self.issuer.clone(), iat: now, exp: now + self.ttl.as_secs() };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)?;
        Ok((token, self.ttl.as_secs()))
    }
}

/// Verifies tokens: signature, `alg` (EdDSA only), issuer and expiry.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(public_pem: &str, issuer: &str) -> anyhow::Result<Self> {
        let key = DecodingKey::from_ed_pem(public_pem.as_bytes())
            .map_err(|e| anyhow::anyhow!("JWT public key is not an Ed25519 SPKI PEM key: {e}"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(Self { key, validation })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        match jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => Err(TokenError::Expired),
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (TokenSigner, TokenVerifier) {
        let keys = KeyPair::generate().unwrap();
        (
            TokenSigner::new(&keys.private_pem, "mp3convert", Duration::from_secs(60)).unwrap(),
            TokenVerifier::new(&keys.public_pem, "mp3convert").unwrap(),
        )
    }

    #[test]
    fn a_token_round_trips() {
        let (signer, verifier) = pair();
        let (token, ttl) = signer.issue("u1", "a@example.com").unwrap();
        assert_eq!(ttl, 60);
        let claims = verifier.verify(&token).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.email, "a@example.com");
    }

    #[test]
    fn a_token_signed_by_another_key_is_rejected() {
        let (signer, _) = pair();
        let (_, verifier) = pair();
        let (token, _) = signer.issue("u1", "a@example.com").unwrap();
        assert!(matches!(verifier.verify(&token), Err(TokenError::Invalid)));
    }

    #[test]
    fn a_wrong_issuer_is_rejected() {
        let keys = KeyPair::generate().unwrap();
        let signer = TokenSigner::new(&keys.private_pem, "someone-else", Duration::from_secs(60)).unwrap();
        let verifier = TokenVerifier::new(&keys.public_pem, "mp3convert").unwrap();
        let (token, _) = signer.issue("u1", "a@example.com").unwrap();
        assert!(matches!(verifier.verify(&token), Err(TokenError::Invalid)));
    }
}
