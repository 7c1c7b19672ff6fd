//! Any text as a price catalog: the loader answers a catalog or errors naming the
//! field, never panics; a catalog it accepts validates its plans' prices.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_domain::Catalog;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    match Catalog::from_toml_str(text, "fuzz.toml") {
        Ok(catalog) => {
            for plan in catalog.plans() {
                assert!(catalog.plan(plan.key.as_str()).is_some());
            }
        }
        Err(err) => assert!(!err.lines().is_empty(), "an error names what is wrong"),
    }
});
