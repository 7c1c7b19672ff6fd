//! `tally rate` against the pricing contract's own example: the output is the
//! published JSON, field for field.

mod common;

use common::*;

#[test]
fn the_contract_example_prints_the_published_json() {
    let out = rate_ok(&fixture("spec_example.toml"), &fixture("spec_example_usage.json"));
    let expected: serde_json::Value = serde_json::from_str(
        r#"{
          "plan": "pro",
          "currency": "USD",
          "lines": [
            { "key": "platform", "kind": "fee", "amount": "49.00" },
            { "key": "gpt4o_input", "kind": "usage", "dimensions": {}, "quantity": "1500000", "billable_quantity": "0.5", "amount": "1.25",
              "tiers": [] }
          ],
          "unrated": [],
          "subtotal": "50.25",
          "total": "50.25"
        }"#,
    )
    .unwrap();
    assert_eq!(out, expected);
}

#[test]
fn usage_can_come_from_stdin() {
    let text = std::fs::read(fixture("spec_example_usage.json")).unwrap();
    let out = tally()
        .args(["rate", "--usage", "-", "--catalog"])
        .arg(fixture("spec_example.toml"))
        .write_stdin(text)
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total"], "50.25");
}

#[test]
fn tiers_group_by_and_unrated_rows_appear_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("u.json");
    std::fs::write(
        &usage,
        r#"{ "plan": "pro", "period": { "start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z" },
             "active": { "start": "2026-11-16T00:00:00Z", "end": "2026-12-01T00:00:00Z" },
             "usage": [
               { "meter": "gpu_seconds", "dimensions": { "gpu_type": "h100", "region": "eu-1" }, "quantity": "360000" },
               { "meter": "gpu_seconds", "dimensions": { "gpu_type": "h100", "region": "us-1" }, "quantity": "3600" },
               { "meter": "gpu_seconds", "dimensions": { "gpu_type": "l4", "region": "us-1" }, "quantity": 7200.5 },
               { "meter": "training_sessions", "dimensions": { "status": "completed", "gpu_type": "h100" }, "quantity": "11" }
             ] }"#,
    )
    .unwrap();
    let out = rate_ok(&sample_catalog(), &usage);
    let lines = out["lines"].as_array().unwrap();
    let line = |key: &str| lines.iter().find(|l| l["key"] == key).unwrap();
    // Half the month active: 49.00 / 2.
    assert_eq!(line("platform")["amount"], "24.50");
    // 363600 s = 101 h: 100 h at 2.99 + 1 h at 2.49.
    let h100 = line("h100_hours");
    assert_eq!(h100["billable_quantity"], "101");
    assert_eq!(h100["amount"], "301.49");
    assert_eq!(
        h100["tiers"],
        serde_json::json!([
            { "tier": 1, "up_to": "100", "quantity": "100", "unit_price": "2.99", "flat_price": "0", "amount": "299" },
            { "tier": 2, "up_to": "1000", "quantity": "1", "unit_price": "2.49", "flat_price": "0", "amount": "2.49" }
        ])
    );
    // 11 sessions: 2 started packages of 10 at 5.00.
    assert_eq!(line("training_sessions")["amount"], "10.00");
    assert_eq!(
        out["unrated"],
        serde_json::json!([{ "meter": "gpu_seconds", "dimensions": { "gpu_type": "l4", "region": "us-1" }, "quantity": "7200.5" }])
    );
    assert_eq!(out["subtotal"], "335.99");
    assert_eq!(out["total"], "335.99");
}

#[test]
fn group_by_lines_carry_their_group_and_the_commitment_line_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("u.json");
    std::fs::write(
        &usage,
        r#"{ "plan": "enterprise", "period": { "start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z" },
             "usage": [
               { "meter": "gpu_cost", "dimensions": { "gpu_type": "h100" }, "quantity": "1000.10" },
               { "meter": "gpu_cost", "dimensions": { "gpu_type": "a100" }, "quantity": "200" },
               { "meter": "llm_tokens", "dimensions": { "model": "gpt-4o", "direction": "input" }, "quantity": "20000000000" }
             ] }"#,
    )
    .unwrap();
    let out = rate_ok(&sample_catalog(), &usage);
    let lines = out["lines"].as_array().unwrap();
    let keys: Vec<(&str, &serde_json::Value)> =
        lines.iter().map(|l| (l["key"].as_str().unwrap(), &l["dimensions"])).collect();
    assert_eq!(keys[0].0, "support");
    // 20,000 million tokens: volume tier 3 (above 10,000) at 1.00 plus 100.00 flat.
    assert_eq!(lines[1]["dimensions"], serde_json::json!({ "model": "gpt-4o" }));
    assert_eq!(lines[1]["amount"], "20100.00");
    assert_eq!(lines[1]["tiers"][0]["tier"], 3);
    // Pass-through cost x 1.15, a100 before h100.
    assert_eq!(lines[2]["dimensions"], serde_json::json!({ "gpu_type": "a100" }));
    assert_eq!(lines[2]["amount"], "230.00");
    assert_eq!(lines[3]["amount"], "1150.12"); // 1150.115
    assert_eq!(lines[4]["key"], "training_hours");
    assert_eq!(out["subtotal"], "21980.12");
    assert!(lines.iter().all(|l| l["kind"] != "minimum_commitment"));
}
