//! The JWT key pair: configured (production), or generated once and kept in the data
//! directory (dev mode).

use std::path::Path;

use anyhow::Context;
use platform::auth::KeyPair;
use platform::config::{Config, Mode};

const PRIVATE_FILE: &str = "jwt-ed25519.pem";
const PUBLIC_FILE: &str = "jwt-ed25519.pub.pem";

pub fn load(config: &Config) -> anyhow::Result<KeyPair> {
    if let (Some(private), Some(public)) = (&config.jwt_private_key, &config.jwt_public_key) {
        return Ok(KeyPair { private_pem: private.expose().to_owned(), public_pem: public.clone() });
    }
    // Config refuses production mode without keys; this is a second lock on the same door.
    anyhow::ensure!(config.mode == Mode::Dev, "JWT keys must be configured outside dev mode");
    let dir = config.data_dir.join("keys");
    load_or_generate(&dir)
}

fn load_or_generate(dir: &Path) -> anyhow::Result<KeyPair> {
    let (private, public) = (dir.join(PRIVATE_FILE), dir.join(PUBLIC_FILE));
    if private.exists() && public.exists() {
        return Ok(KeyPair {
            private_pem: std::fs::read_to_string(&private).with_context(|| format!("reading {}", private.display()))?,
            public_pem: std::fs::read_to_string(&public).with_context(|| format!("reading {}", public.display()))?,
        });
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let keys = KeyPair::generate()?;
    write_private(&private, &keys.private_pem)?;
    std::fs::write(&public, &keys.public_pem).with_context(|| format!("writing {}", public.display()))?;
    tracing::info!(dir = %dir.display(), "generated a dev JWT key pair");
    Ok(keys)
}

fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("writing {}", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}
