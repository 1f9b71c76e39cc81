//! Whether a request's URL holds a NUL character. PostgreSQL's text cannot hold one, so a path
//! segment or query parameter with it that reached a query failed the statement: an error answer
//! and an error in the log, per request, at any client's will. Each server refuses such a request
//! up front, with its own 400.

use axum::http::Uri;

/// `%00` is the only way a NUL gets into a URL: hyper refuses a raw one in the request line.
pub fn url_holds_nul(uri: &Uri) -> bool {
    uri.path_and_query()
        .is_some_and(|url| url.as_str().as_bytes().windows(3).any(|w| w == b"%00"))
}

#[cfg(test)]
mod tests {
    use super::url_holds_nul;

    #[test]
    fn only_an_encoded_nul_counts() {
        let holds = |url: &str| url_holds_nul(&url.parse().unwrap());
        assert!(holds("/users/a%00b"));
        assert!(holds("/?q=%00"));
        assert!(!holds("/users/a%20b?q=%2500"));
        assert!(!holds("/"));
    }
}
