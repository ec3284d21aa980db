//! Generated inputs for the property tests (proptest strategies): directories built through the
//! public model ([`DirectoryContents`]), trigger events of every function, version and trigger
//! source (and unknown ones, explicit nulls, wrong JSON types, huge and Unicode values, deep
//! nesting), and the deployment settings a function may run with.
//!
//! Events and directories share a small vocabulary (pools, app clients, subs, emails, email
//! domains, providers, tenant ids) so that generated events mostly reach generated entries;
//! everything else is noise around it.
//!
//! Every value an event carries for a person (email, phone, names, a username that is not a
//! sub) contains [`PII_MARKER`], and no other generated string does: a log line containing a
//! marked string leaks PII (see [`crate::invariants::pii_leaks`]).

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};
use tenant_lookup::domain::model::{
    route_key, Invitation, Membership, MembershipStatus, Route, RouteKind, Tenant, TenantStatus,
    Tier,
};
use tenant_lookup::{Config, DirectoryContents};

use crate::seeds::NOW;

/// Marks every generated person-related value (see the module documentation).
pub const PII_MARKER: &str = "pii";

pub const POOLS: [&str; 3] = [
    "us-east-1_Gen0Shared",
    "us-east-1_Gen0Silo",
    "eu-west-1_Gen0Other",
];
pub const CLIENTS: [&str; 4] = [
    "gen0webclient",
    "gen0machine",
    "gen0otherclient",
    "gen0silo",
];
pub const SUBS: [&str; 5] = [
    "5ab00000-0000-4000-8000-000000000001",
    "5ab00000-0000-4000-8000-000000000002",
    "5ab00000-0000-4000-8000-000000000003",
    "5ab00000-0000-4000-8000-000000000004",
    "5ab00000-0000-4000-8000-000000000005",
];
pub const DOMAINS: [&str; 4] = [
    "alpha.example",
    "beta.example",
    "gamma.example",
    "free.example",
];
/// Email local parts (each carries the marker).
pub const LOCALS: [&str; 3] = ["pii.ann", "pii.bob", "pii-c"];
pub const PROVIDERS: [&str; 3] = ["AlphaSAML", "BetaOIDC", "Google"];
/// Tenant ids: the last one is referenced by routes, members and invitations but never created.
pub const TENANTS: [&str; 5] = ["t-alpha", "t-beta", "t-gamma", "t-delta", "t-ghost"];
/// Tier ids: the last one is named by tenants but never created.
pub const TIERS: [&str; 3] = ["basic", "premium", "missing-tier"];
pub const ROLES: [&str; 5] = ["admin", "member", "billing", "viewer", "x y"];
pub const SCOPES: [&str; 5] = [
    "reports/export",
    "analytics/read",
    "a b",
    "",
    "unicode/ñandú",
];

/// Every known trigger source of each function, and a few it must not mistake for its own.
pub const PRE_SIGNUP_SOURCES: [&str; 3] = [
    "PreSignUp_SignUp",
    "PreSignUp_AdminCreateUser",
    "PreSignUp_ExternalProvider",
];
pub const POST_CONFIRMATION_SOURCES: [&str; 2] = [
    "PostConfirmation_ConfirmSignUp",
    "PostConfirmation_ConfirmForgotPassword",
];
pub const PRE_TOKEN_SOURCES: [&str; 6] = [
    "TokenGeneration_HostedAuth",
    "TokenGeneration_Authentication",
    "TokenGeneration_NewPasswordChallenge",
    "TokenGeneration_AuthenticateDevice",
    "TokenGeneration_RefreshTokens",
    "TokenGeneration_ClientCredentials",
];

/// The three functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    PreSignUp,
    PostConfirmation,
    PreTokenGeneration,
}

impl Function {
    pub const ALL: [Function; 3] = [
        Function::PreSignUp,
        Function::PostConfirmation,
        Function::PreTokenGeneration,
    ];

