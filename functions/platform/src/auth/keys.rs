//! The JWT key pair: configured (production), or generated once and kept in the data
//! directory (dev mode).
//!
//! Several dev processes may share one data directory (the functions started by
//! `local-dev/functions.sh`) and start at the same moment: the private key is published with
//! a hard link, which fails if another process got there first, and the public key is
//! always derived from the private one, so they all end up with the same pair.

use std::path::Path;

use anyhow::Context;

use super::KeyPair;
use crate::config::{Config, Mode};

const PRIVATE_FILE: &str = "jwt-ed25519.pem";
const PUBLIC_FILE: &str = "jwt-ed25519.pub.pem";

/// The configured pair, or in dev mode the data directory's (generated if missing).
pub fn load(config: &Config) -> anyhow::Result<KeyPair> {
    if let (Some(private), Some(public)) = (&config.jwt_private_key, &config.jwt_public_key) {
        return Ok(KeyPair { private_pem: private.expose().to_owned(), public_pem: public.clone() });
    }
    anyhow::ensure!(
        config.mode == Mode::Dev,
        "production mode needs MP3CONVERT_JWT_PRIVATE_KEY(_FILE) to issue tokens (generated keys are only for MP3CONVERT_MODE=dev)"
    );
    load_or_generate(&config.data_dir.join("keys"))
}

/// Only the public key: what a function that verifies tokens (and never signs) needs.
pub fn load_public(config: &Config) -> anyhow::Result<String> {
    match &config.jwt_public_key {
        Some(public) => Ok(public.clone()),
        None => load(config).map(|keys| keys.public_pem),
    }
}

/// The secret in `dir/file`, made by `make` and published there first if missing (mode
/// 0600). Processes starting at once agree on one: it is published with a hard link, which
/// fails for all but the first.
pub(crate) fn generated_once(dir: &Path, file: &str, what: &str, make: impl FnOnce() -> anyhow::Result<String>) -> anyhow::Result<String> {
    let path = dir.join(file);
    if !path.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let temp = dir.join(format!(".{file}.{}", crate::new_id()));
        write_private(&temp, &make()?)?;
        let published = std::fs::hard_link(&temp, &path);
        let _ = std::fs::remove_file(&temp);
        match published {
            Ok(()) => tracing::info!(dir = %dir.display(), "generated {what}"),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("writing {}", path.display())),
        }
    }
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

fn load_or_generate(dir: &Path) -> anyhow::Result<KeyPair> {
    let private = dir.join(PRIVATE_FILE);
    let private_pem = generated_once(dir, PRIVATE_FILE, "a dev JWT key pair", || Ok(KeyPair::generate()?.private_pem))?;
    let keys = KeyPair::from_private_pem(&private_pem).with_context(|| format!("{} is not an Ed25519 PKCS#8 key", private.display()))?;
    // For tools that want the public key as a file (e.g. to configure another service).
    let public = dir.join(PUBLIC_FILE);
    if std::fs::read_to_string(&public).ok().as_deref() != Some(keys.public_pem.as_str()) {
        let temp = dir.join(format!(".{PUBLIC_FILE}.{}", crate::new_id()));
        std::fs::write(&temp, &keys.public_pem)
            .and_then(|()| std::fs::rename(&temp, &public))
            .with_context(|| format!("writing {}", public.display()))?;
    }
    Ok(keys)
}

fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("writing {}", path.display()))?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_first_starts_agree_on_one_pair() {
        let dir = tempfile::tempdir().unwrap();
        let pairs: Vec<KeyPair> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8).map(|_| scope.spawn(|| load_or_generate(dir.path()).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(pairs.iter().all(|p| p.private_pem == pairs[0].private_pem && p.public_pem == pairs[0].public_pem));
        let on_disk = std::fs::read_to_string(dir.path().join(PUBLIC_FILE)).unwrap();
        assert_eq!(on_disk, pairs[0].public_pem);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "only the two key files remain");
    }
}
