//! Writes the fuzz targets' seed corpora (`fuzz/seeds/<target>/`) from the project's
//! own inputs: the bad-input corpus and valid events for the decoder, the catalogs for
//! the catalog loader, the configuration files for the settings loader, and requests
//! for the API. Run by `scripts/fuzz`; the seeds are checked in, so runs start from the
//! same inputs everywhere.
//!
//!   tally-fuzz-seeds DIR

use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("the seed directory");
    std::fs::write(dir.join(name), bytes).expect("a seed file");
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/seeds".into()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // The fuzz target decodes at this instant, the clock the corpus is built for.
    let now = "2026-11-23T12:00:00Z".parse().expect("a time");
    let decode = out.join("decode");
    // Seeds over the event size limit add nothing but slowness (the limit is checked first).
    for (i, bad) in tally_tests::bad_events(now).iter().enumerate().filter(|(_, b)| b.bytes.len() <= 64 * 1024) {
        write(&decode, &format!("bad-{i:02}"), &bad.bytes);
    }
    write(&decode, "good", &serde_json::to_vec(&tally_tests::good_event(now)).expect("JSON"));
    let catalogs = out.join("catalog");
    for (name, path) in [
        ("sample", "config/catalog.toml"),
        ("published", "crates/tally/tests/fixtures/published.toml"),
        ("spec", "crates/tally/tests/fixtures/spec_example.toml"),
    ] {
        write(&catalogs, name, &std::fs::read(root.join(path)).expect("a catalog"));
    }
    let settings = out.join("settings");
    for (name, path) in [("default", "config/default.toml"), ("kafka-clickhouse", "config/kafka-clickhouse.toml")] {
        write(&settings, name, &std::fs::read(root.join(path)).expect("a configuration"));
    }
    write(
        &settings,
        "tokens",
        b"[[http.tokens]]\nname = \"p\"\nrole = \"read\"\nsha256 = \"00\"\n[invoicer]\ngrace = \"2h\"\n",
    );
    // The API target: byte 0 picks the route and content type, byte 1 the role, then
    // path segments separated by '/', a newline, and the body.
    let api = out.join("api_requests");
    let event = serde_json::to_vec(&tally_tests::good_event(now)).expect("JSON");
    let requests: [(u8, u8, &[u8], Vec<u8>); 8] = [
        (0, 0, b"", event.clone()),
        (16, 0, b"", [b"[".as_slice(), &event, b"]"].concat()),
        (32, 0, b"", [event.as_slice(), b"\n", &event].concat()),
        (2, 2, b"", br#"{"id":"acme","name":"Acme","currency":"USD","timezone":"UTC"}"#.to_vec()),
        (7, 2, b"", br#"{"id":"s","customer":"acme","plan":"pro","start":"2026-11-01T00:00:00Z"}"#.to_vec()),
        (5, 1, b"acme/meter=llm_tokens&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z", Vec::new()),
        (13, 2, b"INV-000001", br#"{"reference":"ACH-1","amount":"10.00","received_on":"2026-11-05"}"#.to_vec()),
        (12, 1, b"INV-000001/1", Vec::new()),
    ];
    for (i, (route, who, path, body)) in requests.iter().enumerate() {
        write(&api, &format!("request-{i}"), &[&[*route, *who], *path, b"\n", body].concat());
    }
    println!("seeds written to {}", out.display());
}
