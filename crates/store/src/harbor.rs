//! Harbor's Pluggable Scanner API: the bearer tokens Harbor presents (each bound to one account)
//! and the durable queue of its scan requests.
//!
//! A scan request is one `harbor_scans` row, claimed, heartbeated and finished through
//! [`crate::queue`] like an image scan queue row (a worker killed mid-image leaves a stale
//! heartbeat; the row is claimed again).
//! Finishing writes the image's results through the same [`write_outcome`] as every image scan
//! and joins the image to the account's inventory (source `harbor:HOST`), in the transaction
//! that marks the row done and only while the worker still owns it. The registry credential
//! Harbor passes is sealed at rest and erased when the row ends.

use model::AccountId;
use sqlx::Row;

use crate::queue::{Arg, Queue};
use crate::scan_tasks::{ImageAsset, ImageScanOutcome, now_micros, upsert_asset_row, write_outcome};
use crate::sealing::{random_alnum, token_hash};
use crate::{Error, Store, now_unix};

/// The scan request queue, oldest first.
const HARBOR_QUEUE: Queue = Queue { table: "harbor_scans", key: &["scan_id"], order: "seq", on_claim: "", on_release: "" };

/// Prefix of every Harbor token (tells it apart from API keys in logs and secret scanners).
pub const TOKEN_PREFIX: &str = "shh_";

/// A freshly created token: the only time it is shown.
#[derive(Clone)]
pub struct NewHarborToken {
    /// Public handle for listing and revoking.
    pub token_id: String,
    pub account: AccountId,
    pub token: String,
}

impl std::fmt::Debug for NewHarborToken {
    // The token is printed once, on purpose, by `harbor token create`; never by a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewHarborToken").field("token_id", &self.token_id).field("account", &self.account).field("token", &"****").finish()
    }
}

/// A token as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarborTokenInfo {
    pub token_id: String,
    pub account: AccountId,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

/// Where a Harbor scan request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HarborScanState {
    Pending,
    Running,
    Done,
    Failed,
}

impl HarborScanState {
    fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "pending" => HarborScanState::Pending,
            "running" => HarborScanState::Running,
            "done" => HarborScanState::Done,
            "failed" => HarborScanState::Failed,
            other => return Err(Error::Corrupt { table: "harbor_scans", reason: format!("state {other:?}") }),
        })
    }
}

/// A stored scan request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarborScan {
    pub scan_id: String,
    pub account: AccountId,
    pub state: HarborScanState,
    /// The request as Harbor sent it, without the credential (JSON, opaque to the store).
    pub request: String,
    /// The scanned image's config digest once done.
    pub image_id: String,
    /// Why the scan failed, empty otherwise.
    pub error: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A claimed scan request.
#[derive(Clone, PartialEq, Eq)]
pub struct HarborClaim {
    pub scan_id: String,
    pub account: AccountId,
    pub request: String,
    /// The `Authorization` value to send the registry, as Harbor gave it.
    pub authorization: Option<String>,
    /// 1 on the first claim; more when a worker died on this request.
    pub attempts: u64,
}

