//! `shipshape audit list`: the audit trail (writes through the API and authentication failures),
//! newest first, one JSON object per line.

use crate::Global;

/// Read the audit trail of the API
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand, Debug)]
enum AuditCommand {
    /// Entries newest first as JSON lines
    List {
        /// Only this account's entries (failed authentications have no account)
        #[arg(long, value_name = "N")]
        app_id: Option<i64>,
        /// Only entries at or after this time (RFC 3339, or unix seconds)
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        #[arg(long, default_value_t = 100, value_name = "N")]
        limit: i64,
    },
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| anyhow::anyhow!("--since {s:?}: expected RFC 3339 or unix seconds ({e})"))?;
    Ok(t.unix_timestamp())
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    let AuditCommand::List { app_id, since, limit } = args.command;
    let since = since.as_deref().map(parse_time).transpose()?.unwrap_or(0);
    let store = global.open_store().await?;
    for r in store.audit_entries(app_id, since, limit.clamp(1, 100_000)).await? {
        let at = time::OffsetDateTime::from_unix_timestamp(r.at)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default();
        println!(
            "{}",
            serde_json::json!({
                "Time": at, "AppId": r.account, "Action": r.action, "SecretId": r.secret_id, "Client": r.client,
                "RequestId": r.request_id, "Code": r.code, "Message": r.message, "ParamsSha256": r.params_sha256,
            })
        );
    }
    store.close().await;
    Ok(())
}
