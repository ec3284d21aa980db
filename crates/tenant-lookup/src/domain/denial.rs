//! Why a trigger says no: one type for every refusal, from the event reader to the store.

use std::fmt;

use crate::store::DirectoryError;

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

/// A refusal: the code the user sees, and the reason only the log sees. Displays as the
/// user-visible message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}")]
pub struct Denial {
    pub code: DenyCode,
    /// Why, for logs. Never shown to the user; never contains PII.
    pub reason: String,
}

impl Denial {
    pub fn new(code: DenyCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// For sign-up and confirmation: a conflict, an ambiguity or "no tenant" would tell whoever
    /// types an address whether some tenant invited or routes it. The user sees
    /// `SIGNUP_NOT_ALLOWED`; the log keeps the real code at the head of the reason.
    pub fn masked_for_sign_up(self) -> Self {
        match self.code {
            DenyCode::TenantConflict | DenyCode::TenantAmbiguous | DenyCode::NoTenant => {
                Denial::new(
                    DenyCode::SignupNotAllowed,
                    format!("{}: {}", self.code.as_str(), self.reason),
                )
            }
            _ => self,
        }
    }
}

/// A directory that cannot answer, or answers with something inconsistent, fails closed.
impl From<DirectoryError> for Denial {
    fn from(e: DirectoryError) -> Self {
        Denial::new(DenyCode::DirectoryUnavailable, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_sees_the_code_and_sentence_never_the_reason() {
        let e = Denial::new(DenyCode::SeatLimitReached, "tenant acme at 10/10");
        assert_eq!(
            e.to_string(),
            "SEAT_LIMIT_REACHED: your organization has no seats left"
        );
        assert!(!e.to_string().contains("acme"));
        assert!(!e.to_string().ends_with('.'));
    }

    #[test]
    fn store_errors_fail_closed() {
        let e: Denial = DirectoryError::Unavailable("GetItem: timeout".into()).into();
        assert_eq!(e.code, DenyCode::DirectoryUnavailable);
        assert!(e.reason.contains("timeout"));
    }

    #[test]
    fn sign_up_masks_what_would_reveal_another_tenant() {
        for code in [
            DenyCode::TenantConflict,
            DenyCode::TenantAmbiguous,
            DenyCode::NoTenant,
        ] {
            let e = Denial::new(code, "why").masked_for_sign_up();
            assert_eq!(e.code, DenyCode::SignupNotAllowed);
            assert_eq!(e.reason, format!("{}: why", code.as_str()));
        }
        let kept = Denial::new(DenyCode::TenantSuspended, "why").masked_for_sign_up();
        assert_eq!(kept.code, DenyCode::TenantSuspended);
    }
}