    /// The folder of its events under `events/`.
    pub fn name(self) -> &'static str {
        match self {
            Function::PreSignUp => "pre-signup",
            Function::PostConfirmation => "post-confirmation",
            Function::PreTokenGeneration => "pre-token-generation",
        }
    }

    /// Its fuzz target (`fuzz/fuzz_targets/<target>.rs`).
    pub fn fuzz_target(self) -> &'static str {
        match self {
            Function::PreSignUp => "pre_signup",
            Function::PostConfirmation => "post_confirmation",
            Function::PreTokenGeneration => "pre_token_generation",
        }
    }

    pub fn sources(self) -> &'static [&'static str] {
        match self {
            Function::PreSignUp => &PRE_SIGNUP_SOURCES,
            Function::PostConfirmation => &POST_CONFIRMATION_SOURCES,
            Function::PreTokenGeneration => &PRE_TOKEN_SOURCES,
        }
    }
}

pub fn function() -> BoxedStrategy<Function> {
    select(Function::ALL.to_vec()).boxed()
}

// ------------------------------------------------------------------------------------------
// Strings and JSON noise
// ------------------------------------------------------------------------------------------

fn no_marker(s: String) -> String {
    if s.to_ascii_lowercase().contains(PII_MARKER) {
        s.replace(['p', 'P'], "q")
    } else {
        s
    }
}

/// Strings a field should never have to hold: empty, blank, control characters, Unicode of
/// every width, key separators, look-alikes of JSON words, and (rarely) very long ones.
pub fn nasty_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(vec![
            "", " ", "\t\n", "\u{0}", "null", "true", "1", "#", "@", "_", "a@", "@b", "a_b",
            "\u{202e}rtl", "e\u{301}", "\u{1F600}", "\u{FFFF}", "\u{10FFFF}", "Ω≈ç√",
            "TENANT#x", "USER#a#b", "us-east-1_Gen0Shared#AlphaSAML", "\\", "\"",
        ])
        .prop_map(str::to_string),
        4 => "\\PC{0,24}",
        2 => "[a-zA-Z0-9_.@#:-]{0,40}",
        1 => (1usize..=65_536, select(vec!['a', 'é', '\u{1F600}', '#', '\u{0}']))
            .prop_map(|(n, c)| std::iter::repeat_n(c, n).collect()),
    ]
    .prop_map(no_marker)
    .boxed()
}

/// Arbitrary JSON, a few levels deep.
pub fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map("[a-zA-Z]{0,12}".prop_map(no_marker), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Arrays and objects nested `depth` deep (serde_json parses at most 128 levels, so no event
/// Lambda hands over is deeper).
pub fn deep_json() -> BoxedStrategy<Value> {
    (1usize..=120, any::<bool>())
        .prop_map(|(depth, arrays)| {
            let mut v = Value::Null;
            for i in 0..depth {
                v = if arrays || i % 2 == 0 {
                    Value::Array(vec![v])
                } else {
                    json!({ "k": v })
                };
            }
            v
        })
        .boxed()
}

/// Something in place of a field: any JSON type, nesting, odd strings.
pub fn junk() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => Just(Value::Null),
        3 => any_json(),
        1 => deep_json(),
        1 => Just(json!([])),
        1 => Just(json!({})),
        1 => Just(json!(1e300)),
        1 => Just(json!(-1)),
    ]
    .boxed()
}

/// `value` most of the time (40 in 43), else junk, else absent (`None`).
fn mostly(value: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        40 => value.prop_map(Some),
        2 => junk().prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn text(values: &'static [&'static str]) -> BoxedStrategy<Value> {
    select(values.to_vec()).prop_map(s).boxed()
}

// ------------------------------------------------------------------------------------------
// Directories
// ------------------------------------------------------------------------------------------

/// How big generated entries get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sizes {
    /// The vocabulary, a few roles and scopes of everyday length.
    Everyday,
    /// Inside the limits `docs/reliability.md` states for the token budget: ids and tiers up
    /// to 64 bytes, 10 roles of 32, 10 scopes of 64, an IAM role ARN of 128.
    Documented,
    /// Anything: ids, roles and scopes up to kilobytes, hundreds of roles and scopes.
    Unbounded,
}

/// A string of `len` bytes built from `stem`, cut or padded (ASCII).
fn sized(stem: &str, len: usize) -> String {
    let mut out: String = stem.chars().filter(char::is_ascii).collect();
    while out.len() < len {
        out.push('x');
    }
    out.truncate(len.max(1));
    out
}

