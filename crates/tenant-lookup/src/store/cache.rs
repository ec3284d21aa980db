//! An in-process TTL cache in front of tenants, tiers and routes, and stale-if-error.
//!
//! Absent items are cached too (negative caching): most requests ask for a route that does
//! not exist (a shared pool has no `POOL` route), and that answer must not cost a request on
//! every sign-in. Memberships and invitations are never served from the cache while the store
//! answers: they change per user, and a warm pre-token invocation makes exactly the one
//! membership Query. Errors are not cached.
//!
//! **Stale-if-error** (`STALE_IF_ERROR_SECONDS`, off when zero): when the store is unavailable
//! (`DirectoryError::Unavailable`: unreachable, timing out, throttling, 5xx), an answer that
//! has outlived its TTL by less than the stale bound is served instead of failing, and so are a
//! user's last-known memberships (kept only for this, at most the stale bound old). Each such
//! answer logs a WARN line (`metric = "DirectoryStaleServed"`). Past the bound the error stands:
//! fail closed. A malformed item is DynamoDB answering, so it is never covered. As soon as the
//! store answers again its answer is used, so a suspension or a removed membership made during
//! the outage takes effect with the first successful read.
//!
//! Requests to a store that does not answer at all take the SDK's whole operation timeout
//! before they fail, and a pre-token invocation reads the memberships and routes, then the
//! tenant, then the tier. So that such an outage is ridden out within the handler's budget, a
//! cache that saw a read fail less than [`FAILURE_MEMORY`] ago serves an expired answer within
//! the bound without asking first. Memberships are always asked for (they are the probe), and
//! any successful read ends this at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::domain::model::{Invitation, Membership, Route, RouteKind, Tenant, Tier};
use crate::store::{Directory, DirectoryError, ProvisionOutcome, ProvisionRequest};

/// Entries kept per kind at most. Route keys can come from user input (email domains), so the
/// cache is bounded: when full, entries past any use go first, then everything.
const MAX_ENTRIES: usize = 10_000;

/// After a read failed with the store unavailable, for this long (unless a read succeeds
/// meanwhile) expired answers within the stale bound are served without asking the store:
/// longer than one invocation's budget, so that the reads of the invocation that met the
/// failure, and of the next, do not each wait out the SDK's timeouts.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(5);