impl std::fmt::Debug for HarborClaim {
    // The registry credential never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarborClaim")
            .field("scan_id", &self.scan_id)
            .field("account", &self.account)
            .field("authorization", &self.authorization.as_ref().map(|_| "****"))
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A finished scan: the image to join the inventory and its results.
#[derive(Debug, Clone)]
pub struct HarborResult {
    /// Inventory source of the image (`harbor:HOST`).
    pub source: String,
    pub asset: ImageAsset,
    pub outcome: ImageScanOutcome,
}

fn aad(scan_id: &str) -> String {
    format!("harbor-scan:{scan_id}")
}

const SCAN_COLS: &str = "scan_id, account_id, state, request, image_id, error, created_at, finished_at";

fn scan_from_row(r: &sqlx::any::AnyRow) -> Result<HarborScan, Error> {
    Ok(HarborScan {
        scan_id: r.try_get(0)?,
        account: r.try_get(1)?,
        state: HarborScanState::parse(&r.try_get::<String, _>(2)?)?,
        request: r.try_get(3)?,
        image_id: r.try_get(4)?,
        error: r.try_get(5)?,
        created_at: r.try_get(6)?,
        finished_at: r.try_get(7)?,
    })
}

impl Store {
    /// Creates a token for an existing account.
    pub async fn create_harbor_token(&self, account: AccountId) -> Result<NewHarborToken, Error> {
        if !self.account_exists(account).await? {
            return Err(Error::AccountNotFound(account));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_alnum(43)?);
        let token_id = format!("ht-{}", random_alnum(12)?);
        sqlx::query("INSERT INTO harbor_tokens (token_hash, token_id, account_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash(&token))
            .bind(&token_id)
            .bind(account)
            .bind(now_unix())
            .execute(&self.pool)
            .await?;
        Ok(NewHarborToken { token_id, account, token })
    }

    /// The account of an enabled token; `None` when unknown or revoked.
    pub async fn harbor_token_account(&self, token: &str) -> Result<Option<AccountId>, Error> {
        let row = sqlx::query("SELECT account_id FROM harbor_tokens WHERE token_hash = $1 AND disabled_at IS NULL")
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0).map_err(Error::from)).transpose()
    }

