//! The deployment's CA certificate, committed with the project as [`RECORD`] (a certificate, no
//! secret). The deployment folder, with the CA's key and every secret, is git-ignored: a clone of
//! the project on another machine has none, and `stackr secrets` there would make a second
//! deployment, whose upload replaces every password, the CA and auth's secret (every user signed
//! out, every two-factor user locked out: their enrolments are sealed with the old secret). With
//! the record, a deployment folder without the recorded CA is refused.

use std::path::Path;

use anyhow::Result;

use super::secrets::{write_private, CA_CERT, NEXT_CA_CERT, PREVIOUS_CA_CERT};
use crate::UsageError;

/// The record, in the project's root.
pub const RECORD: &str = "deployment-ca.crt";

/// Refuses the deployment folder `dir` (`shown` as the config names it) when the project records
/// a CA the folder does not hold: as its CA, or as the one a rotation cut short replaces or puts
/// in place (the record moves with the CA only once a run ends). Without a record (a project
/// whose secrets an earlier stackr made, or none yet) any folder is taken.
pub fn check(root: &Path, dir: &Path, shown: &str) -> Result<()> {
    let Some(recorded) = read(&root.join(RECORD)) else {
        return Ok(());
    };
    let held = |file: &str| read(&dir.join(file)).is_some_and(|ca| ca == recorded);
    if held(CA_CERT) || held(PREVIOUS_CA_CERT) || held(NEXT_CA_CERT) {
        return Ok(());
    }
    let second_deployment = "new secrets here would be a second deployment: uploaded, they replace every password, the CA and auth's secret, which signs every user out and locks every two-factor user out";
    let error = if dir.join(CA_CERT).exists() {
        UsageError::new(
            format!("{shown} holds another CA than the one {RECORD} records for this project: it is another deployment's, or a copy from before a CA rotation made elsewhere; {second_deployment}"),
            format!("copy the current {shown}/ here from the machine that last ran `stackr secrets` for this project (and pull its {RECORD})"),
        )
    } else {
        UsageError::new(
            format!("{RECORD} records this project's deployment, whose secrets are not in {shown} (git-ignored: they stay on the machine that made them, and in its backup); {second_deployment}"),
            format!("copy {shown}/ here from that machine or its backup, then run `stackr secrets` again; if it is lost for good, delete {RECORD} and run it again for a new deployment"),
        )
    };
    Err(error.into())
}

/// Records the CA of the deployment folder `dir`; returns whether the record changed.
pub fn write(root: &Path, dir: &Path) -> Result<bool> {
    let current = std::fs::read_to_string(dir.join(CA_CERT))?;
    if read(&root.join(RECORD)).as_deref() == Some(current.as_str()) {
        return Ok(false);
    }
    write_private(root, root, RECORD, &current)?;
    Ok(true)
}

/// The text of `path`, unless it is missing, unreadable or a link (whose target is not read).
fn read(path: &Path) -> Option<String> {
    stackr_plan::regular_file::read_to_string_unlinked(path).ok()
}
