use std::fmt;
use std::str::FromStr;

/// How a base service authenticates requests (`authMiddleware` in stackr.config.json).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// Cookie forwarded to auth; any signed-in user passes.
    Standard,
    /// As standard, then 403 unless the user holds one of the allowed roles (admin always passes).
    RoleGated,
    /// As standard, plus device sessions (`x-device-session-token`) and first-call provisioning.
    Flexible,
    /// No authentication at all; the service has no protected routes.
    None,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Standard => "standard",
            Flavor::RoleGated => "role-gated",
            Flavor::Flexible => "flexible",
            Flavor::None => "none",
        }
    }

    /// Flexible services provision on the first authenticated call (DESIGN.md).
    pub fn provisions(self) -> bool {
        self == Flavor::Flexible
    }

    pub fn has_device_sessions(self) -> bool {
        self == Flavor::Flexible
    }

    pub fn needs_auth(self) -> bool {
        self != Flavor::None
    }
}

impl FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "standard" => Ok(Flavor::Standard),
            "role-gated" => Ok(Flavor::RoleGated),
            "flexible" => Ok(Flavor::Flexible),
            "none" => Ok(Flavor::None),
            other => Err(format!(
                "unknown auth flavor `{other}` (standard, role-gated, flexible, none)"
            )),
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
