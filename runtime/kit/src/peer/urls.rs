use std::collections::BTreeMap;

use stackr_contract::env::SERVICE_URLS as VAR;
use url::Url;

use crate::config::{optional, ConfigError};

/// `SERVICE_URLS`: the API origin of every base service of the stack, by service name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerUrls(BTreeMap<String, Url>);

impl PeerUrls {
    /// Reads `SERVICE_URLS` (`core=http://127.0.0.1:8080,billing=http://127.0.0.1:8081`); unset
    /// or empty means no other service is known.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        match optional(lookup, VAR) {
            Some(raw) => Self::parse(&raw),
            None => Ok(PeerUrls::default()),
        }
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
        Ok(PeerUrls(urls))
    }

    pub fn get(&self, service: &str) -> Option<&Url> {
        self.0.get(service)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
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
