//! The fuzz corpus, replayed on stable: every recorded event of the function (the seeds
//! `make fuzz` starts from), every input of `fuzz/corpus/<target>/` (what the fuzzer kept for
//! reaching new code, merged back after each `make fuzz`) and every crash turned into a
//! regression input (`fuzz/regressions/<target>/`) go through
//! `test_support::invariants::check_raw_input`, exactly as the fuzz targets run them.
//! In a test binary of its own: it installs a global log subscriber.

use std::path::PathBuf;

use test_support::events::events_of;
use test_support::gen::Function;
use test_support::invariants::check_raw_input;
use test_support::workspace_root;

fn files(dir: PathBuf) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(function: Function) {
    let target = function.fuzz_target();
    let fuzz = workspace_root().join("fuzz");
    let corpus = files(fuzz.join("corpus").join(target));
    let regressions = files(fuzz.join("regressions").join(target));
    let events = events_of(function.name());
    for path in corpus.iter().chain(&regressions).chain(&events) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let replayed = std::panic::catch_unwind(|| check_raw_input(function, &data));
        assert!(replayed.is_ok(), "{} broke a promise", path.display());
    }
    assert!(!events.is_empty(), "no events for {}", function.name());
    println!(
        "{target}: {} corpus inputs, {} regressions, {} events replayed",
        corpus.len(),
        regressions.len(),
        events.len()
    );
}

#[test]
fn the_pre_signup_corpus_keeps_every_promise() {
    replay(Function::PreSignUp);
}

#[test]
fn the_post_confirmation_corpus_keeps_every_promise() {
    replay(Function::PostConfirmation);
}

#[test]
fn the_pre_token_generation_corpus_keeps_every_promise() {
    replay(Function::PreTokenGeneration);
}
