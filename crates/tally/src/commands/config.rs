//! `tally config show`: the configuration `tally run` would use, secrets masked.

use std::process::ExitCode;

use clap::Subcommand;

use super::settings::ConfigArgs;

/// `tally config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults, file, environment) as TOML, secrets masked.
    Show(ConfigArgs),
    /// Check the configuration, the catalog and the files it names (tokens file, TLS
    /// certificate and key) and say so; exits non-zero, naming the key, when it is invalid.
    Check(ConfigArgs),
}

/// Runs `tally config ...`.
pub fn run(command: &ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Show(args) => print!("{}", args.load()?.to_masked_toml()),
        ConfigCommand::Check(args) => {
            let settings = args.load()?;
            settings.check_files()?;
            super::load_catalog(&settings.catalog)?;
            println!("configuration ok (store: {})", super::settings::describe(&settings.store));
        }
    }
    Ok(ExitCode::SUCCESS)
}
