use std::collections::{BTreeMap, BTreeSet};

use stackr_contract::env::{ANONYMOUS_SERVICES, SERVICE_URLS as VAR};
use url::Url;

use crate::config::{optional, ConfigError};

/// `SERVICE_URLS`: the API origin of every base service of the stack, by service name; and
/// `ANONYMOUS_SERVICES`: those of them that authenticate no one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerUrls {
    urls: BTreeMap<String, Url>,
    anonymous: BTreeSet<String>,
}

impl PeerUrls {
    /// Reads `SERVICE_URLS` (`core=http://127.0.0.1:8080,billing=http://127.0.0.1:8081`; unset
    /// or empty means no other service is known) and `ANONYMOUS_SERVICES` (`catalog,…`).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let urls = match optional(lookup, VAR) {
            Some(raw) => Self::parse(&raw)?,
            None => PeerUrls::default(),
        };
        match optional(lookup, ANONYMOUS_SERVICES) {
            Some(raw) => urls.with_anonymous(&raw),
            None => Ok(urls),
        }
    }

    /// Marks the services named in `raw` (`ANONYMOUS_SERVICES`: `name,…`) as authenticating no
    /// one: calls to them carry no cookie. Each must be one of the known services.
    pub fn with_anonymous(mut self, raw: &str) -> Result<Self, ConfigError> {
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !self.urls.contains_key(name) {
                return Err(ConfigError::Invalid {
                    var: ANONYMOUS_SERVICES,
                    reason: format!("`{name}` is not a service of {VAR}"),
                });
            }
            self.anonymous.insert(name.to_owned());
        }
        Ok(self)
    }

    /// Whether calls to `service` carry the user's cookie: not to one that authenticates no one
    /// (it is not handed a session, and so cannot pass one on).
    pub fn takes_cookie(&self, service: &str) -> bool {
        !self.anonymous.contains(service)
    }

    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { var: VAR, reason };
        let mut urls = BTreeMap::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, url) = entry.split_once('=').ok_or_else(|| {
                invalid(format!(
                    "`{entry}` is not `name=url` (e.g. billing=http://127.0.0.1:8081)"
                ))
            })?;
            let url = Url::parse(url.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| invalid(format!("`{url}` (of `{name}`) is not an http(s) URL")))?;
            if urls.insert(name.trim().to_owned(), url).is_some() {
                return Err(invalid(format!("`{name}` is listed twice")));
            }
        }
        Ok(PeerUrls {
            urls,
            anonymous: BTreeSet::new(),
        })
    }

    pub fn get(&self, service: &str) -> Option<&Url> {
        self.urls.get(service)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.urls.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_urls() {
        let urls = PeerUrls::parse(" core=http://127.0.0.1:8080 , billing=http://127.0.0.1:8081,")
            .unwrap();
        assert_eq!(urls.names().collect::<Vec<_>>(), ["billing", "core"]);
        assert_eq!(urls.get("billing").unwrap().port(), Some(8081));
        assert!(urls.get("auth").is_none());
    }

    #[test]
    fn anonymous_services_take_no_cookie_and_must_be_known() {
        let lookup = |name: &str| match name {
            "SERVICE_URLS" => {
                Some("core=http://127.0.0.1:8080,catalog=http://127.0.0.1:8082".into())
            }
            "ANONYMOUS_SERVICES" => Some(" catalog ,".into()),
            _ => None,
        };
        let urls = PeerUrls::from_lookup(&lookup).unwrap();
        assert!(urls.takes_cookie("core"));
        assert!(!urls.takes_cookie("catalog"));
        let error = PeerUrls::parse("core=http://127.0.0.1:8080")
            .unwrap()
            .with_anonymous("catalog")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ANONYMOUS_SERVICES")
                && error.contains("`catalog` is not a service of SERVICE_URLS"),
            "{error}"
        );
    }

    #[test]
    fn unset_means_no_peers() {
        let urls = PeerUrls::from_lookup(&|_| None).unwrap();
        assert_eq!(urls.names().count(), 0);
    }

    #[test]
    fn refuses_entries_it_cannot_use_naming_the_variable() {
        for (raw, says) in [
            ("billing", "is not `name=url`"),
            ("billing=localhost:8081", "is not an http(s) URL"),
            ("billing=ftp://x", "is not an http(s) URL"),
            ("a=http://x,a=http://y", "listed twice"),
        ] {
            let error = PeerUrls::parse(raw).unwrap_err().to_string();
            assert!(
                error.contains("SERVICE_URLS") && error.contains(says),
                "{raw}: {error}"
            );
        }
    }
}
