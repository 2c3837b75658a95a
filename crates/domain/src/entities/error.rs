//! How storage fails, as the layers above it see it.

/// Why storage did not answer. The service reports it to clients as an
/// internal error, except where a taken name is the client's to fix; it
/// lives here so that the service can name it without depending on the
/// store behind it.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// A value that must be unique is already taken (e.g. a tenant name).
    #[error("{0} is already taken")]
    Taken(String),
    /// A sale's hold did not fit in the tenant's available amount: nothing
    /// was written.
    #[error("insufficient funds: {0}")]
    InsufficientFunds(crate::Shortfall),
    /// Any other storage failure: nothing the caller can fix.
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}
