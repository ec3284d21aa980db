//! What a well-formed name, address or identifier is, for everything administration writes:
//! each check returns the problem as a short sentence, or `None`. The limits keep every key
//! built from these values well inside DynamoDB's (2,048 bytes for a partition key, 1,024 for a
//! sort key) and match what Cognito itself accepts.

use tenant_lookup::domain::subject::{MAX_CLIENT_ID, MAX_EMAIL, MAX_SUB, MAX_USER_POOL_ID};

/// Tenant and tier ids: 1 to 64 of `A-Z a-z 0-9 . _ -` (they appear in keys, claims and logs).
pub const MAX_ID: usize = 64;
/// Cognito's limit on an identity provider's name.
pub const MAX_PROVIDER_NAME: usize = 32;
/// Cognito's limit on a group name (roles become `cognito:groups`).
pub const MAX_ROLE: usize = 128;
/// Cognito's limit on a resource server scope (`identifier/name`).
pub const MAX_SCOPE: usize = 256;
/// A tenant's display name.
pub const MAX_NAME: usize = 256;
/// An IAM role ARN.
pub const MAX_ARN: usize = 2048;
/// A domain name (RFC 1035, without the trailing dot).
pub const MAX_DOMAIN: usize = 253;

fn problem(text: String) -> Option<String> {
    Some(text)
}

/// A tenant or tier id.
pub fn id(what: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        return problem(format!("{what} is empty"));
    }
    if value.len() > MAX_ID
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return problem(format!(
            "{what} '{value}' must be 1 to {MAX_ID} letters, digits, '.', '_' or '-'"
        ));
    }
    None
}

/// A Cognito user pool id: `{region}_{id}`, at most 55 characters.
pub fn user_pool_id(value: &str) -> Option<String> {
    let shaped = value.split_once('_').is_some_and(|(region, rest)| {
        !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !shaped || value.len() > MAX_USER_POOL_ID {
        return problem(format!(
            "user pool id '{value}' is not a user pool id (like us-east-1_AbC123)"
        ));
    }
    None
}

/// An app client id: at most 128 letters, digits, `_`, `+`, `-` or `.` (Cognito's own are
/// `[\w+]+`).
pub fn client_id(value: &str) -> Option<String> {
    if value.is_empty()
        || value.len() > MAX_CLIENT_ID
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'))
    {
        return problem(format!("app client id '{value}' is not an app client id"));
    }
    None
}

/// An identity provider name as Cognito allows it (1 to 32 characters, no `_`: the username of
/// a federated user is `{provider}_{subject}`), without `#` or blank space.
pub fn provider_name(value: &str) -> Option<String> {
    if value.is_empty()
        || value.chars().count() > MAX_PROVIDER_NAME
        || value
            .chars()
            .any(|c| c == '_' || c == '#' || c.is_whitespace() || c.is_control())
    {
        return problem(format!(
            "identity provider name '{value}' must be 1 to {MAX_PROVIDER_NAME} characters \
             without '_', '#' or blank space"
        ));
    }
    None
}

/// A user's `sub`: at most 128 characters, no blank space or control characters.
pub fn sub(value: &str) -> Option<String> {
    if value.is_empty()
        || value.len() > MAX_SUB
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return problem(format!(
            "sub '{value}' must be 1 to {MAX_SUB} characters without blank space"
        ));
    }
    None
}

/// A domain name in lower case ASCII (punycode for international names): at least two labels
/// of letters, digits and inner hyphens, each at most 63 bytes, 253 in all.
pub fn domain(value: &str) -> Option<String> {
    let labels: Vec<&str> = value.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if value.len() > MAX_DOMAIN || labels.len() < 2 || !labels.iter().all(label_ok) {
        return problem(format!(
            "'{value}' is not a domain name (like acme.example, lower case, punycode for \
             international names)"
        ));
    }
    None
}

/// An email address as the triggers compare it (lower case): a local part of at most 64 bytes
/// without blank space, `@`, and a [`domain`]; at most 254 bytes in all (what an address can be).
/// The address itself is not repeated in the problem.
pub fn email(value: &str) -> Option<String> {
    let Some((local, domain_part)) = value.rsplit_once('@') else {
        return problem("an email address has no '@'".into());
    };
    if value.len() > MAX_EMAIL {
        return problem(format!("an email address is longer than {MAX_EMAIL} bytes"));
    }
    if local.is_empty()
        || local.len() > 64
        || local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == '#')
    {
        return problem("an email address has an invalid part before the '@'".into());
    }
    if domain(domain_part).is_some() {
        return problem(format!(
            "an email address has an invalid domain '{domain_part}'"
        ));
    }
    None
}

