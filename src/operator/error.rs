//! Why a reconcile failed. Every variant ends up in a Degraded condition, a Warning event,
//! a log line and the error counter, and the object is retried with backoff.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{action}: {source}")]
    Kube {
        action: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("the object has no namespace")]
    NoNamespace,
}

impl Error {
    /// A CamelCase reason for conditions, events and the error metric's label.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube { .. } => "ApiError",
            Error::Encode { .. } => "EncodeError",
            Error::NoNamespace => "NoNamespace",
        }
    }

    pub fn kube(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let action = action.into();
        move |source| Error::Kube { action, source }
    }
}
