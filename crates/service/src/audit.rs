//! `api::AuditSink` over the store's `audit_log` table.

use api::{AuditEntry, AuditSink, LookupError};
use futures::future::BoxFuture;

pub struct StoreAudit(pub store::Store);

impl AuditSink for StoreAudit {
    fn record(&self, e: AuditEntry) -> BoxFuture<'_, Result<(), LookupError>> {
        Box::pin(async move {
            let row = store::audit::AuditRow {
                id: 0,
                at: e.at,
                account: e.account,
                request_id: e.request_id,
                action: e.action,
                secret_id: e.secret_id,
                client: e.client,
                code: e.code,
                message: e.message,
                params_sha256: e.params_sha256,
            };
            self.0.record_audit(&row).await.map_err(crate::error::lookup_error)
        })
    }
}
