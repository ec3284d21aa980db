//! Logs never carry personal data: every recorded event under `events/` through its function
//! over `events/seed.json`, under each configuration the fuzz targets use, with every log level
//! captured; no email, phone number, name or username of the event may appear in a line.
//! (Generated events are checked the same way by `properties.rs`.) In a test binary of its
//! own: tracing caches call-site interest globally.

use test_support::events::{events_of, read_json};
use test_support::gen::Function;
use test_support::invariants::{leaked, person_values, raw_input_configs, Handlers};
use test_support::seeds::{contents, events_seed_text, NOW};

#[tokio::test]
async fn no_log_line_carries_a_person_value_of_any_recorded_event() {
    let (mut events, mut values, mut lines) = (0, 0, 0);
    let mut failures = Vec::new();
    for function in Function::ALL {
        for path in events_of(function.name()) {
            let event = read_json(&path);
            let person = person_values(&event);
            for config in raw_input_configs() {
                let handlers = Handlers::new(config, contents(&events_seed_text(), &[], NOW));
                match handlers.run_logged(function, &event).await {
                    Err(broken) => failures.push(format!("{}: {broken}", path.display())),
                    Ok((_, logs)) => {
                        lines += logs.lines().count();
                        let found = leaked(&person, &logs);
                        if !found.is_empty() {
                            failures.push(format!("{}: {found:?} in\n{logs}", path.display()));
                        }
                    }
                }
            }
            events += 1;
            values += person.len();
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        events > 90 && values > 100,
        "{events} events, {values} values"
    );
    println!("{events} events, {values} person values, {lines} log lines: no value in any line");
}
