//! What a trigger tells Cognito (and so the user) when it says no.

use std::fmt;

/// A short, stable code for every way a trigger can refuse. Cognito shows the user
/// `<Trigger> failed with error <CODE>: <text>.`, so the text is brief, carries no
/// internals and never reveals whether some other tenant exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenyCode {
    SignupNotAllowed,
    EmailDomainNotAllowed,
    EmailNotVerified,
    SeatLimitReached,
    TenantSuspended,
    TenantConflict,
    TenantAmbiguous,
    NoTenant,
    MembershipSuspended,
    DirectoryUnavailable,
    InvalidEvent,
}

impl DenyCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DenyCode::SignupNotAllowed => "SIGNUP_NOT_ALLOWED",
            DenyCode::EmailDomainNotAllowed => "EMAIL_DOMAIN_NOT_ALLOWED",
            DenyCode::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            DenyCode::SeatLimitReached => "SEAT_LIMIT_REACHED",
            DenyCode::TenantSuspended => "TENANT_SUSPENDED",
            DenyCode::TenantConflict => "TENANT_CONFLICT",
            DenyCode::TenantAmbiguous => "TENANT_AMBIGUOUS",
            DenyCode::NoTenant => "NO_TENANT",
            DenyCode::MembershipSuspended => "MEMBERSHIP_SUSPENDED",
            DenyCode::DirectoryUnavailable => "DIRECTORY_UNAVAILABLE",
            DenyCode::InvalidEvent => "INVALID_EVENT",
        }
    }

    /// User-visible text. No trailing period: Cognito appends one.
    pub fn text(self) -> &'static str {
        match self {
            DenyCode::SignupNotAllowed => "sign-up is not allowed for this account",
            DenyCode::EmailDomainNotAllowed => "this email domain is not allowed",
            DenyCode::EmailNotVerified => "verify your email address first",
            DenyCode::SeatLimitReached => "your organization has no seats left",
            DenyCode::TenantSuspended => "your organization's access is suspended",
            DenyCode::TenantConflict => "your organization could not be determined",
            DenyCode::TenantAmbiguous => "your account belongs to several organizations",
            DenyCode::NoTenant => "your account is not a member of an organization",
            DenyCode::MembershipSuspended => "your access to this organization is suspended",
            DenyCode::DirectoryUnavailable => "sign-in is temporarily unavailable, try again",
            DenyCode::InvalidEvent => "the request could not be processed",
        }
    }
}

impl fmt::Display for DenyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.as_str(), self.text())
    }
}

/// The error a handler returns. Displays as the user-visible message only; the
/// reason is for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerError {
    pub code: DenyCode,
    /// Why, for logs. Never shown to the user; never contains PII.
    pub reason: String,
}

impl TriggerError {
    pub fn new(code: DenyCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for TriggerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.code.fmt(f)
    }
}

impl std::error::Error for TriggerError {}

impl From<TriggerError> for lambda_runtime::Diagnostic {
    fn from(e: TriggerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.code.as_str().to_string(),
            error_message: e.code.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_visible_text_is_code_and_sentence_without_reason() {
        let e = TriggerError::new(DenyCode::SeatLimitReached, "tenant acme at 10/10");
        let d: lambda_runtime::Diagnostic = e.into();
        assert_eq!(d.error_type, "SEAT_LIMIT_REACHED");
        assert_eq!(
            d.error_message,
            "SEAT_LIMIT_REACHED: your organization has no seats left"
        );
        assert!(!d.error_message.contains("acme"));
        assert!(!d.error_message.ends_with('.'));
    }
}
