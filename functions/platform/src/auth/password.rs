//! argon2id password hashing (PHC strings), at a fixed memory cost however many ask at once.
//!
//! Each hash needs ~19 MiB of argon2 memory. [`Passwords`] lets `concurrency` of them run at
//! once (the rest wait) and gives each a buffer from a pool of at most `concurrency`
//! buffers that are kept and reused, so N concurrent log-ins cost at most
//! `concurrency × 19 MiB`, allocated once. (Letting argon2 allocate per hash does not bound
//! memory even with a semaphore: glibc keeps a freed 19 MiB block resident in the arena of
//! the thread that used it, and the blocking pool has many threads.) The work runs on the
//! blocking pool and keeps its permit until it is done, even when the request that asked
//! for it has gone.

use std::sync::{Arc, Mutex};

use argon2::password_hash::{Ident, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use tokio::sync::{OnceCell, Semaphore};

/// The largest argon2 memory a stored hash may ask for (256 MiB); beyond that it never matches.
const MAX_BLOCKS: usize = 256 * 1024;

/// Hashes and verifies passwords, `concurrency` at a time.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
    /// What an unknown account's password is checked against, so it costs the same time.
    unknown: Arc<OnceCell<String>>,
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), pool: Arc::default(), unknown: Arc::default() }
    }

    /// Hashes `password` with argon2id (default parameters) and a random salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.run(move |blocks| hash_with(password.as_bytes(), blocks)).await?
    }

    /// Whether `password` matches the PHC string `hash`. A malformed hash never matches.
    pub async fn verify(&self, password: String, hash: String) -> bool {
        self.run(move |blocks| verify_with(password.as_bytes(), &hash, blocks)).await.unwrap_or(false)
    }

    /// Spends the time of one verification and answers false: for a log-in to an account
    /// that does not exist, so that timing does not tell.
    pub async fn verify_unknown(&self, password: String) -> bool {
        let Ok(hash) = self.unknown.get_or_try_init(|| self.hash("not a real password".to_owned())).await else { return false };
        self.verify(password, hash.clone()).await;
        false
    }

    /// Runs `work` on the blocking pool with a permit and a pooled buffer.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> anyhow::Result<T> {
        let permit = self.permits.clone().acquire_owned().await?;
        let pool = self.pool.clone();
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut blocks = pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop().unwrap_or_default();
            let out = work(&mut blocks);
            if blocks.len() > Params::DEFAULT_M_COST as usize {
                // A stored hash with a larger cost: do not keep that much for good.
                blocks.truncate(Params::DEFAULT_M_COST as usize);
                blocks.shrink_to_fit();
            }
            pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(blocks);
            out
        });
        Ok(done.await?)
    }
}

fn hash_with(password: &[u8], blocks: &mut Vec<Block>) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = compute(Algorithm::Argon2id, Version::V0x13, Params::default(), password, salt.as_salt(), blocks)
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
    Ok(hash.to_string())
}

fn verify_with(password: &[u8], hash: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    // `Output`'s equality is constant-time.
    compute(algorithm, version, params, password, salt, blocks).ok().and_then(|computed| computed.hash).is_some_and(|out| out == expected)
}

/// argon2's `PasswordHasher::hash_password`, with memory from `blocks` (grown if needed)
/// instead of a fresh allocation.
fn compute<'a>(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: Salt<'a>,
    blocks: &mut Vec<Block>,
) -> argon2::password_hash::Result<PasswordHash<'a>> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let needed = params.block_count();
    if needed > MAX_BLOCKS {
        return Err(argon2::password_hash::Error::ParamValueInvalid(argon2::password_hash::errors::InvalidValue::TooLong));
    }
    if blocks.len() < needed {
        blocks.resize(needed, Block::new());
    }
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let output =
        Output::init_with(output_len, |out| Ok(argon2.hash_password_into_with_memory(password, salt_bytes, out, &mut blocks[..])?))?;
    let ident: Ident<'static> = algorithm.ident();
    Ok(PasswordHash {
        algorithm: ident,
        version: Some(version.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output),
    })
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn hashes_verify_here_and_with_argon2_itself() {
        let passwords = Passwords::new(2);
        let ours = passwords.hash("correct horse".into()).await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        assert!(Argon2::default().verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap()).is_ok());
        assert!(passwords.verify("correct horse".into(), ours.clone()).await);
        assert!(!passwords.verify("wrong horse".into(), ours).await);

        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"battery staple", &salt).unwrap().to_string();
        assert!(passwords.verify("battery staple".into(), theirs.clone()).await);
        assert!(!passwords.verify("battery stapler".into(), theirs).await);
    }

    #[tokio::test]
    async fn other_parameters_and_malformed_hashes() {
        let passwords = Passwords::new(1);
        let params = Params::new(4096, 3, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x10, params).hash_password(b"pw", &salt).unwrap().to_string();
        assert!(passwords.verify("pw".into(), argon2i).await);
        for bad in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
            "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQxMjM$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(!passwords.verify("pw".into(), bad.into()).await, "{bad}");
        }
        assert!(!passwords.verify_unknown("pw".into()).await);
    }

    #[tokio::test]
    async fn at_most_concurrency_buffers_are_ever_made() {
        let passwords = Passwords::new(2);
        let hashes = futures_util::future::join_all((0..8).map(|i| passwords.hash(format!("password {i}")))).await;
        assert!(hashes.iter().all(Result::is_ok));
        let pool = passwords.pool.lock().unwrap();
        assert!(!pool.is_empty() && pool.len() <= 2, "{} buffers", pool.len());
        assert!(pool.iter().all(|b| b.len() == Params::DEFAULT_M_COST as usize));
    }
}
