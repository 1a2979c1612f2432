//! The data layer's one error type, logged once where it happens.

/// A failure of one of the two stores.
///
/// Converting a store's error into this type logs it, once: loaders convert
/// where their batch fails, and every field waiting on that batch receives a
/// clone of the already-logged error. Callers above (the schema) map it to a
/// client error without logging it again.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The relational store failed.
    #[error(transparent)]
    Sql(bistro_sql::Error),
    /// The key-value store failed.
    #[error(transparent)]
    Kv(bistro_kv::Error),
    /// A write running in a task of its own failed unexpectedly (it panicked).
    #[error("a detached write failed: {0}")]
    Task(String),
}

/// Results of the data layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the store was unreachable (as opposed to answering wrongly).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Sql(e) => e.is_unavailable(),
            Self::Kv(e) => e.is_unavailable(),
            Self::Task(_) => false,
        }
    }

    /// Which store failed, for messages: `"relational"` or `"key-value"`.
    pub fn store(&self) -> &'static str {
        match self {
            Self::Sql(_) => "relational",
            Self::Kv(_) => "key-value",
            Self::Task(_) => "none",
        }
    }

    fn logged(self) -> Self {
        bistro_metrics::store_failure(
            match self {
                Self::Kv(_) => "kv",
                _ => "sql",
            },
            self.is_unavailable(),
        );
        if self.is_unavailable() {
            tracing::warn!(error = %self, store = self.store(), "store unavailable");
        } else {
            tracing::error!(error = ?self, store = self.store(), "store error");
        }
        self
    }
}

impl From<bistro_sql::Error> for Error {
    fn from(error: bistro_sql::Error) -> Self {
        Self::Sql(error).logged()
    }
}

impl From<bistro_kv::Error> for Error {
    fn from(error: bistro_kv::Error) -> Self {
        Self::Kv(error).logged()
    }
}
