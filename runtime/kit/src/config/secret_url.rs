use std::fmt;
use std::path::Path;

use url::Url;

use super::ConfigError;

/// A connection URL that may carry a password. `Display`/`Debug` redact the password so the URL
/// can be logged; [`SecretUrl::expose`] gives the real string to the driver.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(Url);

impl SecretUrl {
    /// Parses `url_var`'s value and, when the URL has no password, merges the contents of the file
    /// named by `password_file_var` into it. The file is optional only when the URL already has a
    /// password (the contract keeps passwords out of URLs, so normally the file is required).
    pub(crate) fn from_url_and_password_file(
        url_var: &'static str,
        url: &str,
        password_file_var: &'static str,
        password_file: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut parsed = Url::parse(url).map_err(|e| ConfigError::Invalid {
            var: url_var,
            reason: format!("not a URL ({e})"),
        })?;
        match password_file {
            Some(path) => {
                let password = read_secret_file(password_file_var, Path::new(path))?;
                parsed.set_password(Some(&password)).map_err(|()| ConfigError::Invalid {
                    var: url_var,
                    reason: format!("{password_file_var} is set but this URL has no host to attach a password to"),
                })?;
            }
            None if parsed.password().is_some() => {}
            None => {
                return Err(ConfigError::Missing {
                    var: password_file_var,
                })
            }
        }
        Ok(SecretUrl(parsed))
    }

    /// Wraps a URL as given (tests, or callers that manage secrets themselves).
    pub fn new(url: &str) -> Result<Self, url::ParseError> {
        Url::parse(url).map(SecretUrl)
    }

    /// The full URL including the password. Hand it to the driver; never log it.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    fn redacted(&self) -> String {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        shown.to_string()
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

/// Reads a secret file, dropping the trailing newline editors and `echo` add.
pub(crate) fn read_secret_file(var: &'static str, path: &Path) -> Result<String, ConfigError> {
    let raw = std::fs::read_to_string(path).map_err(|source| ConfigError::UnreadableFile {
        var,
        path: path.to_owned(),
        source,
    })?;
    let value = raw.trim_end_matches(['\n', '\r']).to_owned();
    if value.is_empty() {
        return Err(ConfigError::EmptyFile {
            var,
            path: path.to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_password_file_into_url_and_redacts_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cr/t@x\n").unwrap();
        let url = SecretUrl::from_url_and_password_file(
            "DATABASE_URL",
            "postgres://core@127.0.0.1:54321/core",
            "DATABASE_PASSWORD_FILE",
            Some(file.to_str().unwrap()),
        )
        .unwrap();
        assert_eq!(
            url.expose(),
            "postgres://core:s3cr%2Ft%40x@127.0.0.1:54321/core"
        );
        assert_eq!(url.to_string(), "postgres://core:***@127.0.0.1:54321/core");
        assert!(!format!("{url:?}").contains("s3cr"));
    }

    #[test]
    fn redis_url_without_user_gets_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "abc").unwrap();
        let url = SecretUrl::from_url_and_password_file(
            "REDIS_URL",
            "redis://127.0.0.1:63791",
            "REDIS_PASSWORD_FILE",
            Some(file.to_str().unwrap()),
        )
        .unwrap();
        assert_eq!(url.expose(), "redis://:abc@127.0.0.1:63791");
    }

    #[test]
    fn password_file_is_required_unless_url_has_a_password() {
        let err = SecretUrl::from_url_and_password_file(
            "DATABASE_URL",
            "postgres://core@127.0.0.1/core",
            "DATABASE_PASSWORD_FILE",
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("DATABASE_PASSWORD_FILE"), "{err}");
        SecretUrl::from_url_and_password_file(
            "DATABASE_URL",
            "postgres://core:pw@127.0.0.1/core",
            "DATABASE_PASSWORD_FILE",
            None,
        )
        .unwrap();
    }
}