struct TtlMap<K, V> {
    entries: Mutex<HashMap<K, (Instant, Option<V>)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlMap<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached answer for `key` (present or absent) and its age.
    fn lookup(&self, key: &K, now: Instant) -> Option<(Duration, Option<V>)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .map(|(at, v)| (now.saturating_duration_since(*at), v.clone()))
    }

    /// Stores an answer; `useful` is how long entries can be served at all (TTL plus the stale
    /// bound), which decides what goes first when the map is full.
    fn put(&self, key: K, value: Option<V>, now: Instant, useful: Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < useful);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now, value));
    }

    fn remove(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The head of a store error's text: the SDK's carries the whole raw response.
fn short(reason: &str) -> &str {
    let mut end = reason.len().min(160);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Why an answer was served stale (the `cause` field of the WARN line).
#[derive(Clone, Copy)]
enum StaleCause {
    /// This read failed.
    ReadFailed,
    /// A read failed less than [`FAILURE_MEMORY`] ago and none has succeeded since.
    FailedMomentsAgo,
}

pub struct CachedDirectory<D> {
    inner: D,
    ttl: Duration,
    stale_if_error: Duration,
    clock: Arc<dyn Clock>,
    tenants: TtlMap<String, Tenant>,
    tiers: TtlMap<String, Tier>,
    routes: TtlMap<(RouteKind, String), Route>,
    /// A user's memberships as the store last returned them (non-empty lists only), kept only
    /// while stale-if-error is on, and served only when the store fails.
    last_memberships: TtlMap<(String, String), Vec<Membership>>,
    /// When a read last failed with the store unavailable; cleared by any successful read.
    last_failure: Mutex<Option<Instant>>,
    stale_served: AtomicUsize,
}

impl<D: Directory> CachedDirectory<D> {
    /// A cache with stale-if-error off; see [`CachedDirectory::with_stale_if_error`].
    pub fn new(inner: D, ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            ttl,
            stale_if_error: Duration::ZERO,
            clock,
            tenants: TtlMap::new(),
            tiers: TtlMap::new(),
            routes: TtlMap::new(),
            last_memberships: TtlMap::new(),
            last_failure: Mutex::new(None),
            stale_served: AtomicUsize::new(0),
        }
    }

    /// Serves answers up to `bound` past their TTL (memberships: up to `bound` old) while the
    /// store is unavailable (`STALE_IF_ERROR_SECONDS`); zero turns it off.
    pub fn with_stale_if_error(mut self, bound: Duration) -> Self {
        self.stale_if_error = bound;
        self
    }

    /// Number of cached answers (present and absent) of tenants, tiers and routes, for tests
    /// and diagnostics.
    pub fn cached_entries(&self) -> usize {
        self.tenants.len() + self.tiers.len() + self.routes.len()
    }

    /// How many answers were served stale since this cache was built.
    pub fn stale_served(&self) -> usize {
        self.stale_served.load(Ordering::Relaxed)
    }

    fn read_succeeded(&self) {
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn read_failed(&self) {
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.clock.now());
    }

    fn failed_moments_ago(&self, now: Instant) -> bool {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| now.saturating_duration_since(at) < FAILURE_MEMORY)
    }

    /// Whether an answer of `age`, fresh for `ttl`, may still be served while the store fails.
    fn within_stale_bound(&self, age: Duration, ttl: Duration) -> bool {
        !self.stale_if_error.is_zero() && age < ttl + self.stale_if_error
    }

    /// The one place a stale answer is accounted for: a WARN line and the
    /// `DirectoryStaleServed` metric (dimension `kind`).
    fn served_stale(
        &self,
        kind: &'static str,
        age: Duration,
        ttl: Duration,
        cause: StaleCause,
        error: Option<&str>,
    ) {
        self.stale_served.fetch_add(1, Ordering::Relaxed);
        crate::telemetry::stale_served(kind);
        tracing::warn!(
            metric = "DirectoryStaleServed",
            kind,
            age_seconds = age.as_secs(),
            past_ttl_seconds = age.saturating_sub(ttl).as_secs(),
            bound_seconds = self.stale_if_error.as_secs(),
            cause = match cause {
                StaleCause::ReadFailed => "read-failed",
                StaleCause::FailedMomentsAgo => "failed-moments-ago",
            },
            reason = short(error.unwrap_or_default()),
            "directory unavailable: serving a cached answer past its TTL"
        );
    }

    /// A fresh cached answer for `key`, else `load`'s answer, cached (present or absent); while
    /// the store is unavailable, an expired answer within the stale bound.
    async fn through<K: Eq + Hash + Clone, V: Clone>(
        &self,
        kind: &'static str,
        map: &TtlMap<K, V>,
        key: K,
        load: impl std::future::Future<Output = Result<Option<V>, DirectoryError>>,
    ) -> Result<Option<V>, DirectoryError> {
        let now = self.clock.now();
        match map.lookup(&key, now) {
            Some((age, hit)) if age < self.ttl => return Ok(hit),
            Some((age, hit))
                if self.within_stale_bound(age, self.ttl) && self.failed_moments_ago(now) =>
            {
                self.served_stale(kind, age, self.ttl, StaleCause::FailedMomentsAgo, None);
                return Ok(hit);
            }
            _ => {}
        }
        match load.await {
            Ok(value) => {
                self.read_succeeded();
                map.put(
                    key,
                    value.clone(),
                    self.clock.now(),
                    self.ttl + self.stale_if_error,
                );
                Ok(value)
            }
            Err(DirectoryError::Unavailable(reason)) => {
                self.read_failed();
                let now = self.clock.now();
                match map.lookup(&key, now) {
                    // Refreshed by a concurrent read meanwhile.
                    Some((age, hit)) if age < self.ttl => Ok(hit),
                    Some((age, hit)) if self.within_stale_bound(age, self.ttl) => {
                        self.served_stale(
                            kind,
                            age,
                            self.ttl,
                            StaleCause::ReadFailed,
                            Some(&reason),
                        );
                        Ok(hit)
                    }
                    _ => Err(DirectoryError::Unavailable(reason)),
                }
            }
            Err(other) => Err(other),
        }
    }
}

