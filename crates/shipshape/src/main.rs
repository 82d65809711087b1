//! The `shipshape` binary: CLI, configuration and wiring. All real work lives in the library crates.
//!
//! Adding a subcommand: create `src/cmd/<name>.rs` with a clap `Args` struct (its doc comment is the
//! help text) and `pub async fn run(args: Args, global: &Global) -> anyhow::Result<()>`, then add ONE
//! line `Name => name,` to the `commands!` list below.

use std::path::PathBuf;

use clap::Parser;

mod output;
mod probes;
mod wiring;

/// Declares the subcommand modules (`src/cmd/<module>.rs`), the `Command` enum and its dispatch.
macro_rules! commands {
    ($($variant:ident => $module:ident,)*) => {
        mod cmd {
            $(pub mod $module;)*
        }

        #[derive(clap::Subcommand)]
        enum Command {
            $($variant(cmd::$module::Args),)*
        }

        impl Command {
            async fn run(self, global: &Global) -> anyhow::Result<()> {
                match self {
                    $(Command::$variant(args) => cmd::$module::run(args, global).await,)*
                }
            }
        }
    };
}

commands! {
    Serve => serve,
    Keys => keys,
    Db => db,
    Rules => rules,
    Compliance => compliance,
    Image => image,
    Fs => fs,
    Harbor => harbor,
    Worker => worker,
    Audit => audit,
    Agent => agent,
    // New subcommands here, one line each (e.g. `Scan => scan,` with src/cmd/scan.rs).
}

#[derive(Parser)]
#[command(name = "shipshape", version, about = "Self-hosted container security service speaking the Tencent Cloud TCSS API")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand accepts.
#[derive(clap::Args, Clone)]
pub struct Global {
    /// Data directory (SQLite database, master.key, credentials.json)
    /// [default: $XDG_DATA_HOME/shipshape, else ~/.local/share/shipshape]
    #[arg(long, global = true, env = "SHIPSHAPE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://… for PostgreSQL [default: SQLite file in the data directory]
    #[arg(long, global = true, env = "SHIPSHAPE_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
    /// Log format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl std::fmt::Debug for Global {
    // A PostgreSQL URL may carry its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global")
            .field("data_dir", &self.data_dir)
            .field("database", &self.database.as_deref().map(store::redact_url))
            .field("log_format", &self.log_format)
            .finish()
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Global {
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(d) = &self.data_dir {
            return Ok(d.clone());
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
            return Ok(PathBuf::from(x).join("shipshape"));
        }
        let home = std::env::var_os("HOME").ok_or_else(|| anyhow::anyhow!("neither --data-dir, XDG_DATA_HOME nor HOME is set"))?;
        Ok(PathBuf::from(home).join(".local/share/shipshape"))
    }

    /// Opens the store (creating the data dir and running migrations).
    pub async fn open_store(&self) -> anyhow::Result<store::Store> {
        let dir = self.data_dir()?;
        store::Store::open(&dir, self.database.as_deref()).await.map_err(|e| anyhow::anyhow!("opening the store in {}: {e}", dir.display()))
    }
}

fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.global.log_format);
    cli.command.run(&cli.global).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_database_password() {
        let g = Global { data_dir: None, database: Some("postgres://app:hunter2@db/x".into()), log_format: LogFormat::Text };
        let shown = format!("{g:?}");
        assert!(shown.contains("postgres://app:****@db/x") && !shown.contains("hunter2"), "{shown}");
    }
}
