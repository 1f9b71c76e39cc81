//! A job whose data bullmq-official read as `null`: stored so, or missing, or not JSON.
//!
//! bullmq-official reads the job hash's `data` field as JSON and, when it is missing or is not
//! JSON, gives the job `null`, so the handler would run with data its producer never gave it.
//! Node's worker reads a missing or empty `data` as `{}`, and cannot read a job whose data is
//! not JSON at all: it never runs it (the job stays active until stalled checks fail it). This
//! worker gives the first `{}` too, and fails the second at once, naming why: retrying cannot
//! make the same bytes parse. The check costs a read only for jobs read as `null`.

use redis::aio::ConnectionManager;
use serde_json::Value;

/// What the job's stored data means, for a job bullmq-official read as `null`.
#[derive(Debug, PartialEq)]
pub(crate) enum StoredData {
    /// `null` it is (stored so), or the job is gone: run as read.
    AsRead,
    /// Missing or empty: what Node reads it as.
    Replaced(Value),
    /// Not JSON: fail the job with this reason.
    NotJson(String),
}

/// Reads the `data` field of the job at `job_key`.
pub(crate) async fn check(
    conn: &mut ConnectionManager,
    job_key: &str,
) -> redis::RedisResult<StoredData> {
    let raw: Option<Vec<u8>> = redis::cmd("HGET")
        .arg(job_key)
        .arg("data")
        .query_async(conn)
        .await?;
    Ok(meaning(raw.as_deref()))
}

fn meaning(raw: Option<&[u8]>) -> StoredData {
    match raw {
        None | Some(b"") => StoredData::Replaced(Value::Object(Default::default())),
        // bullmq-official reads the text with bytes that are not UTF-8 replaced, as Node does.
        Some(raw) => match serde_json::from_str::<Value>(&String::from_utf8_lossy(raw)) {
            Ok(_) => StoredData::AsRead,
            // serde_json's own limit, 128 levels of arrays and objects; Node has none.
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
                StoredData::NotJson(format!(
                    "the job's data is nested deeper than this worker reads (128 levels of arrays and objects): {e}"
                ))
            }
            Err(e) => StoredData::NotJson(format!("the job's data is not JSON: {e}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_or_empty_data_is_an_empty_object_and_null_stays_null() {
        assert_eq!(meaning(None), StoredData::Replaced(json!({})));
        assert_eq!(meaning(Some(b"")), StoredData::Replaced(json!({})));
        assert_eq!(meaning(Some(b"null")), StoredData::AsRead);
        assert_eq!(meaning(Some(b" null ")), StoredData::AsRead);
    }

    /// Node reads JSON nested to any depth; serde_json, here and in bullmq-official, stops at 128
    /// levels. Such data is JSON: the reason must not say otherwise.
    #[test]
    fn data_nested_too_deep_is_named_as_such() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let StoredData::NotJson(reason) = meaning(Some(deep.as_bytes())) else {
            panic!("read as JSON");
        };
        assert!(
            reason.starts_with("the job's data is nested deeper than this worker reads"),
            "{reason}"
        );
    }

    #[test]
    fn data_that_is_not_json_is_named_as_such() {
        let StoredData::NotJson(reason) = meaning(Some(b"{\"userId\": \"u_")) else {
            panic!("read as JSON");
        };
        assert!(
            reason.starts_with("the job's data is not JSON: "),
            "{reason}"
        );
    }
}