    pub async fn list_harbor_tokens(&self) -> Result<Vec<HarborTokenInfo>, Error> {
        let rows = sqlx::query(
            "SELECT token_id, account_id, created_at, disabled_at FROM harbor_tokens ORDER BY account_id, created_at, token_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HarborTokenInfo {
                    token_id: r.try_get(0)?,
                    account: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    disabled_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Revokes a token: Harbor's requests with it are refused from then on.
    pub async fn disable_harbor_token(&self, token_id: &str) -> Result<(), Error> {
        let done = sqlx::query("UPDATE harbor_tokens SET disabled_at = $1 WHERE token_id = $2 AND disabled_at IS NULL")
            .bind(now_unix())
            .bind(token_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::KeyNotFound(token_id.to_string()));
        }
        Ok(())
    }

    /// Queues a scan request; returns its id.
    pub async fn create_harbor_scan(&self, account: AccountId, request: &str, authorization: Option<&str>) -> Result<String, Error> {
        let scan_id = uuid_like()?;
        let sealed = authorization.map(|a| self.secrets.seal(&aad(&scan_id), a)).transpose()?;
        let (nonce, ct) = sealed.map_or((None, None), |(n, c)| (Some(n), Some(c)));
        sqlx::query(
            "INSERT INTO harbor_scans (scan_id, account_id, seq, created_at, request, auth_nonce, auth_sealed, state, attempts, \
             image_id, error) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, '', '')",
        )
        .bind(&scan_id)
        .bind(account)
        .bind(now_micros())
        .bind(now_unix())
        .bind(request)
        .bind(nonce)
        .bind(ct)
        .execute(&self.pool)
        .await?;
        Ok(scan_id)
    }

    /// A scan request of the account (another account's id reads as unknown).
    pub async fn harbor_scan(&self, account: AccountId, scan_id: &str) -> Result<Option<HarborScan>, Error> {
        let row = sqlx::query(&format!("SELECT {SCAN_COLS} FROM harbor_scans WHERE account_id = $1 AND scan_id = $2"))
            .bind(account)
            .bind(scan_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(scan_from_row).transpose()
    }

    /// Claims the oldest pending request, or a running one whose worker stopped heartbeating
    /// before `stale_before` (unix seconds).
    pub async fn claim_harbor_scan(&self, worker: &str, stale_before: i64) -> Result<Option<HarborClaim>, Error> {
        let returning = "scan_id, account_id, request, auth_nonce, auth_sealed, attempts";
        let row = HARBOR_QUEUE.claim(&self.pool, self.backend, worker, now_unix(), stale_before, returning).await?;
        let Some(r) = row else { return Ok(None) };
        let scan_id: String = r.try_get(0)?;
        let nonce: Option<Vec<u8>> = r.try_get(3)?;
        let sealed: Option<Vec<u8>> = r.try_get(4)?;
        let authorization = match (nonce, sealed) {
            (Some(n), Some(c)) => Some(self.secrets.open(&aad(&scan_id), &n, &c)?),
            _ => None,
        };
        Ok(Some(HarborClaim {
            account: r.try_get(1)?,
            request: r.try_get(2)?,
            authorization,
            attempts: u64::try_from(r.try_get::<i64, _>(5)?).unwrap_or(0),
            scan_id,
        }))
    }

    /// Keeps a claim alive. False when it was lost (another worker took the row over).
    pub async fn heartbeat_harbor_scan(&self, claim: &HarborClaim, worker: &str) -> Result<bool, Error> {
        HARBOR_QUEUE.heartbeat(&self.pool, &[Arg::Text(&claim.scan_id)], worker, now_unix(), &[]).await
    }

    /// Ends a claimed request: `Ok` joins the image to the inventory and replaces its results,
    /// `Err` records why it failed; the credential is erased either way. Only while `worker`
    /// still owns the row: false (nothing written) when the claim was lost.
    pub async fn finish_harbor_scan(&self, claim: &HarborClaim, worker: &str, result: Result<&HarborResult, &str>) -> Result<bool, Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let (state, image_id, error) = match result {
            Ok(r) => ("done", r.asset.facts.image_id.as_str(), ""),
            Err(e) => ("failed", "", e),
        };
        // The credential is erased whatever the end.
        let set = [
            ("image_id", Arg::Text(image_id)),
            ("error", Arg::Text(error)),
            ("auth_nonce", Arg::Sql("NULL")),
            ("auth_sealed", Arg::Sql("NULL")),
        ];
        if !HARBOR_QUEUE.finish(&mut *tx, &[Arg::Text(&claim.scan_id)], worker, state, now, &set).await? {
            return Ok(false);
        }
        if let Ok(r) = result {
            upsert_asset_row(&mut tx, claim.account, &r.source, &r.asset, now_micros()).await?;
            write_outcome(&mut tx, claim.account, &r.asset.facts.image_id, &claim.scan_id, now, &r.outcome).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Forgets requests that ended before `before` (unix seconds); Harbor fetches a report
    /// right after the scan, the image's results stay with the image. Returns how many.
    pub async fn prune_harbor_scans(&self, before: i64) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM harbor_scans WHERE state IN ('done', 'failed') AND finished_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// A random RFC 4122 version-4 UUID string (the id form the spec's examples use).
fn uuid_like() -> Result<String, Error> {
    let mut b: [u8; 16] = crate::sealing::random_bytes()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use model::node::ImageFacts;

    fn result(image_id: &str) -> HarborResult {
        HarborResult {
            source: "harbor:r:5000".into(),
            asset: ImageAsset {
                facts: ImageFacts { image_id: image_id.into(), names: vec!["r:5000/app:1".into()], ..Default::default() },
                sources: vec!["harbor:r:5000".into()],
            },
            outcome: ImageScanOutcome {
                summary: "{}".into(),
                kinds: vec![model::scan_summary::FindingKind::Vul],
                findings: vec![(model::scan_summary::FindingKind::Vul, "{\"a\":1}".into())],
                risk_count: 1,
            },
        }
    }

    #[tokio::test]
    async fn tokens_bind_one_account_and_can_be_revoked() {
        let dir = tempfile::tempdir().unwrap();
        for store in testing::stores(dir.path()).await {
            let key = store.create_account_with_key().await.unwrap();
            let t = store.create_harbor_token(key.app_id).await.unwrap();
            assert!(t.token.starts_with(TOKEN_PREFIX) && t.token.len() == TOKEN_PREFIX.len() + 43);
            assert_eq!(store.harbor_token_account(&t.token).await.unwrap(), Some(key.app_id));
            assert_eq!(store.harbor_token_account("shh_wrong").await.unwrap(), None);
            assert!(matches!(store.create_harbor_token(1).await, Err(Error::AccountNotFound(1))));
            store.disable_harbor_token(&t.token_id).await.unwrap();
            assert_eq!(store.harbor_token_account(&t.token).await.unwrap(), None);
            assert!(store.disable_harbor_token(&t.token_id).await.is_err());
            assert_eq!(store.list_harbor_tokens().await.unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn queue_claims_once_reclaims_stale_and_writes_only_while_owned() {
        let dir = tempfile::tempdir().unwrap();
        for store in testing::stores(dir.path()).await {
            let a = store.create_account_with_key().await.unwrap().app_id;
            let b = store.create_account_with_key().await.unwrap().app_id;
            let id = store.create_harbor_scan(a, "{\"artifact\":{}}", Some("Basic dTpw")).await.unwrap();
            assert_eq!(store.harbor_scan(b, &id).await.unwrap(), None, "another account's id is unknown");
            assert_eq!(store.harbor_scan(a, &id).await.unwrap().unwrap().state, HarborScanState::Pending);
            let c = store.claim_harbor_scan("w1", 0).await.unwrap().unwrap();
            assert_eq!((c.authorization.as_deref(), c.attempts), (Some("Basic dTpw"), 1));
            assert!(!format!("{c:?}").contains("dTpw"));
            assert!(store.claim_harbor_scan("w2", 0).await.unwrap().is_none(), "a live claim is not taken");
            // w1 stops heartbeating: w2 takes the row over, w1 can no longer write.
            let c2 = store.claim_harbor_scan("w2", i64::MAX).await.unwrap().unwrap();
            assert_eq!(c2.attempts, 2);
            assert!(!store.heartbeat_harbor_scan(&c, "w1").await.unwrap());
            assert!(!store.finish_harbor_scan(&c, "w1", Ok(&result("sha256:1"))).await.unwrap());
            assert!(store.image_asset(a, "sha256:1").await.unwrap().is_none());
            assert!(store.finish_harbor_scan(&c2, "w2", Ok(&result("sha256:1"))).await.unwrap());
            let s = store.harbor_scan(a, &id).await.unwrap().unwrap();
            assert_eq!((s.state, s.image_id.as_str()), (HarborScanState::Done, "sha256:1"));
            let asset = store.image_asset(a, "sha256:1").await.unwrap().unwrap();
            assert_eq!(asset.sources, vec!["harbor:r:5000".to_string()]);
            assert_eq!(
                store.image_findings(a, "sha256:1", model::scan_summary::FindingKind::Vul).await.unwrap(),
                vec!["{\"a\":1}".to_string()]
            );
            // The credential is gone once the row ended.
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM harbor_scans WHERE auth_sealed IS NOT NULL")
                .fetch_one(store.pool())
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(n, 0);
            // A failure is recorded with its reason.
            let id2 = store.create_harbor_scan(a, "{}", None).await.unwrap();
            let c3 = store.claim_harbor_scan("w1", 0).await.unwrap().unwrap();
            assert_eq!(c3.authorization, None);
            assert!(store.finish_harbor_scan(&c3, "w1", Err("manifest unknown")).await.unwrap());
            let s2 = store.harbor_scan(a, &id2).await.unwrap().unwrap();
            assert_eq!((s2.state, s2.error.as_str()), (HarborScanState::Failed, "manifest unknown"));
            assert_eq!(store.prune_harbor_scans(now_unix() + 1).await.unwrap(), 2);
            assert!(store.harbor_scan(a, &id).await.unwrap().is_none());
        }
    }
}
