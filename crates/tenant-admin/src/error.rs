//! What can go wrong in administration, sorted by what the operator should do about it (the
//! kinds map to `tenantctl`'s exit codes). Texts are short and stable and carry no SDK internals.

use std::fmt;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use tenant_lookup::DirectoryError;

/// What kind of failure, for the caller's exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is invalid (a document, an argument, a refused loosening): fix it and retry.
    Invalid,
    /// Something named does not exist (a tenant, a member, the table).
    NotFound,
    /// Something already exists, or the directory changed under the command (a condition
    /// failed, a race was lost, seats ran out).
    Conflict,
    /// The directory could not be reached, or refused the request.
    Unreachable,
    /// A stored item could not be read (malformed data).
    Malformed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// Every problem found, one sentence each.
    #[error("{}", describe(.0))]
    Invalid(Vec<String>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Malformed(String),
}

fn describe(problems: &[String]) -> String {
    match problems {
        [one] => one.clone(),
        // A heading and its indented items.
        [head, rest @ ..] if head.ends_with(':') && rest.iter().all(|p| p.starts_with("  ")) => {
            format!("{head}\n{}", rest.join("\n"))
        }
        many => format!("{} problems:\n  {}", many.len(), many.join("\n  ")),
    }
}

impl AdminError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdminError::Invalid(_) => ErrorKind::Invalid,
            AdminError::NotFound(_) => ErrorKind::NotFound,
            AdminError::Conflict(_) => ErrorKind::Conflict,
            AdminError::Unreachable(_) => ErrorKind::Unreachable,
            AdminError::Malformed(_) => ErrorKind::Malformed,
        }
    }

    pub fn invalid(problem: impl Into<String>) -> Self {
        AdminError::Invalid(vec![problem.into()])
    }

    /// Invalid when `problems` is not empty.
    pub fn check(problems: Vec<String>) -> Result<(), Self> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AdminError::Invalid(problems))
        }
    }
}

/// The read path's errors (shared with the triggers): an unavailable store is unreachable, with
/// the SDK's detail left out; a malformed item is named.
impl From<DirectoryError> for AdminError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Unavailable(_) => {
                AdminError::Unreachable("the directory is unreachable".into())
            }
            DirectoryError::Malformed(what) => AdminError::Malformed(what),
        }
    }
}

/// A short cause of a failed request: the service's error code, or what happened on the way.
fn cause<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    match e {
        SdkError::DispatchFailure(d) if d.is_timeout() => "timed out".into(),
        SdkError::DispatchFailure(d) if d.is_io() => "connection failed".into(),
        SdkError::DispatchFailure(_) => "could not send the request".into(),
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::ConstructionFailure(_) => "the request could not be built".into(),
        _ => e.code().unwrap_or("unexpected answer").to_string(),
    }
}

/// The error of a DynamoDB request `operation` on `table`, other than the ones the caller
/// handles itself (a failed condition, a cancelled transaction): a missing table is
/// [`AdminError::NotFound`], anything else [`AdminError::Unreachable`].
pub fn sdk<'a, E, R>(
    operation: &'static str,
    table: &'a str,
) -> impl FnOnce(SdkError<E, R>) -> AdminError + 'a
where
    E: ProvideErrorMetadata,
{
    move |e| {
        if e.code() == Some("ResourceNotFoundException") {
            return AdminError::NotFound(format!(
                "table '{table}' does not exist (tenantctl create-table creates it)"
            ));
        }
        AdminError::Unreachable(format!(
            "the directory is unreachable: {operation} on table '{table}': {}",
            cause(&e)
        ))
    }
}

/// `[a, b]`, or `none` for an empty list.
pub fn list(values: &[String]) -> String {
    if values.is_empty() {
        "none".into()
    } else {
        format!("[{}]", values.join(", "))
    }
}

/// A displayable optional value: the value, or `default`.
pub fn or<T: fmt::Display>(value: Option<T>, default: &str) -> String {
    value.map_or_else(|| default.to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_problem_is_one_line_and_several_are_listed() {
        assert_eq!(AdminError::invalid("bad").to_string(), "bad");
        assert_eq!(
            AdminError::Invalid(vec!["a".into(), "b".into()]).to_string(),
            "2 problems:\n  a\n  b"
        );
        assert_eq!(AdminError::check(vec![]), Ok(()));
    }

    #[test]
    fn store_errors_keep_no_sdk_detail() {
        let e: AdminError =
            DirectoryError::Unavailable("GetItem: dispatch failure: io error: refused".into())
                .into();
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(!e.to_string().contains("dispatch"), "{e}");
        let e: AdminError =
            DirectoryError::Malformed("tenant 'a': attribute 'tier' is missing".into()).into();
        assert_eq!(e.kind(), ErrorKind::Malformed);
    }
}
