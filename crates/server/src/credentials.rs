//! Root credentials. Taken from the configuration when set; otherwise a
//! pair is generated at first start and kept in `<data-dir>/credentials.json`
//! (mode 0600). There is no accept-anything mode.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use argus_wire::sigv4::SecretLookup;
use rand::RngExt;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).field("secret_access_key", &"…").finish()
    }
}

impl Credentials {
    /// A new random pair in AWS's shapes: `AKIA` + 16 characters, and a
    /// 40-character secret.
    pub fn generate() -> Credentials {
        const KEY_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = rand::rng();
        let mut pick = |alphabet: &[u8], n: usize| -> String {
            (0..n).filter_map(|_| alphabet.get(rng.random_range(0..alphabet.len())).copied().map(char::from)).collect()
        };
        Credentials { access_key_id: format!("AKIA{}", pick(KEY_CHARS, 16)), secret_access_key: pick(SECRET_CHARS, 40) }
    }

    /// The shell lines that make the aws CLI and SDKs use this pair.
    pub fn export_block(&self) -> String {
        format!(
            "export AWS_ACCESS_KEY_ID={}\nexport AWS_SECRET_ACCESS_KEY={}\nexport AWS_DEFAULT_REGION=us-east-1\n",
            self.access_key_id, self.secret_access_key
        )
    }
}

pub fn credentials_path(data_dir: &Path) -> PathBuf {
    data_dir.join("credentials.json")
}

/// Loads the pair kept in the data dir, creating it on first start. The
/// flag is true when the pair was just created.
pub fn load_or_create_credentials(data_dir: &Path) -> std::io::Result<(Credentials, bool)> {
    let path = credentials_path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let credentials: Credentials = serde_json::from_slice(&bytes).map_err(|error| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} is not valid: {error}", path.display()))
            })?;
            Ok((credentials, false))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let credentials = Credentials::generate();
            let json = serde_json::to_vec_pretty(&credentials).map_err(std::io::Error::other)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&path)?;
            file.write_all(&json)?;
            file.sync_all()?;
            Ok((credentials, true))
        }
        Err(error) => Err(error),
    }
}

/// The secrets SigV4 verification may use.
#[derive(Debug, Default)]
pub struct Secrets {
    by_access_key: HashMap<String, String>,
}

impl Secrets {
    pub fn new(credentials: &[Credentials]) -> Secrets {
        Secrets {
            by_access_key: credentials
                .iter()
                .map(|pair| (pair.access_key_id.clone(), pair.secret_access_key.clone()))
                .collect(),
        }
    }
}

impl SecretLookup for Secrets {
    fn secret_access_key(&self, access_key_id: &str) -> Option<String> {
        self.by_access_key.get(access_key_id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pair_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, created) = load_or_create_credentials(dir.path()).expect("create");
        assert!(created);
        assert!(first.access_key_id.starts_with("AKIA") && first.access_key_id.len() == 20);
        assert_eq!(first.secret_access_key.len(), 40);
        let (second, created) = load_or_create_credentials(dir.path()).expect("load");
        assert!(!created);
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(credentials_path(dir.path())).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(first.export_block().contains(&format!("export AWS_SECRET_ACCESS_KEY={}", first.secret_access_key)));
        assert!(!format!("{first:?}").contains(&first.secret_access_key), "Debug must not leak the secret");
    }
}