/// Roles or scopes: `documented` is the longest one of [`Sizes::Documented`].
fn sized_list(
    sizes: Sizes,
    pool: &'static [&'static str],
    documented: usize,
) -> BoxedStrategy<Vec<String>> {
    match sizes {
        Sizes::Everyday => vec(select(pool.to_vec()).prop_map(str::to_string), 0..4).boxed(),
        Sizes::Documented => vec(
            (select(pool.to_vec()), 1usize..=documented).prop_map(|(s, n)| sized(s, n)),
            0..=10,
        )
        .boxed(),
        Sizes::Unbounded => vec(
            prop_oneof![
                4 => select(pool.to_vec()).prop_map(str::to_string),
                2 => "\\PC{1,40}".prop_map(no_marker),
                1 => (select(pool.to_vec()), 1usize..=2_048).prop_map(|(s, n)| sized(s, n)),
            ],
            0..120,
        )
        .boxed(),
    }
}

/// The names a directory uses: tenant and tier ids (the vocabulary, or longer).
#[derive(Clone, Debug)]
struct Names {
    tenants: Vec<String>,
    tiers: Vec<String>,
}

fn names(sizes: Sizes) -> BoxedStrategy<Names> {
    let len = match sizes {
        Sizes::Everyday => {
            return Just(Names {
                tenants: TENANTS.iter().map(|t| t.to_string()).collect(),
                tiers: TIERS.iter().map(|t| t.to_string()).collect(),
            })
            .boxed()
        }
        Sizes::Documented => 64,
        // A custom attribute (the tenant attribute) holds at most 2,048 characters.
        Sizes::Unbounded => 2_048,
    };
    (
        vec(1usize..=len, TENANTS.len()),
        vec(1usize..=len, TIERS.len()),
    )
        .prop_map(|(t, r)| Names {
            // Each id keeps its stem, so ids stay distinct; the length varies.
            tenants: TENANTS
                .iter()
                .zip(t)
                .map(|(s, n)| sized(s, n.max(s.len())))
                .collect(),
            tiers: TIERS
                .iter()
                .zip(r)
                .map(|(s, n)| sized(s, n.max(s.len())))
                .collect(),
        })
        .boxed()
}

// The one place each model type is built: a field added to the model is added here.

fn tier(id: String, scopes: Vec<String>) -> Tier {
    Tier { id, scopes }
}

#[allow(clippy::too_many_arguments)]
fn tenant(
    id: String,
    tier: String,
    active: bool,
    self_sign_up: bool,
    allowed_email_domains: Vec<String>,
    max_users: Option<u32>,
    default_role: String,
    iam_role_arn: Option<String>,
) -> Tenant {
    Tenant {
        name: format!("Tenant {id}"),
        id,
        tier,
        status: if active {
            TenantStatus::Active
        } else {
            TenantStatus::Suspended
        },
        self_sign_up,
        allowed_email_domains,
        max_users,
        user_count: 0,
        default_role,
        iam_role_arn,
    }
}

/// A route as the store holds it, scoped to `pool`; an `IDP` route that trusts email vouches
/// within `email_domains` (or, when empty, its tenant's allowed domains).
pub fn route(
    kind: RouteKind,
    key: &str,
    pool: &str,
    tenant_id: String,
    trust_email: bool,
    email_domains: Vec<String>,
) -> Route {
    let idp = kind == RouteKind::Idp;
    Route {
        kind,
        key: route_key(kind, pool, key),
        tenant_id,
        trust_email: trust_email && idp,
        email_domains: if idp { email_domains } else { Vec::new() },
    }
}

fn membership(
    pool: &str,
    sub: &str,
    tenant_id: String,
    roles: Vec<String>,
    active: bool,
) -> Membership {
    Membership {
        user_pool_id: pool.to_string(),
        sub: sub.to_string(),
        tenant_id,
        roles,
        status: if active {
            MembershipStatus::Active
        } else {
            MembershipStatus::Suspended
        },
        source: "import".into(),
        created_at: NOW - 86_400,
    }
}

fn invitation(
    pool: &str,
    email: String,
    tenant_id: String,
    roles: Vec<String>,
    expires_at: Option<i64>,
) -> Invitation {
    Invitation {
        user_pool_id: pool.to_string(),
        email,
        tenant_id,
        roles,
        invited_by: None,
        expires_at,
        used_by: None,
        used_at: None,
    }
}

