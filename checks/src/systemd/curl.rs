//! HTTP requests made with curl inside a [`Machine`] (the APIs' ports are open to their own host
//! only), and the bash quoting their command lines need.

use anyhow::Context;

use super::Machine;

/// An HTTP answer, from curl inside a container.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Answer {
    /// The cookies the answer sets, in order (`name=value`, without their attributes).
    pub fn cookies(&self) -> impl Iterator<Item = &str> {
        self.headers.lines().filter_map(|l| {
            let (header, value) = l.split_once(':')?;
            let value = header
                .eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim())?;
            value.split(';').next()
        })
    }

    /// The first cookie the answer sets (`name=value`, without its attributes).
    pub fn first_cookie(&self) -> Option<&str> {
        self.cookies().next()
    }

    /// The cookie `name` the answer sets (`name=value`, without its attributes).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies()
            .find(|c| c.split_once('=').is_some_and(|(n, _)| n == name))
    }
}

/// Single-quotes `text` for bash.
pub fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Machine {
    /// `method url` with curl in the container, with `headers` and a JSON `body`; `ca`: the
    /// certificate an HTTPS server must be issued by.
    pub fn http(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
        ca: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let mut command = format!("curl -sS -i --max-time 60 -X {method} {}", quoted(url));
        if let Some(ca) = ca {
            command += &format!(" --cacert {}", quoted(ca));
        }
        for (name, value) in headers {
            command += &format!(" -H {}", quoted(&format!("{name}: {value}")));
        }
        if let Some(body) = body {
            command += &format!(
                " -H 'content-type: application/json' --data-binary {}",
                quoted(body)
            );
        }
        let raw = self.sh(&command)?;
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("no HTTP status in {raw}"))?;
        Ok(Answer {
            status,
            headers: head.to_owned(),
            body: body.to_owned(),
        })
    }
}
