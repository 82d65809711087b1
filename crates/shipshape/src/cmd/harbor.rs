//! `shipshape harbor token create|list|revoke`: the bearer tokens a Harbor registry presents
//! when it uses Shipshape as its scanner (Harbor → Interrogation Services → Scanners → New
//! scanner: endpoint `http(s)://HOST:PORT`, authorization `Bearer`, the token).

use crate::Global;

/// Harbor Pluggable Scanner API: tokens for Harbor
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: HarborCommand,
}

#[derive(clap::Subcommand, Debug)]
enum HarborCommand {
    /// Tokens Harbor sends as `Authorization: Bearer TOKEN`
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(clap::Subcommand, Debug)]
enum TokenCommand {
    /// Create a token bound to one account; the token is the last line of stdout (shown once).
    /// Without --app-id: the only account (one is created on an empty store)
    Create {
        #[arg(long, value_name = "N")]
        app_id: Option<i64>,
    },
    /// List tokens (no secrets) as JSON
    List,
    /// Revoke a token: Harbor's requests with it are refused from then on
    Revoke {
        #[arg(value_name = "TOKEN_ID")]
        token_id: String,
    },
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    let store = global.open_store().await?;
    let HarborCommand::Token { command } = args.command;
    match command {
        TokenCommand::Create { app_id } => {
            let account = match app_id {
                Some(id) => id,
                None => {
                    let ids = store.account_ids().await?;
                    match ids.as_slice() {
                        [] => store.create_account().await?.app_id,
                        [one] => *one,
                        _ => anyhow::bail!("{} accounts exist: say which with --app-id", ids.len()),
                    }
                }
            };
            let t = store.create_harbor_token(account).await?;
            eprintln!("token {} for account {}: configure it in Harbor as the scanner's Bearer authorization", t.token_id, t.account);
            println!("{}", t.token);
        }
        TokenCommand::List => {
            let list: Vec<serde_json::Value> = store
                .list_harbor_tokens()
                .await?
                .into_iter()
                .map(|t| {
                    serde_json::json!({
                        "TokenId": t.token_id, "AppId": t.account, "CreatedAt": t.created_at,
                        "Status": if t.disabled_at.is_none() { "enabled" } else { "revoked" }, "RevokedAt": t.disabled_at,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        TokenCommand::Revoke { token_id } => {
            store.disable_harbor_token(&token_id).await?;
            eprintln!("revoked {token_id}");
        }
    }
    store.close().await;
    Ok(())
}
