//! Request plumbing every list action shares: `Limit`/`Offset` paging, `Order`, and the
//! `{Name, Values, ExactMatch}` filters (TCSS calls them AssetFilters, ComplianceFilters...; one shape).

use std::cmp::Ordering;

use model::Severity;
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

/// A filter value naming a TCSS level: `1`..`4` or `LOW`..`CRITICAL`; the level number.
pub fn parse_level(field: &'static str, v: &str) -> Result<u64, ServiceError> {
    Severity::from_tcss_level(v)
        .map(Severity::tcss_level_number)
        .ok_or_else(|| invalid(field, format!("level {v:?} is not 1-4 or LOW/MEDIUM/HIGH/CRITICAL")))
}

/// A list action's filters and sort keys as a table: filter names → tests of a row, `By` values →
/// comparators. The action declares it once (a `const`); [`ListSpec::apply`] does the rest.
pub struct ListSpec<T: 'static> {
    pub filters: &'static [(&'static str, Filter<T>)],
    /// `""` is the order when `By` is absent; several names may share a comparator.
    pub sorts: &'static [(&'static str, Comparator<T>)],
}

pub type Comparator<T> = fn(&T, &T) -> Ordering;

/// How one filter's values test a row.
pub enum Filter<T: 'static> {
    /// Text fields: the row passes when any of them matches any value (`ExactMatch` or substring).
    Text(&'static [fn(&T) -> &str]),
    /// A computed text, matched the same way.
    TextOf(fn(&T) -> String),
    /// The values are TCSS levels ([`parse_level`], errors name the field); the row's severity
    /// must be at one of them.
    Level(&'static str, fn(&T) -> Severity),
    /// The values are numbers (errors name the field); the row's number must be one of them.
    Number(&'static str, fn(&T) -> u64),
}

impl<T> ListSpec<T> {
    /// Keeps the rows every filter accepts, then sorts them by `by` (`desc` reverses; the sort is
    /// stable, so equal rows keep their stored order). The filters are read in request order and
    /// the first unknown name or bad value is the error; an unknown `By` is checked after them.
    pub fn apply(&self, mut rows: Vec<T>, filters: &[AssetFilters], by: Option<&str>, desc: bool) -> Result<Vec<T>, ServiceError> {
        for f in filters {
            let Some((_, test)) = self.filters.iter().find(|(name, _)| *name == f.name) else {
                return Err(invalid("Filters", format!("unknown filter name {:?}", f.name)));
            };
            match test {
                Filter::Text(fields) => rows.retain(|r| fields.iter().any(|field| text_match(f, field(r)))),
                Filter::TextOf(field) => rows.retain(|r| text_match(f, &field(r))),
                Filter::Level(field, severity) => {
                    let levels = f.values.iter().map(|v| parse_level(field, v)).collect::<Result<Vec<_>, _>>()?;
                    rows.retain(|r| levels.contains(&severity(r).tcss_level_number()));
                }
                Filter::Number(field, number) => {
                    let wanted = f
                        .values
                        .iter()
                        .map(|v| v.trim().parse::<u64>().map_err(|_| invalid(field, format!("{v:?} is not a number"))))
                        .collect::<Result<Vec<_>, _>>()?;
                    rows.retain(|r| wanted.contains(&number(r)));
                }
            }
        }
        let by = by.unwrap_or("");
        let Some((_, key)) = self.sorts.iter().find(|(name, _)| *name == by) else {
            return Err(invalid("By", format!("cannot sort by {by:?}")));
        };
        Ok(sorted(rows, desc, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        name: String,
        severity: Severity,
        n: u64,
    }

    const SPEC: ListSpec<Row> = ListSpec {
        filters: &[
            ("Name", Filter::Text(&[|r| &r.name])),
            ("Upper", Filter::TextOf(|r| r.name.to_uppercase())),
            ("Level", Filter::Level("Filters.Level", |r| r.severity)),
            ("N", Filter::Number("Filters.N", |r| r.n)),
        ],
        sorts: &[("", |_, _| Ordering::Equal), ("N", |a, b| a.n.cmp(&b.n)), ("Level", |a, b| a.severity.cmp(&b.severity))],
    };

    fn rows() -> Vec<Row> {
        [("alpha", Severity::High, 3), ("beta", Severity::Low, 1), ("gamma", Severity::Unknown, 2)]
            .into_iter()
            .map(|(name, severity, n)| Row { name: name.into(), severity, n })
            .collect()
    }

    fn filter(name: &str, values: &[&str]) -> AssetFilters {
        AssetFilters { name: name.into(), values: values.iter().map(|v| v.to_string()).collect(), exact_match: None }
    }

    fn names(r: Result<Vec<Row>, ServiceError>) -> Vec<String> {
        r.unwrap().into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn filters_and_sorts_from_the_table() {
        assert_eq!(names(SPEC.apply(rows(), &[], None, false)), ["alpha", "beta", "gamma"]);
        assert_eq!(names(SPEC.apply(rows(), &[filter("Name", &["A"])], Some("N"), true)), ["alpha", "gamma", "beta"]);
        assert_eq!(names(SPEC.apply(rows(), &[filter("Upper", &["ET"])], None, false)), ["beta"]);
        // Unknown severity is TCSS level 1 (LOW).
        assert_eq!(names(SPEC.apply(rows(), &[filter("Level", &["low"])], None, false)), ["beta", "gamma"]);
        assert_eq!(names(SPEC.apply(rows(), &[filter("Level", &["3"]), filter("N", &["3", "1"])], None, false)), ["alpha"]);
    }

    #[test]
    fn bad_names_and_values_name_the_field() {
        let field = |r: Result<Vec<Row>, ServiceError>| match r {
            Err(ServiceError::InvalidParameter { field, .. }) => field,
            _ => panic!("expected InvalidParameter"),
        };
        assert_eq!(field(SPEC.apply(rows(), &[filter("Nope", &["x"])], None, false)), "Filters");
        assert_eq!(field(SPEC.apply(rows(), &[filter("Level", &["5"])], None, false)), "Filters.Level");
        assert_eq!(field(SPEC.apply(rows(), &[filter("N", &["x"])], None, false)), "Filters.N");
        assert_eq!(field(SPEC.apply(rows(), &[], Some("Size"), false)), "By");
        // The first bad filter wins over a bad sort key.
        assert_eq!(field(SPEC.apply(rows(), &[filter("Nope", &["x"])], Some("Size"), false)), "Filters");
    }
}
