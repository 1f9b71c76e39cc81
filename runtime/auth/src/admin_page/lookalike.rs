//! Words that can pass for other words on an admin's screen: letters of another alphabet that
//! look like Latin ones (Cyrillic `а` in `аdmin@example.com`, which reads as the admin's own
//! address), found by Unicode's rules against spoofing (UTS #39).
//!
//! Text is looked at word by word (a word is a run of letters, digits and combining marks), so
//! that a name in two languages (`Ivan Иванов`) is not suspect for holding two scripts. A word is
//! suspect when
//! - it mixes scripts beyond what one language writes in one word: one script, or Latin with the
//!   scripts Chinese, Japanese and Korean write together (UTS #39's "highly restrictive" level):
//!   `аdmin` mixes Cyrillic and Latin, `Tシャツ` is ordinary Japanese; or
//! - it is all in another script yet every letter of it looks like a Latin one (its UTS #39
//!   skeleton is ASCII: `рау` reads as `pay`), where it can pass for Latin: beside a Latin word,
//!   or in an email address. Alone, such a word is an ordinary word of its language; or
//! - it holds a letter or digit of no script that reads as an ASCII one (mathematical `𝗈`,
//!   fullwidth `１`): Unicode counts these as Common, as it does ASCII digits, so they mix with
//!   every script, and no language writes its words in them.
//!
//! A name or address written wholly in one other script (`Анна Каренина`, `山田太郎`) is not
//! suspect. Nor are look-alikes within Latin itself (`ɑ` for `a`, the dotless `ı` for `i`): some
//! are letters of ordinary Latin names (Turkish `Yılmaz`).

use std::ops::Range;

use unicode_security::mixed_script::AugmentedScriptSet;
use unicode_security::skeleton;

/// The byte ranges of `s`'s suspect words.
pub(super) fn suspect_words(s: &str) -> Vec<Range<usize>> {
    let words = words(s);
    let beside_latin = s.contains('@') || words.iter().any(|w| in_latin(&s[w.clone()]));
    words
        .into_iter()
        .filter(|w| {
            let word = &s[w.clone()];
            mixes_scripts(word)
                || (beside_latin && passes_for_latin(word))
                || word.chars().any(is_scriptless_look_alike)
        })
        .collect()
}

/// Whether `c` belongs to a word: a letter or digit, or a mark written on one (the combining
/// marks, which take the script of the letter they are on).
fn in_word(c: char) -> bool {
    c.is_alphanumeric() || AugmentedScriptSet::for_char(c).base.is_inherited()
}

fn words(s: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (in_word(c), start) {
            (true, None) => start = Some(i),
            (false, Some(from)) => {
                words.push(from..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        words.push(from..s.len());
    }
    words
}

/// Whether no one script writes all of `word`, nor Latin with Han and the kana (Japanese), Han
/// and Hangul (Korean) or Han and Bopomofo (Chinese).
fn mixes_scripts(word: &str) -> bool {
    if !AugmentedScriptSet::for_str(word).is_empty() {
        return false;
    }
    let mut besides_latin = AugmentedScriptSet::default();
    for c in word.chars() {
        let set = AugmentedScriptSet::for_char(c);
        if !set.base.contains_script(unicode_script::Script::Latin) {
            besides_latin.intersect_with(set);
        }
    }
    !(besides_latin.jpan || besides_latin.kore || besides_latin.hanb)
}

/// Whether `c` is a letter or digit outside ASCII that has no script of its own and reads as an
/// ASCII letter or digit (`𝐨` as `o`).
fn is_scriptless_look_alike(c: char) -> bool {
    !c.is_ascii()
        && c.is_alphanumeric()
        && AugmentedScriptSet::for_char(c).is_all()
        && skeleton(c.encode_utf8(&mut [0; 4])).all(|c| c.is_ascii_alphanumeric())
}

/// Whether `word` has a letter and is written in Latin.
fn in_latin(word: &str) -> bool {
    let set = AugmentedScriptSet::for_str(word);
    !set.is_all() && set.base.contains_script(unicode_script::Script::Latin)
}

/// Whether `word` is written in one script other than Latin and reads as ASCII letters and digits.
fn passes_for_latin(word: &str) -> bool {
    let set = AugmentedScriptSet::for_str(word);
    !set.is_all()
        && !set.is_empty()
        && !set.base.contains_script(unicode_script::Script::Latin)
        && skeleton(word).all(|c| c.is_ascii_alphanumeric())
}
