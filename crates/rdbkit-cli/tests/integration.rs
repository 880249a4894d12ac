//! CLI integration tests: one binary, one module per concern.

mod analyze;
mod common;
mod consistency;
mod convert_servers;
mod diff;
mod export_csv;
mod export_fixtures;
mod export_rdbtools;
mod export_resp;
mod faults;
mod filter_split_merge;
mod import_day;
mod loader_differential;
mod loader_rules;
mod modules;
mod modules_servers;
mod report_html;
mod targets;
mod verify;

/// Keys in a fixture's JSON, expired ones included.
fn export_fixtures_expected_count(name: &str) -> u64 {
    let path = common::fixtures_dir().join(name).join("types.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    ["dbs", "expired"]
        .iter()
        .flat_map(|k| doc[*k].as_object().cloned().unwrap_or_default())
        .map(|(_, v)| v.as_array().map_or(0, |a| a.len() as u64))
        .sum()
}