/// An email of the vocabulary (lower case, as stored).
fn vocab_email() -> BoxedStrategy<String> {
    (select(LOCALS.to_vec()), select(DOMAINS.to_vec()))
        .prop_map(|(l, d)| format!("{l}@{d}"))
        .boxed()
}

/// A directory: some of the vocabulary's tenants (the last never), tiers, routes of every kind
/// (some naming missing tenants), memberships (several per user, suspended ones) and
/// invitations (expired ones); `userCount` is each tenant's number of memberships.
pub fn directory(sizes: Sizes) -> BoxedStrategy<DirectoryContents> {
    let arn = match sizes {
        Sizes::Everyday => Just("arn:aws:iam::123456789012:role/tenant".to_string()).boxed(),
        Sizes::Documented => (32usize..=128)
            .prop_map(|n| sized("arn:aws:iam::123456789012:role/tenant-", n))
            .boxed(),
        Sizes::Unbounded => (32usize..=2_048)
            .prop_map(|n| sized("arn:aws:iam::123456789012:role/tenant-", n))
            .boxed(),
    };
    let tiers = vec((any::<bool>(), sized_list(sizes, &SCOPES, 64)), 2);
    let tenants = vec(
        (
            prop::bool::weighted(0.85),
            0..TIERS.len(),
            prop::bool::weighted(0.8),
            any::<bool>(),
            vec(select(DOMAINS.to_vec()), 0..2),
            prop::option::weighted(0.4, 0u32..4),
            select(vec!["member", "viewer", ""]),
            prop::option::weighted(0.3, arn),
        ),
        TENANTS.len() - 1,
    );
    let kinds = select(vec![
        RouteKind::Pool,
        RouteKind::Client,
        RouteKind::Domain,
        RouteKind::Idp,
    ]);
    let routes = vec(
        (
            kinds,
            0usize..4,
            select(POOLS.to_vec()),
            0..TENANTS.len(),
            any::<bool>(),
        ),
        0..9,
    );
    let members = vec(
        (
            select(POOLS.to_vec()),
            select(SUBS.to_vec()),
            0..TENANTS.len(),
            sized_list(sizes, &ROLES, 32),
            prop::bool::weighted(0.85),
        ),
        0..8,
    );
    let invitations = vec(
        (
            select(POOLS.to_vec()),
            vocab_email(),
            0..TENANTS.len(),
            sized_list(sizes, &ROLES, 32),
            prop::option::of((-3i64..3).prop_map(|d| NOW + d * 86_400)),
        ),
        0..6,
    );
    (names(sizes), tiers, tenants, routes, members, invitations)
        .prop_map(|(names, tiers, tenants, routes, members, invitations)| {
            let tenant_id = |i: usize| names.tenants[i].clone();
            let mut c = DirectoryContents {
                tiers: tiers
                    .into_iter()
                    .enumerate()
                    .filter(|(_, (present, _))| *present)
                    .map(|(i, (_, scopes))| tier(names.tiers[i].clone(), scopes))
                    .collect(),
                tenants: tenants
                    .into_iter()
                    .enumerate()
                    .filter(|(_, t)| t.0)
                    .map(
                        |(i, (_, tier_i, active, self_sign_up, domains, max, role, arn))| {
                            tenant(
                                tenant_id(i),
                                names.tiers[tier_i].clone(),
                                active,
                                self_sign_up,
                                domains.into_iter().map(str::to_string).collect(),
                                max,
                                role.to_string(),
                                arn,
                            )
                        },
                    )
                    .collect(),
                routes: routes
                    .into_iter()
                    .map(|(kind, k, pool, t, trust)| {
                        let key = match kind {
                            RouteKind::Pool => POOLS[k % POOLS.len()],
                            RouteKind::Client => CLIENTS[k % CLIENTS.len()],
                            RouteKind::Domain => DOMAINS[k % DOMAINS.len()],
                            RouteKind::Idp => PROVIDERS[k % PROVIDERS.len()],
                        };
                        // Half the trusting IdPs name a domain they vouch for.
                        let vouches = if k % 2 == 0 {
                            vec![DOMAINS[k / 2 % DOMAINS.len()].to_string()]
                        } else {
                            Vec::new()
                        };
                        route(kind, key, pool, tenant_id(t), trust, vouches)
                    })
                    .collect(),
                members: members
                    .into_iter()
                    .map(|(pool, sub, t, roles, active)| {
                        membership(pool, sub, tenant_id(t), roles, active)
                    })
                    .collect(),
                invitations: invitations
                    .into_iter()
                    .map(|(pool, email, t, roles, expires)| {
                        invitation(pool, email, tenant_id(t), roles, expires)
                    })
                    .collect(),
            };
            // One entry per key, as in the store (the later one wins).
            dedup_by(&mut c.routes, |r| (r.kind, r.key.clone()));
            dedup_by(&mut c.members, |m| {
                (m.user_pool_id.clone(), m.sub.clone(), m.tenant_id.clone())
            });
            dedup_by(&mut c.invitations, |i| {
                (i.user_pool_id.clone(), i.email.clone(), i.tenant_id.clone())
            });
            c.count_users();
            c
        })
        .boxed()
}

