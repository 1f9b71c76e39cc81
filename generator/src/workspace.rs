//! Surgical edits of the root `Cargo.toml`: adding a workspace member with toml_edit, so the
//! user's comments, ordering and formatting survive.

use anyhow::{bail, Context, Result};
use toml_edit::{DocumentMut, Value};

/// Returns `text` with each of `wanted` appended to `[workspace].members` unless already covered
/// (including by a `dir/*` glob), parsing the manifest once; unchanged when all are covered.
pub fn add_members(text: &str, wanted: &[&str]) -> Result<String> {
    let mut doc: DocumentMut = text
        .parse()
        .context("the root Cargo.toml is not valid TOML")?;
    let Some(members) = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("members"))
        .and_then(|m| m.as_array_mut())
    else {
        bail!("the root Cargo.toml has no `[workspace] members = [...]`; add one so stackr can register services");
    };
    let mut added = false;
    for member in wanted {
        let covered = members.iter().filter_map(Value::as_str).any(|existing| {
            existing == *member
                || existing.strip_suffix("/*").is_some_and(|dir| {
                    member
                        .rsplit_once('/')
                        .is_some_and(|(parent, _)| parent == dir)
                })
        });
        if covered {
            continue;
        }
        // Reuse the last element's indentation so a one-per-line list stays one-per-line. Its
        // prefix may also hold a comment that belongs to the line before (`"a", # note`): keep
        // only the whitespace after the last newline.
        let prefix = members
            .iter()
            .last()
            .and_then(|v| v.decor().prefix())
            .and_then(|p| p.as_str())
            .map(|p| match p.rfind('\n') {
                Some(newline) => format!("\n{}", &p[newline + 1..]),
                None => p.to_owned(),
            });
        members.push(*member);
        if let (Some(prefix), Some(last)) = (prefix, members.iter_mut().last()) {
            last.decor_mut().set_prefix(prefix);
        }
        added = true;
    }
    Ok(if added {
        doc.to_string()
    } else {
        text.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::add_members;

    #[test]
    fn appends_preserving_comments_and_layout() {
        let before = "# my workspace\n[workspace]\nmembers = [\n    \"services/auth\", # the anchor\n    \"services/core\",\n]\n\n[profile.dev]\nopt-level = 1 # fast\n";
        let after = add_members(before, &["services/wallet"]).unwrap();
        assert_eq!(
            after,
            "# my workspace\n[workspace]\nmembers = [\n    \"services/auth\", # the anchor\n    \"services/core\",\n    \"services/wallet\",\n]\n\n[profile.dev]\nopt-level = 1 # fast\n"
        );
    }

    #[test]
    fn leaves_covered_members_alone() {
        let globbed = "[workspace]\nmembers = [\"services/*\"]\n";
        assert_eq!(add_members(globbed, &["services/core"]).unwrap(), globbed);
        let listed = "[workspace]\nmembers = [\"services/core\"]\n";
        assert_eq!(add_members(listed, &["services/core"]).unwrap(), listed);
    }

    #[test]
    fn refuses_a_manifest_without_members() {
        assert!(add_members("[package]\nname = \"x\"\n", &["services/core"]).is_err());
    }
}
