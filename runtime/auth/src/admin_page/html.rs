//! Page layout, escaping and the small pieces every page uses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element and attribute content.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Whether `c` shows nothing itself yet changes how the text around it reads: the bidirectional
/// controls (after U+202E, `moc.elpmaxe@liam` reads as `mail@example.com`), zero-width spaces and
/// joiners of words, soft hyphens, tag characters, the other invisible format characters, and
/// control characters; or shows only a blank that is no space (the Hangul fillers, the blank
/// Braille pattern: `admin` followed by U+3164 reads as `admin`). The zero-width (non-)joiners
/// U+200C and U+200D and the variation selectors are left: names in several scripts and emoji
/// need them, and they reorder nothing.
fn shows_nothing(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `s` with every character that shows nothing itself yet turns or hides the text around it
/// written out as `[U+XXXX]`, and so every non-ASCII character of a word whose letters can pass
/// for Latin ones they are not (see `admin_page::lookalike`), so that text a user chose cannot read
/// as another user's name or address on an admin's screen.
pub fn visible(s: &str) -> String {
    let suspect = super::lookalike::suspect_words(s);
    let mut out = String::with_capacity(s.len());
    for (at, c) in s.char_indices() {
        if shows_nothing(c) || (!c.is_ascii() && suspect.iter().any(|word| word.contains(&at))) {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Longest text shown in one cell; longer values (stored before the input caps, or written behind
/// the service's back) are cut, so one row cannot make the page huge.
const MAX_CELL_CHARS: usize = 120;

/// [Visible](visible), escaped and cut to `MAX_CELL_CHARS` (an ellipsis marks the cut).
pub fn cell(s: &str) -> String {
    let s = visible(s);
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((end, _)) => format!("{}…", escape(&s[..end])),
        None => escape(&s),
    }
}

/// Navigation shown to a signed-in admin (`who` is their email); `None` on the sign-in pages.
pub struct Nav {
    pub who: String,
    pub logout_token: String,
}

/// Every dashboard answer's content policy: no scripts, frames or foreign assets.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A whole page: `body` is already-escaped HTML; `status` is a message read out after an action.
pub fn page(
    code: StatusCode,
    title: &str,
    nav: Option<Nav>,
    status: Option<&str>,
    body: &str,
) -> Response {
    let nav = match nav {
        Some(n) => format!(
            "<nav aria-label=\"Main\"><a href=\"/\">Users</a> <a href=\"/audit\">Audit log</a>\
             <form method=\"post\" action=\"/logout\" class=\"inline\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <span>{}</span> <button type=\"submit\">Sign out</button></form></nav>",
            escape(&n.logout_token),
            cell(&n.who)
        ),
        None => String::new(),
    };
    let status = status
        .map(|s| format!("<p role=\"status\" class=\"status\">{}</p>", escape(s)))
        .unwrap_or_default();
    let doc = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — stackr admin</title><link rel=\"stylesheet\" href=\"/dashboard.css\">\
         </head><body><header><p class=\"brand\">stackr auth admin</p>{nav}</header>\
         <main><h1>{title}</h1>{status}{body}</main></body></html>",
        title = escape(&visible(title))
    );
    let mut res = (code, doc).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// A page that only says something went wrong (refusals, unknown users, failures).
pub fn problem(code: StatusCode, title: &str, message: &str) -> Response {
    page(
        code,
        title,
        None,
        None,
        &format!(
            "<p>{}</p><p><a href=\"/\">Back to the dashboard</a></p>",
            escape(message)
        ),
    )
}

/// `303 See Other` to `location` (after a form post), with cookies.
pub fn see_other(location: &str, cookies: Vec<String>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    crate::respond::add_cookies(&mut res, cookies);
    res
}

/// A form field: label, then the control.
pub fn field(id: &str, label: &str, control: &str) -> String {
    format!(
        "<p><label for=\"{id}\">{}</label> {control}</p>",
        escape(label)
    )
}

/// A hidden CSRF token field.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(token)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_out_blank_fillers() {
        assert_eq!(
            super::visible("admin\u{3164}\u{115F}\u{1160}\u{FFA0}\u{2800}\u{034F}"),
            "admin[U+3164][U+115F][U+1160][U+FFA0][U+2800][U+034F]"
        );
    }

    #[test]
    fn writes_out_what_shows_nothing() {
        assert_eq!(
            super::visible("\u{202E}moc.elpmaxe@liam\u{200B}\u{E0041}\n"),
            "[U+202E]moc.elpmaxe@liam[U+200B][U+E0041][U+000A]"
        );
        assert_eq!(
            super::visible("Zoë 🏳️‍🌈 می\u{200C}خواهم"),
            "Zoë 🏳️‍🌈 می\u{200C}خواهم"
        );
    }

    #[test]
    fn writes_out_letters_of_another_script_that_pass_for_latin() {
        for (text, shown) in [
            // A Cyrillic о among Latin letters, in an address or a name.
            ("r\u{043E}ot@example.com", "r[U+043E]ot@example.com"),
            ("admin@ex\u{0430}mple.com", "admin@ex[U+0430]mple.com"),
            ("R\u{043E}ot", "R[U+043E]ot"),
            // A Latin a among Cyrillic letters.
            ("\u{0418}\u{0432}a\u{043D}", "[U+0418][U+0432]a[U+043D]"),
            // Cyrillic letters only, reading as `pay`, in an address or beside a Latin word.
            (
                "\u{0440}\u{0430}\u{0443}@example.com",
                "[U+0440][U+0430][U+0443]@example.com",
            ),
            (
                "\u{0440}\u{0430}\u{0443} Pal",
                "[U+0440][U+0430][U+0443] Pal",
            ),
            // Greek and Latin in one word.
            ("\u{03BF}k", "[U+03BF]k"),
        ] {
            assert_eq!(super::visible(text), shown, "{text}");
        }
    }

    #[test]
    fn writes_out_letters_of_no_alphabet_that_pass_for_latin() {
        // Mathematical and fullwidth letters and digits belong to no script of their own (Unicode
        // counts them as Common, as it does `@` and ASCII digits), yet read as Latin ones.
        for (text, shown) in [
            (
                "r\u{1D5C8}\u{1D5C8}t@example.com",
                "r[U+1D5C8][U+1D5C8]t@example.com",
            ),
            ("R\u{1D428}ot", "R[U+1D428]ot"),
            (
                "\u{1D42B}\u{1D428}\u{1D428}\u{1D42D}",
                "[U+1D42B][U+1D428][U+1D428][U+1D42D]",
            ),
            ("user\u{FF11}@example.com", "user[U+FF11]@example.com"),
        ] {
            assert_eq!(super::visible(text), shown, "{text}");
        }
    }

    #[test]
    fn leaves_text_in_one_script_as_it_is() {
        for text in [
            "Анна Каренина",
            "Ivan Иванов",
            "山田 太郎",
            "Tシャツ",
            "홍길동",
            "Zoë Straße-Ångström",
            "Ιωάννης",
            // A word that reads as Latin, alone in its own script: an ordinary word there.
            "\u{0440}\u{0430}\u{0443}",
            "иван@пример.рф",
            "ada@example.com",
        ] {
            assert_eq!(super::visible(text), text);
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