fn dedup_by<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen = std::collections::BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        seen.insert(key(item), i);
    }
    let keep: std::collections::BTreeSet<usize> = seen.into_values().collect();
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
}

// ------------------------------------------------------------------------------------------
// Deployment settings
// ------------------------------------------------------------------------------------------

/// A valid configuration: groups mode, no-tenant policy and claim names vary. (Names a
/// deployment may not configure are [`crate::invariants::is_forbidden_claim`]'s business,
/// and `Config`'s to refuse.)
pub fn config() -> BoxedStrategy<Config> {
    (
        select(vec!["replace", "merge", "off"]),
        select(vec!["deny", "issue-without-tenant-claims"]),
        select(vec!["tenantId", "tid", "org_id"]),
        select(vec!["tenantTier", "plan"]),
        select(vec!["custom:tenantId", "custom:org"]),
    )
        .prop_map(|(groups, policy, id, tier, attribute)| {
            let vars = [
                ("TENANT_TABLE", "generated"),
                ("GROUPS_MODE", groups),
                ("NO_TENANT_POLICY", policy),
                ("TENANT_ID_CLAIM", id),
                ("TENANT_TIER_CLAIM", tier),
                ("TENANT_ATTRIBUTE", attribute),
            ];
            Config::from_lookup(|k| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
            .expect("generated configurations are valid")
        })
        .boxed()
}

// ------------------------------------------------------------------------------------------
// Events
// ------------------------------------------------------------------------------------------

fn version() -> BoxedStrategy<Value> {
    prop_oneof![
        24 => select(vec![json!("1"), json!("2"), json!("3"), json!(1), json!(2), json!(3)]),
        3 => select(vec![
            json!("4"), json!("1.0"), json!(2.0), json!("3.00"), json!(" 2 "), json!("1.5"),
            json!("x"), json!(-1), json!(0), json!("0"), json!(4294967296u64), json!(1e300),
            json!(true), json!([2]), json!({"v": 2}), Value::Null,
        ]),
        1 => junk(),
    ]
    .boxed()
}

fn trigger_source(function: Function) -> BoxedStrategy<Value> {
    let every: Vec<&str> = PRE_SIGNUP_SOURCES
        .iter()
        .chain(&POST_CONFIRMATION_SOURCES)
        .chain(&PRE_TOKEN_SOURCES)
        .copied()
        .collect();
    prop_oneof![
        12 => select(function.sources().to_vec()).prop_map(s),
        2 => select(every).prop_map(s),
        1 => select(vec![
            "TokenGeneration_SomethingNew", "PreSignUp_Future", "PostConfirmation_",
            "tokengeneration_clientcredentials", "TokenGeneration_ClientCredentials ",
            "CustomMessage_SignUp", "",
        ])
        .prop_map(s),
        1 => junk(),
    ]
    .boxed()
}

/// A person's value: always carries the marker.
fn pii(kind: &'static str) -> BoxedStrategy<String> {
    (
        0u32..1000,
        select(vec![
            "",
            " ",
            "Ünïcödé ",
            "\u{1F600}",
            "O'Brien \"Q\" ",
            "\\",
            "\u{202e}",
        ]),
    )
        .prop_map(move |(n, extra)| format!("{extra}{PII_MARKER}-{kind}-{n}"))
        .boxed()
}

fn email() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => vocab_email().prop_map(Value::String),
        3 => (vocab_email(), select(vec![" ", "", "\t"]), any::<bool>()).prop_map(
            |(e, pad, upper)| {
                let e = if upper { e.to_uppercase() } else { e };
                Value::String(format!("{pad}{e}{pad}"))
            }
        ),
        2 => (pii("mail"), select(DOMAINS.to_vec()), select(vec!["@", "@@", "@x@"]))
            .prop_map(|(l, d, at)| Value::String(format!("{l}{at}{d}"))),
        1 => pii("noat").prop_map(Value::String),
        1 => (pii("huge"), 1usize..4_000)
            .prop_map(|(l, n)| Value::String(format!("{l}{}@{}", "x".repeat(n), "a".repeat(n)))),
    ]
    .boxed()
}

