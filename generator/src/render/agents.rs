//! `AGENTS.md`: the invariants of the project, for people and coding agents.

use anyhow::Result;
use serde::Serialize;

use super::templates;
use crate::model::{AuthMiddleware, ServiceKind};
use crate::plan::Plan;
use crate::runtime_sources::VENDORED_DIR;

pub const PATH: &str = "AGENTS.md";

/// Markers around the part of AGENTS.md that belongs to the user: `stackr generate` rewrites the
/// rest of the file from the config and carries this part over unchanged.
pub const USER_BEGIN: &str = "<!-- stackr:user-section:begin (kept by stackr generate) -->";
pub const USER_END: &str = "<!-- stackr:user-section:end -->";

#[derive(Serialize)]
pub(super) struct Service<'a> {
    name: &'a str,
    kind: ServiceKind,
    middleware: Option<AuthMiddleware>,
    port: u16,
    /// The service crate's cargo package (`cargo test -p …`).
    package: &'a str,
}

#[derive(Serialize)]
pub(super) struct Context<'a> {
    project: &'a str,
    /// The dev secrets folder, in the state folder.
    secrets_dir: String,
    auth: Option<&'a str>,
    services: Vec<Service<'a>>,
    generated: Vec<&'static str>,
    /// The folder of the vendored runtime crates, when the project vendors them.
    vendored_dir: Option<&'static str>,
    user_begin: &'a str,
    user_end: &'a str,
}

pub fn render(plan: &Plan) -> Result<String> {
    let services = plan
        .services
        .iter()
        .map(|s| Service {
            name: &s.name,
            kind: s.kind,
            middleware: s.middleware,
            port: s.port,
            package: &s.package,
        })
        .collect();
    templates::AGENTS.render(&Context {
        project: &plan.project,
        secrets_dir: crate::plan::dev_secrets_dir(&plan.state_dir),
        auth: plan.auth.as_deref(),
        services,
        generated: super::generated_paths(plan).collect(),
        vendored_dir: plan.runtime.vendored.as_ref().map(|_| VENDORED_DIR),
        user_begin: USER_BEGIN,
        user_end: USER_END,
    })
}

/// `rendered` with its user section replaced by the one in `existing` (the project's current
/// AGENTS.md): the text after its begin marker, up to the end marker, or to the end of the file
/// when the end marker was deleted (the notes are kept, with whatever followed them). Without a
/// begin marker (a new project, or one deleted by hand) the rendered default section stands.
pub fn keep_user_section(rendered: &str, existing: &str) -> String {
    let (Some(kept), Some((head, tail))) = (user_section(existing), split_user_section(rendered))
    else {
        return rendered.to_owned();
    };
    format!("{head}{kept}{tail}")
}

/// The first user-section marker of `text` (a project's AGENTS.md) that stands where keeping the
/// user section would cut the notes around it: a second begin marker, a second end marker, or an
/// end marker with no begin marker before it (the section kept runs from the first begin marker to
/// the end marker after it, the rest of the file is rewritten). Its line (from 1) and what is
/// wrong; `None` when the markers are in order, or absent.
pub fn misplaced_marker(text: &str) -> Option<(usize, &'static str)> {
    let mut markers: Vec<(usize, &str)> = [USER_BEGIN, USER_END]
        .into_iter()
        .flat_map(|marker| text.match_indices(marker))
        .collect();
    markers.sort();
    let (mut begun, mut ended) = (false, false);
    for (offset, marker) in markers {
        let fault = if marker == USER_BEGIN {
            std::mem::replace(&mut begun, true).then_some("a second begin marker")
        } else if !begun {
            Some("an end marker with no begin marker before it")
        } else {
            std::mem::replace(&mut ended, true).then_some("a second end marker")
        };
        if let Some(fault) = fault {
            return Some((text[..offset].matches('\n').count() + 1, fault));
        }
    }
    None
}

/// `text` with its user section emptied (the markers stay): the part of AGENTS.md stackr writes,
/// so notes written there do not make the file differ from what stackr recorded. Without an end
/// marker the notes run to the end of the file (as [`keep_user_section`] keeps them), so all of it
/// goes.
pub fn without_user_section(text: &str) -> String {
    match user_section_bounds(text) {
        Some((start, end)) => format!("{}{}", &text[..start], &text[end.unwrap_or(text.len())..]),
        None => text.to_owned(),
    }
}

/// Where the user section's text starts (just after the begin marker) and where its end marker
/// starts, if it has one; `None` without a begin marker.
fn user_section_bounds(text: &str) -> Option<(usize, Option<usize>)> {
    let start = text.find(USER_BEGIN)? + USER_BEGIN.len();
    Some((start, text[start..].find(USER_END).map(|len| start + len)))
}

/// The text between the markers (markers excluded); to the end without an end marker.
fn user_section(text: &str) -> Option<&str> {
    let (start, end) = user_section_bounds(text)?;
    Some(&text[start..end.unwrap_or(text.len())])
}

/// The text up to and including the begin marker, and from the end marker on.
fn split_user_section(text: &str) -> Option<(&str, &str)> {
    let (start, end) = user_section_bounds(text)?;
    let end = end?;
    Some((&text[..start], &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(generated: &str, user: &str) -> String {
        format!("# {generated}\n{USER_BEGIN}{user}{USER_END}\nfooter {generated}\n")
    }

    #[test]
    fn user_section_survives_and_generated_part_is_rewritten() {
        let existing = doc("old", "\nmy rule: never call wallet from core\n");
        let rendered = doc("new", "\ndefault text\n");
        assert_eq!(
            keep_user_section(&rendered, &existing),
            doc("new", "\nmy rule: never call wallet from core\n")
        );
    }

    #[test]
    fn without_markers_in_the_project_the_default_section_stands() {
        let rendered = doc("new", "\ndefault text\n");
        assert_eq!(
            keep_user_section(&rendered, "# hand-written, no markers\n"),
            rendered
        );
    }

    #[test]
    fn without_user_section_keeps_only_what_stackr_writes() {
        let empty = doc("gen", "");
        assert_eq!(without_user_section(&doc("gen", "\nmy notes\n")), empty);
        assert_eq!(without_user_section(&empty), empty);
        assert_eq!(without_user_section("# no markers\n"), "# no markers\n");
        assert_eq!(
            without_user_section(&format!("# gen\n{USER_BEGIN}\nnotes, no end\n")),
            format!("# gen\n{USER_BEGIN}")
        );
    }

    /// Notes whose end marker was deleted by hand are kept, with what followed them.
    #[test]
    fn without_the_end_marker_the_notes_run_to_the_end_and_are_kept() {
        let rendered = doc("new", "\ndefault text\n");
        let existing = format!("# old\n{USER_BEGIN}\nmy rule\nfooter old\n");
        assert_eq!(
            keep_user_section(&rendered, &existing),
            doc("new", "\nmy rule\nfooter old\n")
        );
    }
}
