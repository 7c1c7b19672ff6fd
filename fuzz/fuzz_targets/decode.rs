//! Any bytes through the event decoder, as every path (Kafka, files, HTTP) feeds it:
//! it must answer an event or a rejection, never panic, never overflow its stack, and
//! an accepted event's metered values must be ones the stores hold exactly.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tally_domain::Catalog;
use tally_ingest::decode::{DecodeRules, Decoder};

fn decoder() -> &'static Decoder {
    static DECODER: OnceLock<Decoder> = OnceLock::new();
    DECODER.get_or_init(|| {
        let text = include_str!("../../config/catalog.toml");
        let catalog = Catalog::from_toml_str(text, "config/catalog.toml").expect("the sample catalog loads");
        Decoder::new(&catalog, DecodeRules::default())
    })
}

fuzz_target!(|bytes: &[u8]| {
    // The clock of the seed corpus (tests/support/bad_events.rs, generated at this instant).
    let now = "2026-11-23T12:00:00Z".parse().expect("a time");
    match decoder().decode(bytes, now) {
        Ok(decoded) => {
            for (path, value) in &decoded.event.numbers {
                assert!(tally_store::storable(value), "{path} = {value} accepted but not storable");
            }
            assert!(!decoded.event.customer.as_str().chars().any(char::is_control));
        }
        Err(rejection) => assert!(!rejection.detail.is_empty(), "a rejection says why"),
    }
});