fn user_name() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => select(SUBS.to_vec()).prop_map(s),
        4 => (select(PROVIDERS.to_vec()), pii("idp"), any::<bool>()).prop_map(|(p, u, lower)| {
            let p = if lower { p.to_ascii_lowercase() } else { p.to_string() };
            Value::String(format!("{p}_{u}"))
        }),
        2 => pii("user").prop_map(Value::String),
        1 => pii("_lead").prop_map(|u| Value::String(format!("_{u}"))),
        1 => (pii("huge"), 1usize..10_000).prop_map(|(u, n)| Value::String(u + &"y".repeat(n))),
    ]
    .boxed()
}

fn email_verified() -> BoxedStrategy<Value> {
    select(vec![
        json!("true"),
        json!("true"),
        json!("false"),
        json!(true),
        json!(false),
        json!("TRUE"),
        json!(" true"),
        json!(1),
        Value::Null,
        json!(["true"]),
    ])
    .boxed()
}

fn user_attributes() -> BoxedStrategy<Value> {
    let sub = prop_oneof![
        20 => select(SUBS.to_vec()).prop_map(s),
        1 => Just(json!(5)),
        1 => nasty_string().prop_map(Value::String),
    ];
    (
        mostly(sub),
        mostly(email()),
        mostly(email_verified()),
        prop::option::of(select(vec![
            "CONFIRMED",
            "EXTERNAL_PROVIDER",
            "UNCONFIRMED",
            "FORCE_CHANGE_PASSWORD",
            "external_provider",
        ])),
        prop::option::of(text(&TENANTS)),
        prop::option::of(pii("name")),
        prop::option::of(pii("phone").prop_map(|p| format!("+1555{p}"))),
        prop::option::of(pii("given")),
        prop::option::of(prop_oneof![
            Just(json!(
                "[{\"providerName\":\"AlphaSAML\",\"providerType\":\"SAML\"}]"
            )),
            junk(),
        ]),
        btree_map("[a-z:_]{1,16}".prop_map(no_marker), junk(), 0..3),
    )
        .prop_map(
            |(sub, email, verified, status, custom, name, phone, given, identities, extra)| {
                let mut m = Map::new();
                for (k, v) in extra {
                    m.insert(k, v);
                }
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v);
                    }
                };
                put("sub", sub);
                put("email", email);
                put("email_verified", verified);
                put("cognito:user_status", status.map(s));
                put("custom:tenantId", custom);
                put("name", name.map(Value::String));
                put("phone_number", phone.map(Value::String));
                put("given_name", given.map(Value::String));
                put("identities", identities);
                Value::Object(m)
            },
        )
        .boxed()
}

fn group_names() -> BoxedStrategy<Value> {
    vec(
        prop_oneof![
            6 => select(ROLES.to_vec()).prop_map(s),
            2 => select(POOLS.to_vec()).prop_map(|p| Value::String(format!("{p}_AlphaSAML"))),
            1 => Just(json!("")),
            1 => junk(),
        ],
        0..5,
    )
    .prop_map(Value::Array)
    .boxed()
}

