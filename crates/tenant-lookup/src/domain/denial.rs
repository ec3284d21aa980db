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
    /// The tenant the refusal concerns, when one was found: for the log line, never shown.
    pub tenant_id: Option<String>,
    /// That tenant was found from the user's email (an invitation or a `DOMAIN` route), not
    /// named by the pool, app client or IdP the user came through.
    pub found_by_email: bool,
}

impl Denial {
    pub fn new(code: DenyCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            tenant_id: None,
            found_by_email: false,
        }
    }

    /// The same refusal, about `tenant_id`, found from the email or not.
    pub fn about(mut self, tenant_id: &str, found_by_email: bool) -> Self {
        self.tenant_id = Some(tenant_id.to_string());
        self.found_by_email = found_by_email;
        self
    }

    /// The same refusal under another code; the original code leads the reason.
    pub fn recoded(self, code: DenyCode) -> Self {
        if self.code == code {
            return self;
        }
        Self {
            code,
            reason: format!("{}: {}", self.code.as_str(), self.reason),
            ..self
        }
    }

    /// For sign-up and confirmation, where the caller need not have an account: the specific
    /// code is shown only when the caller named the tenant (through the pool, the app client or
    /// the IdP). A tenant found from the email, a conflict, an ambiguity or "no tenant" would
    /// otherwise tell whoever types an address whether some tenant invited or routes it, and in
    /// what state that tenant is. The user sees `SIGNUP_NOT_ALLOWED`; the log keeps the real
    /// code at the head of the reason.
    pub fn masked_for_sign_up(self) -> Self {
        let reveals = matches!(
            self.code,
            DenyCode::TenantConflict | DenyCode::TenantAmbiguous | DenyCode::NoTenant
        ) || (self.found_by_email && self.code != DenyCode::DirectoryUnavailable);
        if reveals {
            self.recoded(DenyCode::SignupNotAllowed)
        } else {
            self
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
        let by_email = Denial::new(DenyCode::TenantSuspended, "why")
            .about("acme", true)
            .masked_for_sign_up();
        assert_eq!(by_email.code, DenyCode::SignupNotAllowed);
        assert_eq!(by_email.reason, "TENANT_SUSPENDED: why");
        assert_eq!(by_email.tenant_id.as_deref(), Some("acme"));
        let unavailable = Denial::new(DenyCode::DirectoryUnavailable, "why")
            .about("acme", true)
            .masked_for_sign_up();
        assert_eq!(unavailable.code, DenyCode::DirectoryUnavailable);
    }
}
