//! Raw bytes as Lambda would hand them to the `pre-token-generation` function: whatever parses as
//! JSON goes through the handler over `events/seed.json`, and every promise of
//! `test_support::invariants` is checked (a broken one panics: a finding).
#![no_main]

use libfuzzer_sys::fuzz_target;
use test_support::gen::Function;
use test_support::invariants::check_raw_input;

fuzz_target!(|data: &[u8]| check_raw_input(Function::PreTokenGeneration, data));