fn group_configuration() -> BoxedStrategy<Value> {
    let role = prop_oneof![
        Just(json!("arn:aws:iam::123456789012:role/request")),
        Just(json!("arn:aws:iam::123456789012:role/tenant")),
        junk(),
    ];
    let preferred = prop_oneof![
        Just(Value::Null),
        Just(json!("arn:aws:iam::123456789012:role/request")),
        Just(json!(["arn:aws:iam::123456789012:role/request"])),
        junk(),
    ];
    prop_oneof![
        8 => (
            mostly(group_names()),
            mostly(vec(role, 0..3).prop_map(Value::Array)),
            mostly(preferred),
        )
            .prop_map(|(groups, roles, preferred)| {
                let mut m = Map::new();
                for (k, v) in [
                    ("groupsToOverride", groups),
                    ("iamRolesToOverride", roles),
                    ("preferredRole", preferred),
                ] {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v);
                    }
                }
                Value::Object(m)
            }),
        1 => junk(),
    ]
    .boxed()
}

fn scopes() -> BoxedStrategy<Value> {
    vec(
        prop_oneof![
            4 => select(vec!["openid", "email", "profile", "aws.cognito.signin.user.admin"]).prop_map(s),
            2 => select(SCOPES.to_vec()).prop_map(s),
            1 => junk(),
        ],
        0..5,
    )
    .prop_map(Value::Array)
    .boxed()
}

fn caller_context() -> BoxedStrategy<Value> {
    prop_oneof![
        10 => mostly(text(&CLIENTS)).prop_map(|client| {
            let mut m = Map::new();
            m.insert("awsSdkVersion".into(), json!("aws-sdk-unknown-unknown"));
            if let Some(c) = client {
                m.insert("clientId".into(), c);
            }
            Value::Object(m)
        }),
        1 => junk(),
    ]
    .boxed()
}

fn response(function: Function) -> BoxedStrategy<Value> {
    let usual = match function {
        Function::PreSignUp => {
            json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false})
        }
        Function::PostConfirmation => json!({}),
        Function::PreTokenGeneration => json!({"claimsAndScopeOverrideDetails": null}),
    };
    prop_oneof![
        6 => Just(usual),
        1 => Just(json!({"claimsOverrideDetails": {"claimsToAddOrOverride": {"tenantId": "t-alpha"}}})),
        1 => Just(json!({"autoConfirmUser": true, "autoVerifyEmail": true, "autoVerifyPhone": true})),
        1 => junk(),
    ]
    .boxed()
}

fn request() -> BoxedStrategy<Value> {
    (
        mostly(user_attributes()),
        prop::option::of(group_configuration()),
        prop::option::of(scopes()),
        prop::option::of(prop_oneof![
            Just(json!({"tenantId": "t-alpha", "role": "admin"})),
            junk()
        ]),
        prop::option::of(prop_oneof![Just(json!({"tenantId": "t-beta"})), junk()]),
    )
        .prop_map(|(attributes, groups, scopes, metadata, validation)| {
            let mut m = Map::new();
            for (k, v) in [
                ("userAttributes", attributes),
                ("groupConfiguration", groups),
                ("scopes", scopes),
                ("clientMetadata", metadata),
                ("validationData", validation),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            Value::Object(m)
        })
        .boxed()
}

/// Where a mutation lands.
const PATHS: [&str; 16] = [
    "",
    "/version",
    "/triggerSource",
    "/userPoolId",
    "/userName",
    "/callerContext",
    "/callerContext/clientId",
    "/request",
    "/request/userAttributes",
    "/request/userAttributes/sub",
    "/request/userAttributes/email",
    "/request/userAttributes/email_verified",
    "/request/groupConfiguration",
    "/request/groupConfiguration/groupsToOverride",
    "/request/scopes",
    "/response",
];

#[derive(Clone, Debug)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    AddKey(usize, String, Value),
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        4 => (1..PATHS.len(), junk()).prop_map(|(p, v)| Mutation::Replace(p, v)),
        // Rarely the whole event: not an object at all.
        1 => junk().prop_map(|v| Mutation::Replace(0, v)),
        3 => (1..PATHS.len()).prop_map(Mutation::Remove),
        2 => (0..PATHS.len(), "[a-zA-Z]{1,12}".prop_map(no_marker), junk())
            .prop_map(|(p, k, v)| Mutation::AddKey(p, k, v)),
    ]
    .boxed()
}

