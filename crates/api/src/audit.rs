//! The audit trail: who did what, from where, with which outcome. Recorded for every request of a
//! mutating action (whatever its outcome) and for every authentication failure (bad signature,
//! unknown or disabled key, replay), never for reads: a security service must be able to say who
//! changed its settings or started its scans, and who tried keys that do not work. The entry is
//! written before the response leaves (a lost write is logged as an error; the request is not
//! failed for it). Where entries go is the [`AuditSink`] the binary passes (the store).
//! The parameters themselves are not kept, only their digest ([`AuditEntry::params_sha256`]).

use futures::future::BoxFuture;

use crate::credentials::LookupError;

/// One audited request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: i64,
    pub request_id: String,
    /// The X-TC-Action header as sent (may name no action).
    pub action: String,
    /// The authenticated account; `None` when authentication failed.
    pub account: Option<model::AccountId>,
    /// The SecretId the Authorization header claims (empty when it has none).
    pub secret_id: String,
    /// The client's address (the TCP peer).
    pub client: String,
    /// The TCSS error code; empty on success.
    pub code: String,
    pub message: String,
    /// Hex SHA-256 of the request body (the action's parameters): the `HashedRequestPayload` of the
    /// client's TC3 signature, so an entry can be matched to what a client logged without the
    /// parameters (which may hold registry passwords) being stored. Empty when the body was not read
    /// (refused as too large before it was).
    pub params_sha256: String,
}

/// Where audit entries are written.
pub trait AuditSink: Send + Sync {
    fn record(&self, entry: AuditEntry) -> BoxFuture<'_, Result<(), LookupError>>;
}

/// Whether a request with this action name and outcome is audited.
pub fn audited(action: &str, code: &str) -> bool {
    (!action.is_empty() && crate::action::is_mutating_name(action)) || code.starts_with("AuthFailure")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_auth_failures_are_audited_reads_are_not() {
        assert!(audited("CreateAssetImageScanTask", ""));
        assert!(audited("ModifyAssetImageScanStop", "InvalidParameter"));
        assert!(audited("DescribeAssetImageList", "AuthFailure.SignatureFailure"));
        assert!(!audited("DescribeAssetImageList", ""));
        assert!(!audited("DescribeAssetImageList", "InvalidParameter"));
        assert!(!audited("", "InvalidAction"), "a request naming no action is not a write");
    }
}
