//! The one durable queue: claim, heartbeat, release, finish-if-owner and stale re-claim, over any
//! table with the queue columns `state` (`pending` → `running` → an end state), `worker`,
//! `heartbeat_at` and `attempts`. Image scan rows (`image_scan_queue`), compliance tasks
//! (`compliance_tasks`) and Harbor scan requests (`harbor_scans`) are each one [`Queue`] value;
//! what differs between them (their key, order and extra columns) is data, not code.
//!
//! Claiming picks the first claimable row (pending, or running with a heartbeat older than the
//! stale cut-off: its worker died) and marks it running in one `UPDATE … RETURNING` statement.
//! PostgreSQL adds `FOR UPDATE SKIP LOCKED`, so several workers never pick the same row; SQLite
//! serialises writers. Every later write (heartbeat, release, finish) carries the condition
//! "still running and still mine": a worker whose row was taken over, or whose task was stopped,
//! changes nothing and learns it from the `false` it gets back.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use crate::{Backend, Error};

/// A value bound into a queue statement, or a literal SQL expression for a column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    /// SQL text put in the statement as is (`NULL`, `0`, another column): never input-derived.
    Sql(&'static str),
}

/// One queue table.
#[derive(Debug)]
pub(crate) struct Queue {
    pub table: &'static str,
    /// The columns naming one row.
    pub key: &'static [&'static str],
    /// Claim order (oldest first).
    pub order: &'static str,
    /// More assignments made by a claim, after `state`, `worker`, `heartbeat_at`, `attempts`;
    /// `$2` is the claim time.
    pub on_claim: &'static str,
    /// More assignments made by a release (progress columns back to zero).
    pub on_release: &'static str,
}

/// Placeholders `$from`, `$from+1`… for `args`, and the SQL for each (`Sql` args inline).
struct Binder<'a> {
    next: usize,
    binds: Vec<Arg<'a>>,
}

impl<'a> Binder<'a> {
    fn new() -> Self {
        Binder { next: 1, binds: Vec::new() }
    }

    fn place(&mut self, a: Arg<'a>) -> String {
        match a {
            Arg::Sql(s) => s.to_string(),
            other => {
                self.binds.push(other);
                let p = format!("${}", self.next);
                self.next += 1;
                p
            }
        }
    }

    fn query(&self, sql: &'a str) -> sqlx::query::Query<'a, Any, sqlx::any::AnyArguments<'a>> {
        let mut q = sqlx::query(sql);
        for b in &self.binds {
            q = match *b {
                Arg::Text(t) => q.bind(t),
                Arg::Int(n) => q.bind(n),
                Arg::Sql(_) => q,
            };
        }
        q
    }
}

impl Queue {
    /// `WHERE` condition: this row, still running, still held by `worker`.
    fn owned<'a>(&self, b: &mut Binder<'a>, key: &[Arg<'a>], worker: &'a str) -> String {
        let mut cond: Vec<String> = self.key.iter().zip(key).map(|(col, v)| format!("{col} = {}", b.place(*v))).collect();
        cond.push("state = 'running'".into());
        cond.push(format!("worker = {}", b.place(Arg::Text(worker))));
        cond.join(" AND ")
    }

    fn assignments<'a>(b: &mut Binder<'a>, set: &[(&'static str, Arg<'a>)]) -> String {
        set.iter().map(|(col, v)| format!(", {col} = {}", b.place(*v))).collect()
    }

    /// Claims the first pending row, or a running one whose heartbeat is older than
    /// `stale_before` (unix seconds), for `worker` at `now`; `attempts` counts the claim.
    /// Returns the `returning` columns of the row.
    pub(crate) async fn claim<'e, E: Executor<'e, Database = Any>>(
        &self,
        e: E,
        backend: Backend,
        worker: &str,
        now: i64,
        stale_before: i64,
        returning: &str,
    ) -> Result<Option<AnyRow>, Error> {
        let key = self.key.join(", ");
        let lock = match backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let target = if self.key.len() == 1 { key.clone() } else { format!("({key})") };
        let sql = format!(
            "UPDATE {table} SET state = 'running', worker = $1, heartbeat_at = $2, attempts = attempts + 1{extra} \
             WHERE {target} IN (SELECT {key} FROM {table} WHERE state = 'pending' OR (state = 'running' AND heartbeat_at < $3) \
             ORDER BY {order} LIMIT 1{lock}) RETURNING {returning}",
            table = self.table,
            extra = if self.on_claim.is_empty() { String::new() } else { format!(", {}", self.on_claim) },
            order = self.order,
        );
        Ok(sqlx::query(&sql).bind(worker).bind(now).bind(stale_before).fetch_optional(e).await?)
    }

    /// Records liveness at `now` (and `set`, e.g. progress) of a row `worker` holds. False when
    /// the claim is lost (the row was stopped or taken over): the worker must stop.
    pub(crate) async fn heartbeat<'e, E: Executor<'e, Database = Any>>(
        &self,
        e: E,
        key: &[Arg<'_>],
        worker: &str,
        now: i64,
        set: &[(&'static str, Arg<'_>)],
    ) -> Result<bool, Error> {
        let mut b = Binder::new();
        let head = format!("UPDATE {} SET heartbeat_at = {}", self.table, b.place(Arg::Int(now)));
        let extra = Self::assignments(&mut b, set);
        let cond = self.owned(&mut b, key, worker);
        let sql = format!("{head}{extra} WHERE {cond}");
        Ok(b.query(&sql).execute(e).await?.rows_affected() == 1)
    }

    /// Hands a held row back: `pending` again, for any worker at once, and this attempt not
    /// counted (a graceful stop is not a failure). False when the claim was lost meanwhile.
    pub(crate) async fn release<'e, E: Executor<'e, Database = Any>>(&self, e: E, key: &[Arg<'_>], worker: &str) -> Result<bool, Error> {
        let mut b = Binder::new();
        let extra = if self.on_release.is_empty() { String::new() } else { format!(", {}", self.on_release) };
        let cond = self.owned(&mut b, key, worker);
        let sql = format!(
            "UPDATE {} SET state = 'pending', worker = NULL, heartbeat_at = NULL, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END{extra} WHERE {cond}",
            self.table
        );
        Ok(b.query(&sql).execute(e).await?.rows_affected() == 1)
    }

    /// Ends a held row in `state` at `now` (`finished_at`, `heartbeat_at`) with `set`, only
    /// while `worker` holds it: false (nothing changed) when the claim was lost. Run it in the
    /// transaction that writes the row's results, so results and the end are one.
    pub(crate) async fn finish<'e, E: Executor<'e, Database = Any>>(
        &self,
        e: E,
        key: &[Arg<'_>],
        worker: &str,
        state: &str,
        now: i64,
        set: &[(&'static str, Arg<'_>)],
    ) -> Result<bool, Error> {
        let mut b = Binder::new();
        let state = b.place(Arg::Text(state));
        let at = b.place(Arg::Int(now));
        let head = format!("UPDATE {} SET state = {state}, finished_at = {at}, heartbeat_at = {at}", self.table);
        let extra = Self::assignments(&mut b, set);
        let cond = self.owned(&mut b, key, worker);
        let sql = format!("{head}{extra} WHERE {cond}");
        Ok(b.query(&sql).execute(e).await?.rows_affected() == 1)
    }
}
