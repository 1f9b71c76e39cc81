//! The dev secrets the plan lists, written where the plan says (under the stack's temporary
//! project root), with fresh random values: what the generated `secrets` process does in dev.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use stackr::plan::Plan;

use crate::secret::random_secret;

/// Writes every secret file of `plan` under `root` (mode 0600) and returns path -> value.
pub fn write_plan_secrets(root: &Path, plan: &Plan) -> anyhow::Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for secret in &plan.secrets {
        let path = root.join(&secret.file);
        fs::create_dir_all(path.parent().expect("secret files live in a folder"))?;
        let value = random_secret(48);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(value.as_bytes()))
            .with_context(|| format!("writing secret {}", path.display()))?;
        values.insert(secret.file.clone(), value);
    }
    Ok(values)
}
