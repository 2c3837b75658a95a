//! Errors of the storage layer.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database URL must start with sqlite: or postgres:")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value no longer parses as its domain type.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The row was not in the state the caller expected (another worker won).
    #[error("order {0} was changed concurrently")]
    Conflict(String),
    /// A value that must be unique is already taken (e.g. a tenant name).
    #[error("{0} is already taken")]
    Taken(String),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<StoreError> for simgate_domain::entities::RepositoryError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Taken(what) => Self::Taken(what),
            other => Self::Failed(Box::new(other)),
        }
    }
}
