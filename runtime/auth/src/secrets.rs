//! The auth secrets: a versioned list, so a secret can be rotated without logging anyone out or
//! locking 2FA users out. The newest secret (highest version) signs cookies and verification
//! links and encrypts 2FA data; every listed secret still verifies and decrypts. Encrypted values
//! carry the version that sealed them (`$ba$<version>$<hex>`, BetterAuth's envelope); values from
//! before versioning (bare hex) open with the unversioned secret of `AUTH_SECRET_FILE`, or any
//! listed one.
//!
//! Rotating: add `<version>:<new secret>` with a higher version to `AUTH_SECRETS_FILE` and
//! restart. Keep a retired secret listed until nothing it signed or sealed is still needed:
//! session cookies are re-signed when a session refreshes (daily) and die with it (7 days at
//! most), verification links live an hour, trust-device cookies 30 days, and 2FA data is re-sealed
//! with the newest secret the next time it is used.

use crate::config::Secret;

struct Key {
    /// `None`: the unversioned secret (`AUTH_SECRET_FILE`).
    version: Option<u32>,
    secret: Secret,
}

pub struct Secrets {
    /// The signing key first, then the others newest first.
    keys: Vec<Key>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let versions: Vec<Option<u32>> = self.keys.iter().map(|k| k.version).collect();
        write!(f, "Secrets(versions {versions:?}, values redacted)")
    }
}

impl Clone for Secrets {
    fn clone(&self) -> Self {
        Secrets {
            keys: self
                .keys
                .iter()
                .map(|k| Key {
                    version: k.version,
                    secret: k.secret.clone(),
                })
                .collect(),
        }
    }
}

/// A value opened by `Secrets::decrypt`.
pub struct Opened {
    pub plaintext: String,
    /// Sealed with another key than the signing one: worth re-sealing.
    pub stale: bool,
}

impl Secrets {
    /// Just one unversioned secret.
    pub fn single(secret: Secret) -> Self {
        Secrets {
            keys: vec![Key {
                version: None,
                secret,
            }],
        }
    }

    /// The versioned secrets (the highest version signs) plus an optional unversioned one.
    pub fn new(unversioned: Option<Secret>, versioned: Vec<(u32, Secret)>) -> anyhow::Result<Self> {
        let mut keys: Vec<Key> = versioned
            .into_iter()
            .map(|(version, secret)| Key {
                version: Some(version),
                secret,
            })
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.version));
        if let Some(w) = keys.windows(2).find(|w| w[0].version == w[1].version) {
            anyhow::bail!("secret version {:?} is listed twice", w[0].version);
        }
        keys.extend(unversioned.map(|secret| Key {
            version: None,
            secret,
        }));
        anyhow::ensure!(!keys.is_empty(), "no auth secret configured");
        Ok(Secrets { keys })
    }

    /// The secret that signs and encrypts.
    pub fn current(&self) -> &[u8] {
        self.keys[0].secret.expose()
    }

    /// Every secret, the signing one first.
    pub fn all(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().map(|k| k.secret.expose())
    }

    /// Verifies a signed cookie value with any secret.
    pub fn verify_cookie(&self, wire: &str) -> Option<String> {
        self.all().find_map(|s| crate::cookie::verify(s, wire))
    }

    /// Encrypts with the signing secret, in the envelope naming its version.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let sealed = crate::crypto::encrypt(self.current(), plaintext);
        match self.keys[0].version {
            Some(v) => format!("$ba${v}${sealed}"),
            None => sealed,
        }
    }

    /// Decrypts a value sealed by any listed secret.
    pub fn decrypt(&self, stored: &str) -> Option<Opened> {
        let open = |k: &Key, hex: &str| {
            crate::crypto::decrypt(k.secret.expose(), hex).map(|plaintext| Opened {
                plaintext,
                stale: !std::ptr::eq(k, &self.keys[0]),
            })
        };
        if let Some(rest) = stored.strip_prefix("$ba$") {
            let (version, hex) = rest.split_once('$')?;
            let version: u32 = version.parse().ok()?;
            let key = self.keys.iter().find(|k| k.version == Some(version))?;
            return open(key, hex);
        }
        // Bare hex, from before versioning: the unversioned secret first, then any other.
        let mut keys: Vec<&Key> = self.keys.iter().collect();
        keys.sort_by_key(|k| k.version.is_some());
        keys.into_iter().find_map(|k| open(k, stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Secret {
        Secret::new(v)
    }

    #[test]
    fn newest_signs_all_verify_and_decrypt() {
        let old = Secrets::single(s("old-secret-old-secret-old-secret-xx"));
        let cookie = crate::cookie::sign_for_cookie(old.current(), "tok");
        let sealed = old.encrypt("2fa key");
        let rotated = Secrets::new(
            Some(s("old-secret-old-secret-old-secret-xx")),
            vec![
                (1, s("one-secret-one-secret-one-secret-xx")),
                (2, s("two-secret-two-secret-two-secret-xx")),
            ],
        )
        .unwrap();
        assert_eq!(rotated.current(), b"two-secret-two-secret-two-secret-xx");
        assert_eq!(rotated.verify_cookie(&cookie).as_deref(), Some("tok"));
        let opened = rotated.decrypt(&sealed).unwrap();
        assert_eq!((opened.plaintext.as_str(), opened.stale), ("2fa key", true));
        let resealed = rotated.encrypt("2fa key");
        assert!(resealed.starts_with("$ba$2$"), "{resealed}");
        let opened = rotated.decrypt(&resealed).unwrap();
        assert!(!opened.stale);
        let retired =
            Secrets::new(None, vec![(2, s("two-secret-two-secret-two-secret-xx"))]).unwrap();
        assert_eq!(retired.decrypt(&resealed).unwrap().plaintext, "2fa key");
        assert!(retired.decrypt(&sealed).is_none());
        assert!(Secrets::new(None, vec![(1, s("a")), (1, s("b"))]).is_err());
    }
}
