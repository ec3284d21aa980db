//! Pre token generation: what the tokens of this user, or of this app client, carry.

use crate::domain::admission::AdmissionPath;
use crate::domain::claims::{CurrentGroups, GroupsMode, NoTenantPolicy, TokenClaims};
use crate::domain::denial::{Denial, DenyCode};
use crate::domain::model::{Membership, Tenant};
use crate::domain::provisioning::{admit_and_provision, Provisioned};
use crate::domain::resolve::{MemberLookup, TenantResolver};
use crate::domain::subject::Subject;
use crate::domain::Verdict;
use crate::store::Directory;

/// What the token request carries besides the subject.
#[derive(Clone, Copy, Debug)]
pub struct TokenRequest<'a> {
    /// Client credentials (machine to machine): no user, only the app client.
    pub machine: bool,
    pub groups: &'a CurrentGroups,
    /// The scopes already requested; `None` when the event has none (version 1).
    pub scopes: Option<&'a [String]>,
}

/// The deployment's token settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenPolicy {
    pub groups_mode: GroupsMode,
    pub no_tenant: NoTenantPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenDecision {
    pub claims: TokenClaims,
    pub verdict: Verdict,
}

pub async fn decide<D: Directory>(
    directory: &D,
    subject: &Subject,
    request: TokenRequest<'_>,
    policy: TokenPolicy,
    now_epoch_seconds: i64,
) -> Result<TokenDecision, Denial> {
    let resolver = TenantResolver::new(directory, now_epoch_seconds);
    let decided = if request.machine {
        machine(&resolver, subject).await
    } else {
        user(
            directory,
            &resolver,
            subject,
            request,
            policy,
            now_epoch_seconds,
        )
        .await
    };
    match decided {
        // Only "no tenant" is covered by the policy: a suspension, a conflict or a directory
        // failure is always denied.
        Err(d)
            if d.code == DenyCode::NoTenant
                && policy.no_tenant == NoTenantPolicy::IssueWithoutTenantClaims =>
        {
            Ok(TokenDecision {
                claims: TokenClaims::without_tenant(
                    request.groups,
                    policy.groups_mode,
                    request.machine,
                ),
                verdict: Verdict::new(None, "issue-without-tenant", "no-tenant-policy"),
            })
        }
        other => other,
    }
}

/// Client credentials: the app client's tenant claims, in the access token only.
async fn machine<D: Directory>(
    resolver: &TenantResolver<'_, D>,
    subject: &Subject,
) -> Result<TokenDecision, Denial> {
    let client_id = subject
        .client_id
        .as_deref()
        .ok_or_else(|| Denial::new(DenyCode::InvalidEvent, "no clientId"))?;
    let tenant = resolver.machine(&subject.user_pool_id, client_id).await?;
    Ok(TokenDecision {
        claims: TokenClaims::for_machine(&tenant),
        verdict: Verdict::new(Some(tenant.id), "issue", "client"),
    })
}

/// A user: their membership's tenant, tier, roles and scopes. A user without a membership whose
/// email is verified is provisioned first (an admin-created user, for whom post confirmation
/// never fires, or one whose post confirmation failed).
async fn user<D: Directory>(
    directory: &D,
    resolver: &TenantResolver<'_, D>,
    subject: &Subject,
    request: TokenRequest<'_>,
    policy: TokenPolicy,
    now_epoch_seconds: i64,
) -> Result<TokenDecision, Denial> {
    let (tenant, membership, decision, rule) = match resolver.member(subject).await? {
        MemberLookup::Member { tenant, membership } => (tenant, membership, "issue", "membership"),
        MemberLookup::NotMember if subject.email_verified => {
            first_token(directory, resolver, subject, now_epoch_seconds).await?
        }
        MemberLookup::NotMember => {
            return Err(Denial::new(
                DenyCode::NoTenant,
                "no membership, and the email is not verified for provisioning",
            ))
        }
    };
    let tier = directory.tier(&tenant.tier).await?;
    let claims = TokenClaims::for_member(
        &tenant,
        tier.as_ref(),
        &membership,
        request.groups,
        request.scopes,
        policy.groups_mode,
    );
    Ok(TokenDecision {
        claims,
        verdict: Verdict::new(Some(tenant.id), decision, rule),
    })
}

async fn first_token<D: Directory>(
    directory: &D,
    resolver: &TenantResolver<'_, D>,
    subject: &Subject,
    now_epoch_seconds: i64,
) -> Result<(Tenant, Membership, &'static str, &'static str), Denial> {
    let p = admit_and_provision(
        directory,
        subject,
        AdmissionPath::FirstToken,
        now_epoch_seconds,
    )
    .await
    .map_err(|d| match d.code {
        // A conflict, a suspension or a failing directory is denied as such; any other reason
        // not to place the user (no self sign-up, an unproven email, a removed member, a full
        // tenant) leaves a user without a tenant, whom NO_TENANT_POLICY governs.
        DenyCode::TenantConflict
        | DenyCode::TenantAmbiguous
        | DenyCode::TenantSuspended
        | DenyCode::DirectoryUnavailable
        | DenyCode::InvalidEvent => d,
        _ => d.recoded(DenyCode::NoTenant),
    })?;
    let tenant = p.admission.tenant;
    Ok(match p.provisioned {
        Provisioned::Created(m) => (
            tenant,
            m,
            "provision-and-issue",
            p.admission.source.as_str(),
        ),
        Provisioned::AlreadyMember(m) if m.tenant_id == tenant.id => {
            (tenant, m, "issue", "membership")
        }
        // A concurrent sign-in provisioned the user elsewhere first: the memberships decide,
        // as for any member.
        Provisioned::AlreadyMember(_) => match resolver.member(subject).await? {
            MemberLookup::Member { tenant, membership } => {
                (tenant, membership, "issue", "membership")
            }
            MemberLookup::NotMember => {
                return Err(Denial::new(
                    DenyCode::NoTenant,
                    "provisioned elsewhere, but no membership found",
                ))
            }
        },
    })
}
