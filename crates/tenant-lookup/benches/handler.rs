//! The handler path parse -> resolve -> render with a warm cache over the in-memory
//! directory, per event version and trigger. `make bench` prints the medians.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::Value;
use tenant_lookup::{
    CachedDirectory, InMemoryDirectory, ManualClock, PostConfirmation, PreSignUp,
    PreTokenGeneration, Trigger,
};
use test_support::events::event;
use test_support::handlers::{config, Parts};
use test_support::seeds::{contents, events_seed_text, NOW};

/// `events/seed.json` in memory behind a cache that stays warm for the whole run.
fn parts() -> Parts<InMemoryDirectory> {
    let clock = Arc::new(ManualClock::new(NOW));
    Parts {
        directory: CachedDirectory::new(
            InMemoryDirectory::from_contents(contents(&events_seed_text(), &[], 0)),
            Duration::from_secs(3600),
            clock.clone(),
        ),
        clock,
        config: config(&[]),
    }
}

fn bench_trigger<T: Trigger>(c: &mut Criterion, name: &str, trigger: &T, event: Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    // Warm the cache, as in a warm Lambda container, and prove the path succeeds.
    rt.block_on(trigger.handle(event.clone()))
        .expect("benchmark event must succeed");
    c.bench_function(name, |b| {
        b.iter(|| rt.block_on(trigger.handle(black_box(event.clone()))))
    });
}

fn handlers(c: &mut Criterion) {
    let p = parts();
    let pre_token = PreTokenGeneration::new(p.directory, p.clock, &p.config);
    for (name, file) in [
        ("pre_token/v1", "pre-token-generation/v1-hosted-auth.json"),
        (
            "pre_token/v2",
            "pre-token-generation/v2-authentication-member.json",
        ),
        (
            "pre_token/v3",
            "pre-token-generation/v3-authentication.json",
        ),
        (
            "pre_token/v3_client_credentials",
            "pre-token-generation/v3-client-credentials.json",
        ),
    ] {
        bench_trigger(c, name, &pre_token, event(file));
    }
    // Pre sign-up through an invitation: the invitation Query is the one uncached read.
    let p = parts();
    let pre_signup = PreSignUp::new(p.directory, p.clock);
    let mut e = event("pre-token-generation/v2-authentication-member.json");
    e["triggerSource"] = "PreSignUp_SignUp".into();
    e["version"] = "1".into();
    e["request"]["userAttributes"] = serde_json::json!({"email": "new.hire@acme.example"});
    e["response"] = serde_json::json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false});
    bench_trigger(c, "pre_signup/invitation", &pre_signup, e);
    let p = parts();
    let post_confirmation = PostConfirmation::new(p.directory, p.clock);
    let mut e = event("pre-token-generation/v1-hosted-auth.json");
    e["triggerSource"] = "PostConfirmation_ConfirmSignUp".into();
    e["response"] = serde_json::json!({});
    bench_trigger(c, "post_confirmation/already_member", &post_confirmation, e);
}

criterion_group! {
    name = benches;
    // A handler call is microseconds: short windows give stable medians on a 2-core machine.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = handlers
}
criterion_main!(benches);
