//! `tally config show` and `tally config check`: the configuration every command
//! reads, each value beside the layer that set it, secrets masked.

use std::process::ExitCode;

use clap::Subcommand;

use super::settings::ConfigArgs;

/// `tally config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration, one key per line with the layer that set it
    /// (default, file, env VAR or flag), secrets masked. The output is TOML: it loads as
    /// a --config file.
    Show(ConfigArgs),
    /// Check the configuration, the catalog and the files it names (tokens file, TLS
    /// certificate and key, Kafka secrets) and say so; exits non-zero, naming the key,
    /// when it is invalid.
    Check(ConfigArgs),
}

/// Runs `tally config ...`.
pub fn run(command: &ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Show(args) => print!("{}", render(&args.explain()?)),
        ConfigCommand::Check(args) => {
            let settings = args.load()?;
            settings.check_files()?;
            settings.ingest.kafka.client_properties()?;
            super::load_catalog(&settings.catalog)?;
            println!("configuration ok (store: {})", settings.store.describe());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `key = value  # layer`, aligned, under a header that says how to read it.
fn render(shown: &[tally_config::Shown]) -> String {
    let width = shown.iter().map(|s| s.key.len() + s.value.len() + 3).filter(|w| *w <= 72).max().unwrap_or(0);
    let mut out = String::from(
        "# The effective configuration: every key with the layer that set it (default, file,\n\
         # env, flag); secrets masked. This is TOML: it loads as a --config file.\n",
    );
    for s in shown {
        let pair = format!("{} = {}", s.key, s.value);
        out.push_str(&format!("{pair:<width$}  # {}\n", s.layer));
    }
    out
}