impl<D: Directory> Directory for CachedDirectory<D> {
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, DirectoryError> {
        self.through(
            "tenant",
            &self.tenants,
            id.to_string(),
            self.inner.tenant(id),
        )
        .await
    }

    async fn tier(&self, id: &str) -> Result<Option<Tier>, DirectoryError> {
        self.through("tier", &self.tiers, id.to_string(), self.inner.tier(id))
            .await
    }

    async fn route(&self, kind: RouteKind, key: &str) -> Result<Option<Route>, DirectoryError> {
        self.through(
            "route",
            &self.routes,
            (kind, key.to_string()),
            self.inner.route(kind, key),
        )
        .await
    }

    /// Always asked of the store; its last non-empty answer is kept (with stale-if-error on)
    /// only to be served when the store fails.
    async fn memberships(
        &self,
        user_pool_id: &str,
        sub: &str,
    ) -> Result<Vec<Membership>, DirectoryError> {
        let key = (user_pool_id.to_string(), sub.to_string());
        match self.inner.memberships(user_pool_id, sub).await {
            Ok(memberships) => {
                self.read_succeeded();
                if !self.stale_if_error.is_zero() {
                    if memberships.is_empty() {
                        self.last_memberships.remove(&key);
                    } else {
                        self.last_memberships.put(
                            key,
                            Some(memberships.clone()),
                            self.clock.now(),
                            self.stale_if_error,
                        );
                    }
                }
                Ok(memberships)
            }
            Err(DirectoryError::Unavailable(reason)) => {
                self.read_failed();
                let now = self.clock.now();
                match self.last_memberships.lookup(&key, now) {
                    Some((age, Some(last))) if self.within_stale_bound(age, Duration::ZERO) => {
                        self.served_stale(
                            "memberships",
                            age,
                            Duration::ZERO,
                            StaleCause::ReadFailed,
                            Some(&reason),
                        );
                        Ok(last)
                    }
                    _ => Err(DirectoryError::Unavailable(reason)),
                }
            }
            Err(other) => Err(other),
        }
    }

    async fn invitations(
        &self,
        user_pool_id: &str,
        email: &str,
    ) -> Result<Vec<Invitation>, DirectoryError> {
        // Not kept, and a failure here does not count as the store failing (an email can make
        // a key DynamoDB refuses); an answer does show the store answering.
        let invitations = self.inner.invitations(user_pool_id, email).await?;
        self.read_succeeded();
        Ok(invitations)
    }

