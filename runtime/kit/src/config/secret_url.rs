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
        let mut url = SecretUrl::new(url).map_err(|reason| ConfigError::Invalid {
            var: url_var,
            reason,
        })?;
        match password_file {
            Some(path) => {
                let password = read_secret_file(password_file_var, Path::new(path))?;
                url.set_password(&password).map_err(|()| ConfigError::Invalid {
                    var: url_var,
                    reason: format!("{password_file_var} is set but this URL has no host to attach a password to"),
                })?;
            }
            None if url.has_password() => {}
            None => {
                return Err(ConfigError::Missing {
                    var: password_file_var,
                })
            }
        }
        Ok(url)
    }

    /// The URL's scheme (`postgres`, `redis`, `redis+unix`…).
    pub(crate) fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// Whether the URL carries a password already.
    pub(crate) fn has_password(&self) -> bool {
        if self.is_redis_socket() {
            self.0.query_pairs().any(|(key, _)| key == SOCKET_PASSWORD)
        } else {
            self.0.password().is_some()
        }
    }

    /// Puts `password` where the URL's driver reads it; `Err` when the URL has no place for one.
    pub(crate) fn set_password(&mut self, password: &str) -> Result<(), ()> {
        if self.is_redis_socket() {
            self.replace_socket_password(password);
            Ok(())
        } else {
            self.0.set_password(Some(password))
        }
    }

    /// A Redis reached through its Unix socket: the URL has no host to carry user information,
    /// so redis-rs reads the password from the `pass` query parameter.
    fn is_redis_socket(&self) -> bool {
        is_redis_socket_scheme(self.0.scheme())
    }

    fn replace_socket_password(&mut self, password: &str) {
        let others: Vec<(String, String)> = self
            .0
            .query_pairs()
            .filter(|(key, _)| key != SOCKET_PASSWORD)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        self.0
            .query_pairs_mut()
            .clear()
            .extend_pairs(others)
            .append_pair(SOCKET_PASSWORD, password);
    }

    /// Wraps a URL (tests, or callers that manage secrets themselves); `Err` says why it cannot
    /// be one. A Redis Unix socket URL may name its socket relative to the working directory,
    /// `redis+unix:PATH`, as the dev stack's processes, started in the project root, are given
    /// theirs: the path is made absolute here, since redis-rs reads only absolute ones.
    pub fn new(url: &str) -> Result<Self, String> {
        let parsed = Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
        if !(is_redis_socket_scheme(parsed.scheme()) && parsed.cannot_be_a_base()) {
            return Ok(SecretUrl(parsed));
        }
        let cwd = std::env::current_dir().map_err(|e| {
            format!(
                "its socket path `{}` is relative, and the working directory is unknown ({e})",
                parsed.path()
            )
        })?;
        socket_in(&parsed, &cwd).map(SecretUrl)
    }

    /// The full URL including the password. Hand it to the driver; never log it.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    fn redacted(&self) -> String {
        let mut shown = self.clone();
        if shown.has_password() {
            let _ = shown.set_password("***");
        }
        shown.hide_query_passwords();
        shown.0.to_string()
    }

    /// tokio-postgres also reads a password from a `password` query parameter (its name
    /// percent-decoded, as here), whatever the scheme.
    fn hide_query_passwords(&mut self) {
        if !self.0.query_pairs().any(|(key, _)| key == QUERY_PASSWORD) {
            return;
        }
        let shown: Vec<(String, String)> = self
            .0
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == QUERY_PASSWORD {
                    "***".to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        self.0.query_pairs_mut().clear().extend_pairs(shown);
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

/// `url`, a Redis Unix socket URL with a relative path, with that path made absolute against
/// `dir`.
fn socket_in(url: &Url, dir: &Path) -> Result<Url, String> {
    let unresolved = || {
        format!(
            "its socket path `{}` is relative and cannot be read against {}",
            url.path(),
            dir.display()
        )
    };
    // `./` first: a path whose first part holds a `:` would otherwise read as a URL of its own.
    let socket = Url::from_directory_path(dir)
        .and_then(|dir| dir.join(&format!("./{}", url.path())).map_err(drop))
        .map_err(|()| unresolved())?;
    let mut absolute =
        Url::parse(&format!("{}://{}", url.scheme(), socket.path())).map_err(|_| unresolved())?;
    absolute.set_query(url.query());
    Ok(absolute)
}

/// The schemes of a Redis reached through its Unix socket, as redis-rs reads them.
fn is_redis_socket_scheme(scheme: &str) -> bool {
    matches!(scheme, "redis+unix" | "unix")
}

/// The query parameter a Redis Unix socket URL carries its password in.
const SOCKET_PASSWORD: &str = "pass";

/// The query parameter a PostgreSQL URL may carry its password in.
const QUERY_PASSWORD: &str = "password";

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

    /// The dev stack names each Redis socket relative to the project root, where its processes
    /// run; redis-rs reads the path back from the absolute URL, whatever the folder's name holds.
    #[test]
    fn a_relative_redis_socket_path_is_read_against_the_folder() {
        let dir = Path::new("/home/ada/my stack #2?/100%");
        let relative = Url::parse("redis+unix:.stackr/data/core/redis/redis.sock?db=1").unwrap();
        let absolute = socket_in(&relative, dir).unwrap();
        assert_eq!(absolute.scheme(), "redis+unix");
        assert_eq!(absolute.query(), Some("db=1"));
        let client = redis::Client::open(absolute.as_str()).unwrap();
        match client.get_connection_info().addr() {
            redis::ConnectionAddr::Unix(path) => assert_eq!(
                path,
                &dir.join(".stackr/data/core/redis/redis.sock"),
                "{absolute}"
            ),
            other => panic!("not a Unix socket: {other:?}"),
        }
        let colon = Url::parse("redis+unix:a:b/redis.sock").unwrap();
        assert_eq!(
            socket_in(&colon, dir).unwrap().path(),
            "/home/ada/my%20stack%20%232%3F/100%25/a:b/redis.sock"
        );
        // An absolute socket URL, or any other, is left as it is.
        let given = "redis+unix:///run/redis-core/redis.sock";
        assert_eq!(SecretUrl::new(given).unwrap().expose(), given);
    }

    #[test]
    fn a_relative_redis_socket_path_gets_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "p&ss word").unwrap();
        let url = SecretUrl::from_url_and_password_file(
            "REDIS_URL",
            "redis+unix:.stackr/redis.sock",
            "REDIS_PASSWORD_FILE",
            Some(file.to_str().unwrap()),
        )
        .unwrap();
        let cwd = std::env::current_dir().unwrap();
        let client = redis::Client::open(url.expose()).unwrap();
        let info = client.get_connection_info();
        assert_eq!(
            info.addr(),
            &redis::ConnectionAddr::Unix(cwd.join(".stackr/redis.sock"))
        );
        assert_eq!(info.redis_settings().password(), Some("p&ss word"));
        assert!(!url.to_string().contains("word"), "{url}");
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
    fn a_redis_unix_socket_url_gets_the_password_as_its_pass_parameter() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "p@ss&word\n").unwrap();
        let url = SecretUrl::from_url_and_password_file(
            "REDIS_URL",
            "redis+unix:///run/redis-core/redis.sock",
            "REDIS_PASSWORD_FILE",
            Some(file.to_str().unwrap()),
        )
        .unwrap();
        // Where redis-rs reads it: a socket URL has no host to carry user information.
        assert_eq!(
            url.expose(),
            "redis+unix:///run/redis-core/redis.sock?pass=p%40ss%26word"
        );
        assert_eq!(
            url.to_string(),
            "redis+unix:///run/redis-core/redis.sock?pass=***"
        );
        assert!(!format!("{url:?}").contains("word"), "{url:?}");
        // A password already in the URL needs no file, and is hidden all the same.
        let given = SecretUrl::from_url_and_password_file(
            "REDIS_URL",
            "unix:///run/redis-core/redis.sock?db=1&pass=given",
            "REDIS_PASSWORD_FILE",
            None,
        )
        .unwrap();
        assert_eq!(
            given.to_string(),
            "unix:///run/redis-core/redis.sock?db=1&pass=***"
        );
    }

    /// tokio-postgres also takes the password from a `password` query parameter, its name
    /// percent-encoded or not: shown hidden like the user-info one, the rest of the URL intact.
    #[test]
    fn a_password_query_parameter_is_hidden() {
        let url = SecretUrl::new(
            "postgres://core@127.0.0.1:5432/core?sslmode=disable&password=hunter2&pass%77ord=x%3Dy",
        )
        .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://core@127.0.0.1:5432/core?sslmode=disable&password=***&password=***"
        );
        let shown = format!("{url:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("x%3Dy"),
            "{shown}"
        );
        assert!(url.expose().ends_with("&password=hunter2&pass%77ord=x%3Dy"));
        let both = SecretUrl::new("postgres://core:s3cret@db/core?password=hunter2").unwrap();
        assert_eq!(both.to_string(), "postgres://core:***@db/core?password=***");
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
