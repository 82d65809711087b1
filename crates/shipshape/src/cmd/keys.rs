//! `shipshape keys`: accounts and API keys.

use crate::Global;

/// Manage accounts and API keys (SecretId / SecretKey)
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand, Debug)]
enum KeysCommand {
    /// Create a key; without --app-id it also creates a new account. Prints the secret once.
    Create {
        /// Add the key to this existing account
        #[arg(long, value_name = "N")]
        app_id: Option<i64>,
        /// full: every TCSS action; agent: only the node report of `shipshape agent` (needs --app-id)
        #[arg(long, value_enum, default_value_t = Role::Full)]
        role: Role,
    },
    /// List keys (no secrets) as JSON
    List,
    /// Disable a key: requests signed with it are refused from then on
    Disable {
        #[arg(value_name = "SECRETID")]
        secret_id: String,
    },
    /// Replace a key by a new one of the same account (printed once); the old one is disabled
    Rotate {
        #[arg(value_name = "SECRETID")]
        secret_id: String,
    },
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Full,
    Agent,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    if let KeysCommand::Create { app_id: None, role: Role::Agent } = args.command {
        anyhow::bail!("an agent key reports into an existing account: give --app-id");
    }
    let store = global.open_store().await?;
    match args.command {
        KeysCommand::Create { app_id, role } => {
            let key = match (app_id, role) {
                (Some(id), Role::Agent) => store.create_key_with_role(id, model::KeyRole::Agent).await?,
                (Some(id), Role::Full) => store.create_key(id).await?,
                (None, _) => store.create_account_with_key().await?,
            };
            println!("{}", key_json(&key));
        }
        KeysCommand::List => {
            let keys: Vec<serde_json::Value> = store
                .list_keys()
                .await?
                .into_iter()
                .map(|k| {
                    serde_json::json!({
                        "SecretId": k.secret_id,
                        "AppId": k.app_id,
                        "Status": if k.enabled { "enabled" } else { "disabled" },
                        "Role": k.role.as_str(),
                        "CreatedAt": k.created_at,
                        "DisabledAt": k.disabled_at,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&keys)?);
        }
        KeysCommand::Rotate { secret_id } => {
            let key = store.rotate_key(&secret_id).await?;
            eprintln!("disabled {secret_id}");
            println!("{}", key_json(&key));
        }
        KeysCommand::Disable { secret_id } => {
            store.disable_key(&secret_id).await?;
            eprintln!("disabled {secret_id}");
        }
    }
    store.close().await;
    Ok(())
}

/// `{"SecretId", "SecretKey", "AppId"}`: what `keys create` prints and credentials.json holds.
pub fn key_json(key: &store::NewKey) -> serde_json::Value {
    serde_json::json!({"SecretId": key.secret_id, "SecretKey": key.secret_key, "AppId": key.app_id})
}
