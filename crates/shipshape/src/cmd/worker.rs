//! `shipshape worker`: the background work of `serve` without its API (image and Harbor scans,
//! inventory, schedules, compliance, advisory updates). Run any number of them beside API
//! replicas (`serve --workers 0`) on one PostgreSQL: they share the work through the store.

use crate::Global;
use crate::wiring::{Background, WorkerArgs};

/// Run the scan, inventory, schedule, compliance and feed workers without serving the API
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub work: WorkerArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    if args.work.workers == 0 {
        anyhow::bail!("--workers 0 leaves a worker nothing to do: give 1 or more");
    }
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let store = global.open_store().await?;
    tracing::info!(data_dir = %store.data_dir().display(), backend = ?store.backend(), "store open");
    let background = Background::start(&store, &args.work, global)?;
    let refresh = background.image_worker();
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if let Some(w) = &refresh {
                w.refresh();
            }
        }
    });
    tracing::info!(workers = args.work.workers, "worker running");
    crate::wiring::shutdown_signal().await;
    background.shutdown().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