fn apply(mut event: Value, mutation: Mutation) -> Value {
    match mutation {
        Mutation::Replace(0, v) => return v,
        Mutation::Replace(p, v) => {
            if let Some(slot) = event.pointer_mut(PATHS[p]) {
                *slot = v;
            }
        }
        Mutation::Remove(p) => {
            let (parent, key) = PATHS[p].rsplit_once('/').unwrap_or_default();
            if let Some(Value::Object(m)) = event.pointer_mut(parent) {
                m.remove(key);
            }
        }
        Mutation::AddKey(p, k, v) => {
            if let Some(Value::Object(m)) = event.pointer_mut(PATHS[p]) {
                m.insert(k, v);
            }
        }
    }
    event
}

/// A trigger event for `function`: the usual shape most of the time, each field sometimes of
/// another type, null, absent, huge or odd, and a few mutations anywhere on top.
pub fn event(function: Function) -> BoxedStrategy<Value> {
    let base = (
        mostly(version()),
        mostly(trigger_source(function)),
        mostly(prop_oneof![12 => text(&POOLS), 1 => nasty_string().prop_map(Value::String)]),
        mostly(user_name()),
        mostly(caller_context()),
        mostly(request()),
        mostly(response(function)),
        prop::option::of(text(&["us-east-1", "eu-west-1"])),
    )
        .prop_map(
            |(version, source, pool, user_name, caller, request, response, region)| {
                let mut m = Map::new();
                for (k, v) in [
                    ("version", version),
                    ("triggerSource", source),
                    ("region", region),
                    ("userPoolId", pool),
                    ("userName", user_name),
                    ("callerContext", caller),
                    ("request", request),
                    ("response", response),
                ] {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v);
                    }
                }
                Value::Object(m)
            },
        );
    (
        base,
        prop_oneof![4 => Just(Vec::new()), 1 => vec(mutation(), 1..4)],
    )
        .prop_map(|(event, mutations)| mutations.into_iter().fold(event, apply))
        .boxed()
}

/// A function and an event for it.
pub fn any_event() -> BoxedStrategy<(Function, Value)> {
    function()
        .prop_flat_map(|f| event(f).prop_map(move |e| (f, e)))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn generated_directories_use_every_kind_of_entry() {
        let mut runner = TestRunner::deterministic();
        let strategy = directory(Sizes::Everyday);
        let (mut routes, mut members, mut invitations, mut ghosts) = (0, 0, 0, 0);
        for _ in 0..200 {
            let c = strategy.new_tree(&mut runner).unwrap().current();
            routes += c.routes.len();
            members += c.members.len();
            invitations += c.invitations.len();
            ghosts += c.routes.iter().filter(|r| r.tenant_id == "t-ghost").count();
            for t in &c.tenants {
                let n = c.members.iter().filter(|m| m.tenant_id == t.id).count();
                assert_eq!(t.user_count as usize, n);
            }
        }
        assert!(routes > 200 && members > 200 && invitations > 100 && ghosts > 0);
    }

    #[test]
    fn only_person_values_carry_the_marker() {
        let mut runner = TestRunner::deterministic();
        let strategy = event(Function::PreTokenGeneration);
        let mut marked = 0;
        for _ in 0..300 {
            let e = strategy.new_tree(&mut runner).unwrap().current();
            let attrs = &e["request"]["userAttributes"];
            for id in [
                &e["userPoolId"],
                &attrs["sub"],
                &e["callerContext"]["clientId"],
            ] {
                if let Some(s) = id.as_str() {
                    assert!(!s.contains(PII_MARKER), "{s}");
                }
            }
            if attrs["name"]
                .as_str()
                .is_some_and(|n| n.contains(PII_MARKER))
            {
                marked += 1;
            }
        }
        assert!(marked > 50, "{marked}");
    }

    #[test]
    fn mutations_reach_nested_fields_and_the_root() {
        let e = json!({"request": {"userAttributes": {"sub": "s"}}});
        let removed = apply(e.clone(), Mutation::Remove(9));
        assert_eq!(removed, json!({"request": {"userAttributes": {}}}));
        assert_eq!(apply(e.clone(), Mutation::Replace(0, json!(7))), json!(7));
        let added = apply(e, Mutation::AddKey(8, "k".into(), json!(null)));
        assert_eq!(added["request"]["userAttributes"]["k"], Value::Null);
    }
}
