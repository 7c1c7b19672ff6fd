//! Any text as a configuration file over the defaults: the loader answers settings or
//! an error naming the key, never panics, and settings it accepts are within the bounds
//! the date arithmetic and the server rely on (what once passed and then panicked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    if let Ok(settings) = tally_config::parse(text) {
        let now = chrono::Utc::now();
        for span in [settings.invoicer.grace, settings.invoicer.late_window, settings.invoicer.payment_terms] {
            let delta = chrono::TimeDelta::from_std(span.get()).expect("a bounded duration fits a TimeDelta");
            assert!(now.checked_sub_signed(delta).is_some() && now.checked_add_signed(delta).is_some());
        }
        assert!(settings.http.max_body_bytes <= 1 << 30);
        let _ = settings.to_masked_toml();
    }
});
