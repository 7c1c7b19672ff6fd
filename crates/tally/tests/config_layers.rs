//! One settings tree for every command (issue 19): a key set in the file, overridden by
//! the environment, overridden by a command's flag, and `tally config show` naming the
//! layer that set each value; the ingest rules are keys of that tree, checked against
//! the invoicer's late window, and enforced on the events `tally run` reads.

mod common;

use std::path::Path;

fn tally(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = common::tally();
    command.current_dir(dir).args(args).env_remove("TALLY_LOG");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TALLY__")) {
        command.env_remove(key);
    }
    command.envs(env.iter().copied()).output().unwrap()
}

/// The line of `tally config show` for `key`: (value, layer).
fn shown(dir: &Path, args: &[&str], env: &[(&str, &str)], key: &str) -> (String, String) {
    let out = tally(dir, &[&["config", "show"], args].concat(), env);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // What is shown is TOML: it loads back.
    toml::from_str::<toml::Value>(&text).unwrap_or_else(|e| panic!("config show is not TOML: {e}\n{text}"));
    let line = text.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap_or_else(|| panic!("{key}:\n{text}"));
    let (pair, layer) = line.split_once("  # ").unwrap();
    (pair.split_once(" = ").unwrap().1.trim().to_owned(), layer.to_owned())
}

#[test]
fn a_key_is_set_by_the_file_then_the_environment_then_a_flag_and_shown_with_its_layer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tally.toml"),
        "[store.clickhouse]\ndatabase = \"from_file\"\npassword = \"file-secret\"\n[invoicer]\ngrace = \"2h\"\n",
    )
    .unwrap();
    let key = "store.clickhouse.database";
    let env = [("TALLY__STORE__CLICKHOUSE__DATABASE", "from_env")];
    assert_eq!(shown(d, &[], &[], key), ("\"tally\"".into(), "default".into()));
    assert_eq!(shown(d, &["--config", "tally.toml"], &[], key), ("\"from_file\"".into(), "file tally.toml".into()));
    assert_eq!(
        shown(d, &["--config", "tally.toml"], &env, key),
        ("\"from_env\"".into(), "env TALLY__STORE__CLICKHOUSE__DATABASE".into())
    );
    assert_eq!(
        shown(d, &["--config", "tally.toml", "--database", "from_flag"], &env, key),
        ("\"from_flag\"".into(), "flag --database".into())
    );
    // Keys the layers do not touch stay at their layer; secrets are masked.
    let args = ["--config", "tally.toml"];
    assert_eq!(shown(d, &args, &env, "invoicer.grace"), ("\"2h\"".into(), "file tally.toml".into()));
    assert_eq!(shown(d, &args, &env, "invoicer.late_window"), ("\"35days\"".into(), "default".into()));
    assert_eq!(shown(d, &args, &env, "store.clickhouse.password"), ("\"********\"".into(), "file tally.toml".into()));
    let (kind, layer) = shown(d, &["--embedded", "x.db"], &[], "store.kind");
    assert_eq!((kind.as_str(), layer.as_str()), ("\"embedded\"", "flag --embedded"));

    // Every command reads the same tree: the store of the file and the environment is
    // the one `tally migrate` opens, with no store flag (the database name reaches
    // ClickHouse's address check first: an unreachable server, named).
    let env = [("TALLY__STORE__KIND", "clickhouse"), ("TALLY__STORE__CLICKHOUSE__URL", "http://127.0.0.1:9")];
    let out = tally(d, &["migrate", "--config", "tally.toml"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("ClickHouse at http://127.0.0.1:9, database from_file"), "{err}");
    let out = tally(d, &["migrate", "--config", "tally.toml", "--database", "from_flag"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database from_flag"), "{err}");
}

#[test]
fn the_ingest_rules_are_settings_and_an_invoicer_window_beyond_them_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("catalog.toml"), common::DAILY_CATALOG).unwrap();
    // An invoicer window longer than ingest's: late usage it looks for was refused.
    std::fs::write(d.join("long.toml"), "catalog = \"catalog.toml\"\n[invoicer]\nlate_window = \"400days\"\n").unwrap();
    let out = tally(d, &["config", "check", "--config", "long.toml"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("invoicer.late_window") && err.contains("ingest.late_window (35days)"), "{err}");

    // An event 100 days old: refused by default, stored once ingest.late_window covers it.
    let old = (chrono::Utc::now() - chrono::TimeDelta::days(100)).to_rfc3339();
    let event = format!(
        r#"{{"specversion":"1.0","id":"old-1","source":"rules","type":"llm.tokens","time":"{old}","subject":"acme","data":{{"tokens":7}}}}"#
    );
    let big = format!(
        r#"{{"specversion":"1.0","id":"big-1","source":"rules","type":"llm.tokens","time":"{}","subject":"acme","data":{{"tokens":1,"pad":"{}"}}}}"#,
        chrono::Utc::now().to_rfc3339(),
        "x".repeat(3000)
    );
    std::fs::write(d.join("events.ndjson"), format!("{event}\n{big}\n")).unwrap();
    for (name, rules, accepted) in [
        ("default.toml", "", 1.0),
        ("wide.toml", "late_window = \"400days\"\nmax_event_bytes = 2048\n", 1.0),
        ("history.toml", "late_window = \"400days\"\n", 2.0),
    ] {
        let metrics = common::free_port();
        let text = format!(
            "catalog = \"catalog.toml\"\n[store.embedded]\npath = \"{name}.db\"\n[ingest]\nfiles = [\"events.ndjson\"]\n{rules}\
             [http]\nenabled = false\n[invoicer]\nenabled = false\n[metrics]\nlisten = \"{metrics}\"\n"
        );
        std::fs::write(d.join(name), text).unwrap();
        let running = common::Running::start(d, name);
        common::wait_for_port(metrics);
        // Both lines read, and each either stored or refused: the stored count moves
        // after the batch is written, later than the read count (reading the two at
        // once raced on a loaded machine).
        common::wait_for("the file", || {
            let m = |name: &str| common::metric(metrics, name).unwrap_or(0.0);
            m("tally_ingest_messages_total") == 2.0
                && m("tally_ingest_events_total")
                    + m("tally_ingest_rejected_events_total{reason=\"time_too_old\"}")
                    + m("tally_ingest_rejected_events_total{reason=\"too_large\"}")
                    == 2.0
        });
        let events = common::metric(metrics, "tally_ingest_events_total");
        let too_old = common::metric(metrics, "tally_ingest_rejected_events_total{reason=\"time_too_old\"}");
        let too_large = common::metric(metrics, "tally_ingest_rejected_events_total{reason=\"too_large\"}");
        assert_eq!(events, Some(accepted), "{name}: events stored");
        match name {
            "default.toml" => assert_eq!((too_old, too_large), (Some(1.0), Some(0.0)), "{name}"),
            "wide.toml" => assert_eq!((too_old, too_large), (Some(0.0), Some(1.0)), "{name}"),
            _ => assert_eq!((too_old, too_large), (Some(0.0), Some(0.0)), "{name}"),
        }
        drop(running);
    }
}

/// A numbering pattern that cannot number is refused when the settings are read,
/// naming the key, before any invoice is closed.
#[test]
fn a_bad_numbering_pattern_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[invoicer]\nnumber_prefix = \"INV-{day}-{seq}\"\n").unwrap();
    let out = common::tally().args(["config", "check", "--config"]).arg(&file).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("invoicer.number_prefix") && err.contains("{day}"), "{err}");
}
