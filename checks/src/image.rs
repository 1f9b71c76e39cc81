//! The local image every checks container runs from.
//!
//! `checks/image/build.sh` builds it from Debian packages when it is absent (and starts dockerd
//! when no engine answers); it prints the image reference, which is the only way the harness
//! learns the content-hash tag. It runs once per test process and is cheap when the image exists.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// `repository:tag` of the built image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseImage {
    pub repository: String,
    pub tag: String,
}

impl std::fmt::Display for BaseImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// Path of the build script, from this crate's manifest directory.
pub fn build_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("image")
        .join("build.sh")
}

/// The image PostgreSQL and Redis containers run from, built on first use in this process.
/// Panics with the script's error when Docker or the image cannot be had: the checks cannot run
/// without them, and must not pass silently.
pub fn base_image() -> &'static BaseImage {
    static IMAGE: OnceLock<BaseImage> = OnceLock::new();
    IMAGE.get_or_init(|| built("base"))
}

/// The image that boots systemd as PID 1 (`build.sh systemd`), built on first use; panics as
/// [`base_image`].
pub fn systemd_image() -> &'static BaseImage {
    static IMAGE: OnceLock<BaseImage> = OnceLock::new();
    IMAGE.get_or_init(|| built("systemd"))
}

fn built(flavor: &str) -> BaseImage {
    match build(flavor) {
        Ok(image) => image,
        Err(e) => panic!(
            "stackr-checks needs Docker and its locally built image, and could not get them:\n{e:#}\n\
             On a fresh Debian machine, as root: apt-get install -y docker.io debootstrap \
             (the script starts dockerd itself)."
        ),
    }
}

fn build(flavor: &str) -> anyhow::Result<BaseImage> {
    let script = build_script();
    // stderr is inherited so the build's progress shows under `cargo test -- --nocapture` and in CI.
    let output = Command::new("bash")
        .arg(&script)
        .arg(flavor)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        anyhow::bail!("{} failed with {}", script.display(), output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reference = stdout.lines().last().unwrap_or("").trim();
    let (repository, tag) = reference.split_once(':').ok_or_else(|| {
        anyhow::anyhow!(
            "{} printed `{reference}`, not repository:tag",
            script.display()
        )
    })?;
    Ok(BaseImage {
        repository: repository.to_owned(),
        tag: tag.to_owned(),
    })
}
