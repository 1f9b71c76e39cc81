//! The first line of every mail. A user's name is text they chose (up to 256 characters, any
//! characters), and a mail carries it under the service's own sender: with line breaks and room
//! for a sentence it becomes a message of the user's own ("your account is suspended, visit …").
//! So a name is greeted on one line, shortened, and never in a mail to an address its owner has
//! not yet proved, which anyone may type in (at sign-up, or as a new address), whatever the
//! mail (a verification link, a reset link, a sign-in code).

/// The longest name a greeting shows, in characters.
const LONGEST_NAME: usize = 40;

/// The greeting of a mail to `user`'s own address: by name once the address is proved.
pub fn greeting_to_holder(user: &crate::db::models::User) -> String {
    greeting(user.email_verified.then_some(user.name.as_str()))
}

/// `Hello <name>,` for a mail to the user's own address, `Hello,` without a name.
pub fn greeting(name: Option<&str>) -> String {
    let one_line: String = name
        .unwrap_or("")
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut shown: String = one_line.chars().take(LONGEST_NAME).collect();
    if shown.len() < one_line.len() {
        shown.push('…');
    }
    if shown.is_empty() {
        "Hello,".into()
    } else {
        format!("Hello {shown},")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_greeted_on_one_line_and_shortened() {
        assert_eq!(greeting(Some("Ada Lovelace")), "Hello Ada Lovelace,");
        assert_eq!(greeting(None), "Hello,");
        assert_eq!(greeting(Some(" \n\t ")), "Hello,");
        let injected = greeting(Some(
            "customer,\r\n\r\nYour account is suspended. Visit http://evil.example/login\u{2028}now",
        ));
        assert!(!injected.chars().any(char::is_control), "{injected:?}");
        assert!(!injected.contains('\u{2028}'), "{injected:?}");
        assert_eq!(injected, "Hello customer, Your account is suspended. Vis…,");
    }
}
