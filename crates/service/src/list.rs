//! Request plumbing every list action shares: `Limit`/`Offset` paging, `Order`, and the
//! `{Name, Values, ExactMatch}` filters (TCSS calls them AssetFilters, ComplianceFilters...; one shape).

use std::cmp::Ordering;

use serde::Deserialize;

use crate::error::ServiceError;

pub const DEFAULT_LIMIT: u64 = 10;
pub const MAX_LIMIT: u64 = 100;

/// One filter: `Name`, `Values`, `ExactMatch` (false: case-insensitive substring).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AssetFilters {
    pub name: String,
    pub values: Vec<String>,
    pub exact_match: Option<bool>,
}

/// The request of a sortable list action: paging, filters, sort field and order.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ListRequest {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
    pub by: Option<String>,
    pub order: Option<String>,
}

pub fn invalid(field: &'static str, reason: String) -> ServiceError {
    ServiceError::InvalidParameter { field, reason }
}

pub fn page(limit: Option<u64>, offset: Option<u64>) -> Result<(usize, usize), ServiceError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(invalid("Limit", format!("at most {MAX_LIMIT}, got {limit}")));
    }
    let offset = usize::try_from(offset.unwrap_or(0)).unwrap_or(usize::MAX);
    Ok((usize::try_from(limit).unwrap_or(usize::MAX), offset))
}

pub fn paged<T>(list: Vec<T>, (limit, offset): (usize, usize)) -> Vec<T> {
    list.into_iter().skip(offset).take(limit).collect()
}

/// `asc`/`desc` (any case) or TCSS's `+`/`-`; default ascending.
pub fn descending(order: Option<&str>) -> Result<bool, ServiceError> {
    match order.map(|o| o.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(o) if o.is_empty() || o == "asc" || o == "+" => Ok(false),
        Some(o) if o == "desc" || o == "-" => Ok(true),
        Some(o) => Err(invalid("Order", format!("expected ASC or DESC, got {o:?}"))),
    }
}

pub fn text_match(f: &AssetFilters, value: &str) -> bool {
    let exact = f.exact_match.unwrap_or(false);
    f.values.iter().any(|v| if exact { value == v } else { value.to_lowercase().contains(&v.to_lowercase()) })
}

pub fn check_filters(filters: &[AssetFilters]) -> Result<(), ServiceError> {
    if filters.len() > 20 {
        return Err(ServiceError::LengthLimit { field: "Filters", reason: format!("at most 20 filters, got {}", filters.len()) });
    }
    if filters.iter().any(|f| f.values.is_empty()) {
        return Err(invalid("Filters", "every filter needs at least one value".into()));
    }
    Ok(())
}

pub fn sorted<T>(mut list: Vec<T>, desc: bool, key: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    list.sort_by(|a, b| if desc { key(b, a) } else { key(a, b) });
    list
}

/// Whether every filter accepts a row. All are evaluated, so an unknown filter name is reported
/// even when an earlier filter already rejected the row.
pub fn all_match(filters: &[AssetFilters], mut one: impl FnMut(&AssetFilters) -> Result<bool, ServiceError>) -> Result<bool, ServiceError> {
    let mut keep = true;
    for f in filters {
        keep &= one(f)?;
    }
    Ok(keep)
}