/// A role (a Cognito group name): 1 to 128 characters, no blank space or control characters.
pub fn role(value: &str) -> Option<String> {
    if value.is_empty()
        || value.chars().count() > MAX_ROLE
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return problem(format!(
            "role '{value}' must be 1 to {MAX_ROLE} characters without blank space"
        ));
    }
    None
}

/// An OAuth scope: no blank space (Cognito refuses it in `scopesToAdd`), at most 256.
pub fn scope(value: &str) -> Option<String> {
    if value.is_empty()
        || value.len() > MAX_SCOPE
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return problem(format!(
            "scope '{value}' is empty, too long or contains blank space"
        ));
    }
    None
}

/// A tenant's display name: not blank, at most 256 characters, no control characters.
pub fn name(value: &str) -> Option<String> {
    if value.trim().is_empty()
        || value.chars().count() > MAX_NAME
        || value.chars().any(char::is_control)
    {
        return problem(format!(
            "name must be 1 to {MAX_NAME} characters without control characters"
        ));
    }
    None
}

/// An IAM role ARN: `arn:{partition}:iam::{12-digit account}:role/{path/}{name}`.
pub fn iam_role_arn(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = value.len() <= MAX_ARN
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[1].chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|rest| {
            !rest.is_empty()
                && !rest.ends_with('/')
                && rest.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, '+' | '=' | ',' | '.' | '@' | '_' | '-' | '/')
                })
        });
    if !ok {
        return problem(format!(
            "iamRoleArn '{value}' is not an IAM role ARN (like arn:aws:iam::123456789012:role/name)"
        ));
    }
    None
}

/// Lower case and trimmed, as keys and comparisons use them.
pub fn normalize(value: &str) -> String {
    value.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pools_and_clients() {
        assert_eq!(id("tenant id", "acme-2.eu_west"), None);
        assert!(id("tenant id", "a#b").is_some());
        assert!(id("tenant id", "").is_some());
        assert!(id("tenant id", &"a".repeat(65)).is_some());
        assert_eq!(user_pool_id("us-east-1_Shared0Pool"), None);
        assert!(user_pool_id("us-east-1").is_some());
        assert!(user_pool_id("us-east-1_a#b").is_some());
        assert!(user_pool_id(&format!("us-east-1_{}", "a".repeat(50))).is_some());
        assert_eq!(client_id("7q2example0webclient0abcd12"), None);
        assert!(client_id("a b").is_some());
        assert_eq!(provider_name("AcmeSAML"), None);
        assert!(provider_name("Acme_SAML").is_some());
        assert!(provider_name(&"p".repeat(33)).is_some());
    }

    #[test]
    fn emails_and_domains() {
        assert_eq!(email("new.hire@acme.example"), None);
        assert_eq!(email("a+b@eu.acme.example"), None);
        for bad in [
            "no-at",
            "@acme.example",
            "a@",
            "a@localhost",
            "a b@acme.example",
            "a@Acme.example",
            "a@acme..example",
            "a@-acme.example",
        ] {
            assert!(email(bad).is_some(), "{bad}");
        }
        let long = format!("{}@{}.example", "a".repeat(64), "b".repeat(190));
        assert!(long.len() > 254);
        assert!(email(&long).unwrap().contains("254"));
        assert!(
            !email("secret@bad_domain").unwrap().contains("secret"),
            "the address is not repeated"
        );
        assert_eq!(domain("xn--bcher-kva.example"), None);
        assert!(domain("acme").is_some());
        assert!(domain(&format!("{}.example", "a".repeat(64))).is_some());
    }

    #[test]
    fn role_arns_roles_and_scopes() {
        assert_eq!(
            iam_role_arn("arn:aws:iam::123456789012:role/globex-users"),
            None
        );
        assert_eq!(
            iam_role_arn("arn:aws-us-gov:iam::123456789012:role/path/to/r@x"),
            None
        );
        for bad in [
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::1234:role/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:role/",
            "globex-users",
        ] {
            assert!(iam_role_arn(bad).is_some(), "{bad}");
        }
        assert_eq!(role("admin"), None);
        assert!(role("a b").is_some());
        assert_eq!(scope("reports/export"), None);
        assert!(scope("a b").is_some());
        assert!(name(" ").is_some());
        assert!(sub("a b").is_some());
    }
}
