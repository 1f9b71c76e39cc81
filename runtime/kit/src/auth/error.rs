/// Auth could not give a usable answer. Every variant makes the guard fail closed (503): an
/// identity we cannot verify is no identity.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("auth service unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("auth service answered HTTP {0}")]
    UnexpectedStatus(u16),
    #[error("auth service answered something unusable: {0}")]
    Garbage(String),
    /// The service has no credential, or auth refused it: a deployment mistake.
    #[error("auth refused this service's credential (check SERVICE_CREDENTIAL_FILE and AUTH_PROVISION_SERVICES)")]
    CredentialRejected,
}
