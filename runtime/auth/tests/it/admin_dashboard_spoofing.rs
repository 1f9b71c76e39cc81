//! Text a user chose, as the dashboard shows it: characters that show nothing themselves but turn
//! or hide the text around them must not let one user's name or address read as another's.

use crate::admin_dashboard::{assert_valid, location, post_form, root_on_the_dashboard, token};
use crate::common::TestServer;

/// Stored as `U+202E` then `moc.elpmaxe@ada.liam`, which a browser shows right to left:
/// `mail.ada@example.com`, an address the user does not have.
const TURNED_EMAIL: &str = "\u{202E}moc.elpmaxe@ada.liam";
/// What the dashboard shows of it.
const TURNED_EMAIL_SHOWN: &str = "[U+202E]moc.elpmaxe@ada.liam";
/// A name with a zero-width space, a right-to-left isolate and a byte-order mark in it.
const HIDDEN_NAME: &str = "Ro\u{200B}ot \u{2067}nimda\u{2069}\u{FEFF}";

/// Characters none of the dashboard's pages may carry as they are.
const TURNING_OR_HIDDEN: &[char] = &['\u{202E}', '\u{200B}', '\u{2067}', '\u{2069}', '\u{FEFF}'];

#[tokio::test]
async fn text_that_turns_or_hides_itself_is_shown_as_marks() {
    let server = TestServer::start().await;
    let mut admin = root_on_the_dashboard(&server).await;
    let r = server
        .client()
        .sign_up(HIDDEN_NAME, TURNED_EMAIL, "password-123")
        .await;
    assert_eq!(r.status, 200, "sign-up: {}", r.text);
    let id = r.json()["user"]["id"].as_str().unwrap().to_owned();
    let user_page = format!("/users/{id}");

    let page = admin.get(&user_page).await;
    let ban = token(&page, "ban");
    let r = post_form(
        &mut admin,
        &user_page,
        &[
            ("action", "ban"),
            ("csrf", &ban),
            ("confirm", "yes"),
            ("length", ""),
            ("reason", "\u{202E}maps"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "ban: {}", r.text);

    for path in ["/", user_page.as_str(), "/audit"] {
        let page = admin.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        assert_valid(&page);
        let carried: Vec<char> = page
            .text
            .chars()
            .filter(|c| TURNING_OR_HIDDEN.contains(c))
            .collect();
        assert!(
            carried.is_empty(),
            "{path} carries {carried:?} as they are: {}",
            page.text
        );
        assert!(
            page.text.contains(TURNED_EMAIL_SHOWN),
            "{path} does not show the address with its mark: {}",
            page.text
        );
    }
    let page = admin.get(&user_page).await;
    assert!(
        page.text
            .contains("Ro[U+200B]ot [U+2067]nimda[U+2069][U+FEFF]"),
        "the name with its marks: {}",
        page.text
    );

    // The address as shown confirms a deletion, as the address itself does.
    let delete = token(&page, "delete");
    let r = post_form(
        &mut admin,
        &user_page,
        &[
            ("action", "delete"),
            ("csrf", &delete),
            ("confirm_email", TURNED_EMAIL_SHOWN),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = admin.get(location(&r).to_owned().as_str()).await;
    assert!(r.text.contains("The user was deleted."), "{}", r.text);
}

/// `root@example.com` with two Cyrillic `о` (U+043E): on screen, the admin's own address.
const LOOK_ALIKE_EMAIL: &str = "r\u{043E}\u{043E}t@example.com";
/// What the dashboard shows of it.
const LOOK_ALIKE_EMAIL_SHOWN: &str = "r[U+043E][U+043E]t@example.com";
/// `pay@example.com` in Cyrillic letters only (U+0440, U+0430, U+0443) before the `@`.
const ALL_LOOK_ALIKE_EMAIL: &str = "\u{0440}\u{0430}\u{0443}@example.com";

/// Letters of another alphabet that look like Latin ones, in a word of Latin letters or in an
/// address, are written out as marks, so an admin cannot take one user for another; names written
/// wholly in another script are shown as they are.
#[tokio::test]
async fn look_alike_letters_of_another_alphabet_are_shown_as_marks() {
    let server = TestServer::start().await;
    let mut admin = root_on_the_dashboard(&server).await;
    let spoof = server
        .client()
        .sign_up_id("R\u{043E}\u{043E}t", LOOK_ALIKE_EMAIL, "password-123")
        .await;
    server
        .client()
        .sign_up_id("Pay", ALL_LOOK_ALIKE_EMAIL, "password-123")
        .await;
    server
        .client()
        .sign_up_id("Анна Каренина", "anna@example.com", "password-123")
        .await;
    server
        .client()
        .sign_up_id("山田 太郎", "yamada@example.com", "password-123")
        .await;
    let spoof_page = format!("/users/{spoof}");

    for path in ["/", spoof_page.as_str()] {
        let page = admin.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        assert_valid(&page);
        for shown in [LOOK_ALIKE_EMAIL_SHOWN, "R[U+043E][U+043E]t"] {
            assert!(
                page.text.contains(shown),
                "{path} lacks {shown}: {}",
                page.text
            );
        }
        assert!(
            !page.text.contains('\u{043E}'),
            "{path} shows a Cyrillic о among Latin letters: {}",
            page.text
        );
    }
    let list = admin.get("/").await;
    for shown in [
        "[U+0440][U+0430][U+0443]@example.com",
        "Анна Каренина",
        "山田 太郎",
    ] {
        assert!(
            list.text.contains(shown),
            "the list lacks {shown}: {}",
            list.text
        );
    }

    // The address as shown confirms a deletion, as the address itself does.
    let page = admin.get(&spoof_page).await;
    let delete = token(&page, "delete");
    let r = post_form(
        &mut admin,
        &spoof_page,
        &[
            ("action", "delete"),
            ("csrf", &delete),
            ("confirm_email", LOOK_ALIKE_EMAIL_SHOWN),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = admin.get(location(&r).to_owned().as_str()).await;
    assert!(r.text.contains("The user was deleted."), "{}", r.text);
}