    async fn provision(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionOutcome, DirectoryError> {
        self.inner.provision(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::fixtures::{route, tenant, tier};
    use crate::store::memory::InMemoryDirectory;
    use crate::store::DirectoryContents;

    fn setup() -> (
        Arc<InMemoryDirectory>,
        Arc<ManualClock>,
        CachedDirectory<Arc<InMemoryDirectory>>,
    ) {
        let dir = Arc::new(InMemoryDirectory::from_contents(DirectoryContents {
            tiers: vec![tier("basic", &[])],
            tenants: vec![tenant("acme", "basic")],
            routes: vec![route(RouteKind::Pool, "us-east-1_A", "", "acme")],
            ..Default::default()
        }));
        let clock = Arc::new(ManualClock::new(1_000));
        let cached = CachedDirectory::new(dir.clone(), Duration::from_secs(60), clock.clone());
        (dir, clock, cached)
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn present_and_absent_answers_are_served_from_cache_within_the_ttl() {
        let (dir, clock, cached) = setup();
        block_on(async {
            assert!(cached.tenant("acme").await.unwrap().is_some());
            assert!(cached
                .route(RouteKind::Pool, "us-east-1_B")
                .await
                .unwrap()
                .is_none());
            assert_eq!(dir.requests().reads, 2);
            clock.advance(Duration::from_secs(59));
            assert!(cached.tenant("acme").await.unwrap().is_some());
            assert!(cached
                .route(RouteKind::Pool, "us-east-1_B")
                .await
                .unwrap()
                .is_none());
            assert_eq!(dir.requests().reads, 2, "served from cache");
        });
    }

    #[test]
    fn a_change_is_seen_once_the_ttl_has_passed() {
        let (dir, clock, cached) = setup();
        block_on(async {
            assert!(cached.tenant("acme").await.unwrap().unwrap().is_active());
            dir.update_tenant("acme", |t| {
                t.status = crate::domain::model::TenantStatus::Suspended
            });
            assert!(
                cached.tenant("acme").await.unwrap().unwrap().is_active(),
                "still cached"
            );
            clock.advance(Duration::from_secs(60));
            assert!(!cached.tenant("acme").await.unwrap().unwrap().is_active());
            assert_eq!(dir.requests().reads, 2);
        });
    }

    #[test]
    fn errors_are_not_cached() {
        let (dir, _clock, cached) = setup();
        block_on(async {
            dir.set_unavailable(true);
            assert!(cached.tenant("acme").await.is_err());
            dir.set_unavailable(false);
            assert!(cached.tenant("acme").await.unwrap().is_some());
        });
    }

    #[test]
    fn memberships_always_go_to_the_store() {
        let (dir, _clock, cached) = setup();
        block_on(async {
            cached.memberships("p", "s").await.unwrap();
            cached.memberships("p", "s").await.unwrap();
            assert_eq!(dir.requests().reads, 2);
        });
    }

    #[test]
    fn the_cache_stays_bounded_under_many_distinct_keys() {
        let (_dir, clock, cached) = setup();
        block_on(async {
            for i in 0..(MAX_ENTRIES + 10) {
                cached
                    .route(RouteKind::Domain, &format!("d{i}.example"))
                    .await
                    .unwrap();
            }
            assert!(cached.cached_entries() <= MAX_ENTRIES);
            clock.advance(Duration::from_secs(1));
        });
    }

    // --- stale-if-error ---

    const STALE: Duration = Duration::from_secs(300);

    fn stale_setup() -> (
        Arc<InMemoryDirectory>,
        Arc<ManualClock>,
        CachedDirectory<Arc<InMemoryDirectory>>,
    ) {
        let (dir, clock, cached) = setup();
        (dir, clock, cached.with_stale_if_error(STALE))
    }

    #[test]
    fn while_the_store_fails_expired_answers_are_served_up_to_the_bound_then_it_fails_closed() {
        let (dir, clock, cached) = stale_setup();
        let counts = crate::telemetry::test_recorder::Counts::default();
        metrics::with_local_recorder(&counts, || {
            block_on(async {
                assert!(cached.tenant("acme").await.unwrap().is_some());
                assert!(cached.tier("basic").await.unwrap().is_some());
                assert!(cached
                    .route(RouteKind::Pool, "us-east-1_B")
                    .await
                    .unwrap()
                    .is_none());
                dir.set_unavailable(true);
                clock.advance(Duration::from_secs(61));
                assert!(cached.tenant("acme").await.unwrap().is_some(), "stale");
                assert!(cached.tier("basic").await.unwrap().is_some(), "stale");
                assert!(
                    cached
                        .route(RouteKind::Pool, "us-east-1_B")
                        .await
                        .unwrap()
                        .is_none(),
                    "an absent answer is served stale too"
                );
                assert_eq!(cached.stale_served(), 3);
                // Just inside the bound: 60 s TTL + 300 s, measured from the read.
                clock.advance(Duration::from_secs(298));
                assert!(cached.tenant("acme").await.unwrap().is_some());
                clock.advance(Duration::from_secs(1));
                assert!(matches!(
                    cached.tenant("acme").await,
                    Err(DirectoryError::Unavailable(_))
                ));
                assert!(cached.route(RouteKind::Pool, "us-east-1_B").await.is_err());
                assert_eq!(cached.stale_served(), 4);
            })
        });
        assert_eq!(counts.get("DirectoryStaleServed{kind=tenant}"), 2);
        assert_eq!(counts.get("DirectoryStaleServed{kind=tier}"), 1);
        assert_eq!(counts.get("DirectoryStaleServed{kind=route}"), 1);
    }

    #[test]
    fn without_stale_if_error_an_expired_answer_is_never_served() {
        for cached in [
            |d, c| CachedDirectory::new(d, Duration::from_secs(60), c),
            |d, c| {
                CachedDirectory::new(d, Duration::from_secs(60), c)
                    .with_stale_if_error(Duration::ZERO)
            },
        ] {
            let (dir, clock, _) = setup();
            let cached: CachedDirectory<Arc<InMemoryDirectory>> =
                cached(dir.clone(), clock.clone());
            block_on(async {
                cached.tenant("acme").await.unwrap();
                dir.set_unavailable(true);
                clock.advance(Duration::from_secs(60));
                assert!(cached.tenant("acme").await.is_err());
                assert_eq!(cached.stale_served(), 0);
            });
        }
    }

    #[test]
    fn a_fresh_answer_never_comes_from_the_stale_store_while_the_store_answers() {
        let (dir, clock, cached) = stale_setup();
        block_on(async {
            cached.tenant("acme").await.unwrap();
            clock.advance(Duration::from_secs(61));
            dir.update_tenant("acme", |t| {
                t.status = crate::domain::model::TenantStatus::Suspended
            });
            assert!(
                !cached.tenant("acme").await.unwrap().unwrap().is_active(),
                "the store answered: its answer counts"
            );
            assert_eq!(cached.stale_served(), 0);
        });
    }

    #[test]
    fn a_suspension_made_during_an_outage_takes_effect_at_the_first_answer() {
        let (dir, clock, cached) = stale_setup();
        block_on(async {
            cached.tenant("acme").await.unwrap();
            dir.set_unavailable(true);
            clock.advance(Duration::from_secs(61));
            assert!(cached.tenant("acme").await.unwrap().unwrap().is_active());
            dir.update_tenant("acme", |t| {
                t.status = crate::domain::model::TenantStatus::Suspended
            });
            // The failure was a moment ago: the expired answer is served without asking...
            let reads = dir.requests().reads;
            assert!(cached.tenant("acme").await.unwrap().unwrap().is_active());
            assert_eq!(dir.requests().reads, reads, "not asked again");
            dir.set_unavailable(false);
            // ...until a read succeeds (the memberships Query every user token makes) or the
            // failure is FAILURE_MEMORY old.
            cached.memberships("p", "s").await.unwrap();
            assert!(!cached.tenant("acme").await.unwrap().unwrap().is_active());
        });
    }

    #[test]
    fn a_failure_is_remembered_for_a_few_seconds_only() {
        let (dir, clock, cached) = stale_setup();
        block_on(async {
            cached.tier("basic").await.unwrap();
            clock.advance(Duration::from_secs(61));
            dir.set_unavailable(true);
            assert!(cached.memberships("p", "s").await.is_err(), "nothing kept");
            dir.set_unavailable(false);
            dir.reset_requests();
            assert!(cached.tier("basic").await.unwrap().is_some());
            assert_eq!(
                dir.requests().reads,
                0,
                "served stale: the store failed just now"
            );
            assert_eq!(cached.stale_served(), 1);
            clock.advance(FAILURE_MEMORY);
            assert!(cached.tier("basic").await.unwrap().is_some());
            assert_eq!(
                dir.requests().reads,
                1,
                "asked again once the failure is old"
            );
            assert_eq!(cached.stale_served(), 1);
        });
    }

    #[test]
    fn last_known_memberships_are_served_only_while_the_store_fails_and_up_to_the_bound() {
        let dir = Arc::new(InMemoryDirectory::from_contents(DirectoryContents {
            tiers: vec![tier("basic", &[])],
            tenants: vec![tenant("acme", "basic")],
            members: vec![crate::fixtures::member("p", "s", "acme")],
            ..Default::default()
        }));
        let clock = Arc::new(ManualClock::new(1_000));
        let cached = CachedDirectory::new(dir.clone(), Duration::from_secs(60), clock.clone())
            .with_stale_if_error(STALE);
        block_on(async {
            assert_eq!(cached.memberships("p", "s").await.unwrap().len(), 1);
            assert_eq!(cached.memberships("p", "s").await.unwrap().len(), 1);
            assert_eq!(dir.requests().reads, 2, "asked every time while it answers");
            dir.set_unavailable(true);
            let served = cached.memberships("p", "s").await.unwrap();
            assert_eq!(served[0].tenant_id, "acme");
            assert_eq!(cached.stale_served(), 1);
            assert!(
                cached.memberships("p", "other").await.is_err(),
                "another user's memberships were never read"
            );
            clock.advance(STALE - Duration::from_secs(1));
            assert!(cached.memberships("p", "s").await.is_ok());
            clock.advance(Duration::from_secs(1));
            assert!(
                cached.memberships("p", "s").await.is_err(),
                "past the bound"
            );
        });
    }

    #[test]
    fn a_removed_membership_is_not_served_once_the_store_said_so() {
        let dir = Arc::new(InMemoryDirectory::from_contents(DirectoryContents {
            tenants: vec![tenant("acme", "basic")],
            members: vec![crate::fixtures::member("p", "s", "acme")],
            ..Default::default()
        }));
        let clock = Arc::new(ManualClock::new(1_000));
        let cached = CachedDirectory::new(dir.clone(), Duration::from_secs(60), clock.clone())
            .with_stale_if_error(STALE);
        block_on(async {
            assert_eq!(cached.memberships("p", "s").await.unwrap().len(), 1);
            dir.remove_member("p", "s", "acme");
            assert!(cached.memberships("p", "s").await.unwrap().is_empty());
            dir.set_unavailable(true);
            assert!(
                cached.memberships("p", "s").await.is_err(),
                "the removal was seen: nothing to serve"
            );
        });
    }

    #[test]
    fn memberships_are_not_kept_without_stale_if_error() {
        let (dir, _clock, cached) = setup();
        block_on(async {
            cached.memberships("p", "s").await.unwrap();
            dir.set_unavailable(true);
            assert!(cached.memberships("p", "s").await.is_err());
            assert_eq!(cached.last_memberships.len(), 0);
        });
    }

    /// A store whose every read answers with a malformed item.
    struct Malformed;

    impl Directory for Malformed {
        async fn tenant(&self, _: &str) -> Result<Option<Tenant>, DirectoryError> {
            Err(DirectoryError::Malformed(
                "tenant item without a tier".into(),
            ))
        }
        async fn tier(&self, _: &str) -> Result<Option<Tier>, DirectoryError> {
            Ok(None)
        }
        async fn route(&self, _: RouteKind, _: &str) -> Result<Option<Route>, DirectoryError> {
            Ok(None)
        }
        async fn memberships(&self, _: &str, _: &str) -> Result<Vec<Membership>, DirectoryError> {
            Err(DirectoryError::Malformed(
                "membership without a tenant".into(),
            ))
        }
        async fn invitations(&self, _: &str, _: &str) -> Result<Vec<Invitation>, DirectoryError> {
            Ok(Vec::new())
        }
        async fn provision(
            &self,
            _: &ProvisionRequest,
        ) -> Result<ProvisionOutcome, DirectoryError> {
            Err(DirectoryError::Unavailable("read-only".into()))
        }
    }

    #[test]
    fn a_malformed_item_is_an_answer_and_never_covered_by_a_stale_one() {
        let clock = Arc::new(ManualClock::new(1_000));
        let cached = CachedDirectory::new(Malformed, Duration::ZERO, clock.clone())
            .with_stale_if_error(STALE);
        // Seed the stale stores directly: as if earlier reads had succeeded.
        let now = clock.now();
        cached
            .tenants
            .put("acme".into(), Some(tenant("acme", "basic")), now, STALE);
        cached.last_memberships.put(
            ("p".into(), "s".into()),
            Some(vec![crate::fixtures::member("p", "s", "acme")]),
            now,
            STALE,
        );
        block_on(async {
            assert!(matches!(
                cached.tenant("acme").await,
                Err(DirectoryError::Malformed(_))
            ));
            assert!(matches!(
                cached.memberships("p", "s").await,
                Err(DirectoryError::Malformed(_))
            ));
            assert_eq!(cached.stale_served(), 0);
        });
    }
}
