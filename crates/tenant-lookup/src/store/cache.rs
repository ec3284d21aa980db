//! An in-process TTL cache in front of tenants, tiers and routes.
//!
//! Absent items are cached too (negative caching): most requests ask for a route that does
//! not exist (a shared pool has no `POOL` route), and that answer must not cost a request on
//! every sign-in. Memberships and invitations are never cached: they change per user and a
//! warm pre-token invocation makes exactly the one membership Query. Errors are not cached.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::domain::model::{Invitation, Membership, Route, RouteKind, Tenant, Tier};
use crate::store::{Directory, DirectoryError, ProvisionOutcome, ProvisionRequest};

/// Entries kept per kind at most. Route keys can come from user input (email domains), so the
/// cache is bounded: when full, expired entries go first, then everything.
const MAX_ENTRIES: usize = 10_000;

struct TtlMap<K, V> {
    entries: Mutex<HashMap<K, (Instant, Option<V>)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlMap<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(answer)` when a fresh answer (present or absent) is cached.
    fn get(&self, key: &K, now: Instant, ttl: Duration) -> Option<Option<V>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((at, v)) if now.saturating_duration_since(*at) < ttl => Some(v.clone()),
            _ => None,
        }
    }

    fn put(&self, key: K, value: Option<V>, now: Instant, ttl: Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now, value));
    }

    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

pub struct CachedDirectory<D> {
    inner: D,
    ttl: Duration,
    clock: Arc<dyn Clock>,
    tenants: TtlMap<String, Tenant>,
    tiers: TtlMap<String, Tier>,
    routes: TtlMap<(RouteKind, String), Route>,
}

impl<D: Directory> CachedDirectory<D> {
    pub fn new(inner: D, ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            ttl,
            clock,
            tenants: TtlMap::new(),
            tiers: TtlMap::new(),
            routes: TtlMap::new(),
        }
    }

    /// Number of cached answers (present and absent), for tests and diagnostics.
    pub fn cached_entries(&self) -> usize {
        self.tenants.len() + self.tiers.len() + self.routes.len()
    }
}

impl<D: Directory> CachedDirectory<D> {
    /// A fresh cached answer for `key`, else `load`'s answer, cached (present or absent).
    async fn through<K: Eq + Hash + Clone, V: Clone>(
        &self,
        map: &TtlMap<K, V>,
        key: K,
        load: impl std::future::Future<Output = Result<Option<V>, DirectoryError>>,
    ) -> Result<Option<V>, DirectoryError> {
        if let Some(hit) = map.get(&key, self.clock.now(), self.ttl) {
            return Ok(hit);
        }
        let value = load.await?;
        map.put(key, value.clone(), self.clock.now(), self.ttl);
        Ok(value)
    }
}

impl<D: Directory> Directory for CachedDirectory<D> {
    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, DirectoryError> {
        self.through(&self.tenants, id.to_string(), self.inner.tenant(id))
            .await
    }

    async fn tier(&self, id: &str) -> Result<Option<Tier>, DirectoryError> {
        self.through(&self.tiers, id.to_string(), self.inner.tier(id))
            .await
    }

    async fn route(&self, kind: RouteKind, key: &str) -> Result<Option<Route>, DirectoryError> {
        self.through(
            &self.routes,
            (kind, key.to_string()),
            self.inner.route(kind, key),
        )
        .await
    }

    async fn memberships(
        &self,
        user_pool_id: &str,
        sub: &str,
    ) -> Result<Vec<Membership>, DirectoryError> {
        self.inner.memberships(user_pool_id, sub).await
    }

    async fn invitations(
        &self,
        user_pool_id: &str,
        email: &str,
    ) -> Result<Vec<Invitation>, DirectoryError> {
        self.inner.invitations(user_pool_id, email).await
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
}
