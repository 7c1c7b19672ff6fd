//! `tally token new`: makes an API token (32 random bytes from the operating system,
//! hex) and prints it once, with the `[[http.tokens]]` entry that configures its
//! SHA-256. The token itself is never stored by Tally.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

/// `tally token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token; print it and its configuration entry.
    New {
        /// Who will hold it (logged with the requests it authorizes).
        #[arg(long)]
        name: String,
        /// ingest (POST /v1/events only), read (every GET) or admin (everything).
        #[arg(long, value_parser = ["ingest", "read", "admin"])]
        role: String,
    },
    /// Print the SHA-256 of a token read from standard input (to configure an existing one).
    Hash,
}

/// Runs `tally token ...`.
pub fn run(command: &TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::New { name, role } => {
            let mut bytes = [0u8; 32];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut bytes))
                .context("reading random bytes from /dev/urandom")?;
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let token = format!("tly_{token}");
            println!("token (shown once; give it to {name}): {token}\n");
            println!(
                "[[http.tokens]]\nname = {name:?}\nrole = {role:?}\nsha256 = \"{}\"",
                tally_api::hash_token(&token)
            );
        }
        TokenCommand::Hash => {
            let mut token = String::new();
            std::io::stdin().read_to_string(&mut token).context("reading the token from standard input")?;
            println!("{}", tally_api::hash_token(token.trim()));
        }
    }
    Ok(ExitCode::SUCCESS)
}
