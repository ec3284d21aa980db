//! The handler path parse -> resolve -> render with a warm cache over the in-memory
//! directory, per event version and trigger. `make bench` prints the medians.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::Value;
use tenant_lookup::{
    CachedDirectory, Config, DirectoryDocument, InMemoryDirectory, ManualClock, PostConfirmation,
    PreSignUp, PreTokenGeneration, Trigger,
};

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn directory() -> CachedDirectory<InMemoryDirectory> {
    let text = std::fs::read_to_string(events_dir().join("seed.json")).unwrap();
    let contents = DirectoryDocument::from_json(&text)
        .unwrap()
        .validate(&BTreeSet::new(), 0)
        .unwrap();
    CachedDirectory::new(
        InMemoryDirectory::from_contents(contents),
        Duration::from_secs(3600),
        Arc::new(ManualClock::new(1_800_000_000)),
    )
}

fn config() -> Config {
    Config::from_lookup(|k| (k == "TENANT_TABLE").then(|| "bench".to_string())).unwrap()
}

fn event(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(events_dir().join(path)).unwrap()).unwrap()
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
    let pre_token = PreTokenGeneration::new(directory(), config());
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
    let pre_signup = PreSignUp::new(directory(), config());
    let mut e = event("pre-token-generation/v2-authentication-member.json");
    e["triggerSource"] = "PreSignUp_SignUp".into();
    e["version"] = "1".into();
    e["request"]["userAttributes"] = serde_json::json!({"email": "new.hire@acme.example"});
    e["response"] = serde_json::json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false});
    bench_trigger(c, "pre_signup/invitation", &pre_signup, e);
    let post_confirmation = PostConfirmation::new(directory(), config());
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
