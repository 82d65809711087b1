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

fn sorted<T>(mut list: Vec<T>, desc: bool, key: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    list.sort_by(|a, b| if desc { key(b, a) } else { key(a, b) });
    list
}

/// A filter value naming a TCSS level: `1`..`4` or `LOW`..`CRITICAL`; the level number.
pub fn parse_level(field: &'static str, v: &str) -> Result<u64, ServiceError> {
    Severity::from_tcss_level(v)
        .map(Severity::tcss_level_number)
        .ok_or_else(|| invalid(field, format!("level {v:?} is not 1-4 or LOW/MEDIUM/HIGH/CRITICAL")))
}

/// A list action's filters and sort keys as a table: filter names → tests of a row, `By` values →
/// comparators. The action declares it once (a `const`) and hands it a row source:
/// [`ListSpec::query`] checks the request before any row is read, [`ListQuery::run`] filters,
/// sorts and pages the rows.
pub struct ListSpec<T: 'static> {
    pub filters: &'static [(&'static str, Filter<T>)],
    /// `""` is the order when `By` is absent; several names may share a comparator.
    pub sorts: &'static [(&'static str, Comparator<T>)],
    /// Breaks the ties of every sort key (and is reversed with it), so pages never overlap;
    /// `None`: equal rows keep their stored order (the sort is stable).
    pub tie_break: Option<Comparator<T>>,
}

pub type Comparator<T> = fn(&T, &T) -> Ordering;
/// A yes/no question about a row (a value of [`Filter::OneOf`]).
pub type RowTest<T> = fn(&T) -> bool;

/// How one filter's values test a row.
pub enum Filter<T: 'static> {
    /// Text fields: the row passes when any of them matches any value (`ExactMatch` or substring).
    Text(&'static [fn(&T) -> &str]),
    /// A computed text, matched the same way.
    TextOf(fn(&T) -> String),
    /// Computed texts (an image's names, a port's texts and number): the row passes when any of
    /// them matches.
    TextsOf(fn(&T) -> Vec<String>),
    /// The values are TCSS levels ([`parse_level`], errors name the field); the row's severity
    /// must be at one of them.
    Level(&'static str, fn(&T) -> Severity),
    /// The values are numbers (errors name the field); the row's number must be one of them.
    Number(&'static str, fn(&T) -> u64),
    /// An id: the row passes when one value, trimmed, is exactly its text (`ExactMatch` does not apply).
    Equals(fn(&T) -> String),
    /// A test of the row against one value (no value is an error): the row passes when it holds
    /// for any value.
    Each(fn(&T, &str) -> bool),
    /// A yes/no question (errors name the field): `true`/`1` keeps the rows where it holds,
    /// `false`/`0` the others, `all` every row (any case).
    Flag(&'static str, RowTest<T>),
    /// Each value names one of `tests` (compared after `key`, errors name `field`); the row passes
    /// when any named test holds.
    OneOf { field: &'static str, key: fn(&str) -> String, tests: &'static [(&'static str, RowTest<T>)] },
}

// Every variant holds `fn` pointers and `'static` tables, so a filter copies whatever the row
// type (derive would ask `T: Copy`); copies let [`joined`] build a table from another.
impl<T> Clone for Filter<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Filter<T> {}

/// `a` then `b` as one table of `N` entries: a list that takes another list's filters and more
/// (`joined::<_, 5>(OTHER.filters, &[…])`). A wrong `N` stops the build (const evaluation).
pub const fn joined<E: Copy, const N: usize>(a: &[E], b: &[E]) -> [E; N] {
    assert!(a.len() + b.len() == N && N > 0, "N must be the sum of the two lengths");
    let mut out = if a.is_empty() { [b[0]; N] } else { [a[0]; N] };
    let mut i = 0;
    while i < N {
        out[i] = if i < a.len() { a[i] } else { b[i - a.len()] };
        i += 1;
    }
    out
}

/// One filter of a request, its values parsed.
enum Test<T: 'static> {
    Text(&'static [fn(&T) -> &str], AssetFilters),
    TextOf(fn(&T) -> String, AssetFilters),
    TextsOf(fn(&T) -> Vec<String>, AssetFilters),
    Level(fn(&T) -> Severity, Vec<u64>),
    Number(fn(&T) -> u64, Vec<u64>),
    Equals(fn(&T) -> String, Vec<String>),
    Each(fn(&T, &str) -> bool, Vec<String>),
    /// `None`: `all`.
    Flag(RowTest<T>, Vec<Option<bool>>),
    Any(Vec<RowTest<T>>),
}

impl<T> Test<T> {
    fn accepts(&self, r: &T) -> bool {
        match self {
            Test::Text(fields, f) => fields.iter().any(|field| text_match(f, field(r))),
            Test::TextOf(field, f) => text_match(f, &field(r)),
            Test::TextsOf(texts, f) => texts(r).iter().any(|t| text_match(f, t)),
            Test::Level(severity, levels) => levels.contains(&severity(r).tcss_level_number()),
            Test::Number(number, wanted) => wanted.contains(&number(r)),
            Test::Equals(text, wanted) => wanted.contains(&text(r)),
            Test::Each(test, values) => values.iter().any(|v| test(r, v)),
            Test::Flag(holds, wanted) => wanted.iter().any(|w| w.is_none_or(|w| w == holds(r))),
            Test::Any(tests) => tests.iter().any(|t| t(r)),
        }
    }
}

/// A list request checked against its [`ListSpec`]: paging, filters with their values parsed,
/// the comparator and the direction.
pub struct ListQuery<T: 'static> {
    paging: (usize, usize),
    tests: Vec<Test<T>>,
    sort: Comparator<T>,
    tie_break: Option<Comparator<T>>,
    desc: bool,
}

/// One page of a list and the number of rows that passed the filters.
pub struct Page<T> {
    pub total: u64,
    pub rows: Vec<T>,
}

impl<T> ListSpec<T> {
    /// The sort table of a list without `By`: the rows in the order their source gives.
    pub const STORED_ORDER: &'static [(&'static str, Comparator<T>)] = &[("", |_, _| Ordering::Equal)];

    fn names(list: impl Iterator<Item = &'static str>) -> String {
        list.filter(|n| !n.is_empty()).collect::<Vec<_>>().join(", ")
    }

    fn compile(&self, f: &AssetFilters) -> Result<Test<T>, ServiceError> {
        let Some((_, filter)) = self.filters.iter().find(|(name, _)| *name == f.name) else {
            let known = Self::names(self.filters.iter().map(|(n, _)| *n));
            return Err(invalid("Filters", format!("unknown filter name {:?} ({known})", f.name)));
        };
        Ok(match filter {
            Filter::Text(fields) => Test::Text(fields, f.clone()),
            Filter::TextOf(field) => Test::TextOf(*field, f.clone()),
            Filter::TextsOf(texts) => Test::TextsOf(*texts, f.clone()),
            Filter::Level(field, severity) => {
                Test::Level(*severity, f.values.iter().map(|v| parse_level(field, v)).collect::<Result<_, _>>()?)
            }
            Filter::Number(field, number) => Test::Number(
                *number,
                f.values
                    .iter()
                    .map(|v| v.trim().parse::<u64>().map_err(|_| invalid(field, format!("{v:?} is not a number"))))
                    .collect::<Result<_, _>>()?,
            ),
            Filter::Equals(text) => Test::Equals(*text, f.values.iter().map(|v| v.trim().to_string()).collect()),
            Filter::Each(test) => Test::Each(*test, f.values.clone()),
            Filter::Flag(field, holds) => Test::Flag(
                *holds,
                f.values
                    .iter()
                    .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                        "all" => Ok(None),
                        "1" | "true" => Ok(Some(true)),
                        "0" | "false" => Ok(Some(false)),
                        _ => Err(invalid(field, format!("{v:?} is not true, false or all"))),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Filter::OneOf { field, key, tests } => {
                Test::Any(
                    f.values
                        .iter()
                        .map(|v| {
                            let want = key(v);
                            tests.iter().find(|(name, _)| key(name) == want).map(|(_, t)| *t).ok_or_else(|| {
                                invalid(field, format!("{v:?} is not one of {}", Self::names(tests.iter().map(|(n, _)| *n))))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }

    /// Checks a request in this order: `Limit`, `Order`, the filter count, each filter's name and
    /// values (in request order; the first bad one is the error), then `By`. Nothing here depends
    /// on the rows, so bad input is an error even when the list is empty.
    pub fn query(
        &self,
        limit: Option<u64>,
        offset: Option<u64>,
        filters: Option<&[AssetFilters]>,
        by: Option<&str>,
        order: Option<&str>,
    ) -> Result<ListQuery<T>, ServiceError> {
        let paging = page(limit, offset)?;
        let desc = descending(order)?;
        let tests = self.tests(filters.unwrap_or_default())?;
        let by = by.unwrap_or("");
        let Some((_, sort)) = self.sorts.iter().find(|(name, _)| *name == by) else {
            let known = Self::names(self.sorts.iter().map(|(n, _)| *n));
            return Err(invalid("By", format!("cannot sort by {by:?} ({known})")));
        };
        Ok(ListQuery { paging, tests, sort: *sort, tie_break: self.tie_break, desc })
    }

    fn tests(&self, filters: &[AssetFilters]) -> Result<Vec<Test<T>>, ServiceError> {
        check_filters(filters)?;
        filters.iter().map(|f| self.compile(f)).collect()
    }

    /// The rows every filter accepts (in their order), without paging: for actions that select
    /// rows to act on with a list's filters.
    pub fn filter(&self, mut rows: Vec<T>, filters: &[AssetFilters]) -> Result<Vec<T>, ServiceError> {
        let tests = self.tests(filters)?;
        rows.retain(|r| tests.iter().all(|t| t.accepts(r)));
        Ok(rows)
    }
}

impl<T> ListQuery<T> {
    /// The query with other paging: `Some((limit, offset))` as checked by [`page`], `None` every
    /// row (exports write the whole list).
    pub fn with_paging(mut self, paging: Option<(usize, usize)>) -> Self {
        self.paging = paging.unwrap_or((usize::MAX, 0));
        self
    }

    /// Keeps the rows every filter accepts, sorts them (`desc` reverses the key and its tie break;
    /// the sort is stable) and cuts the page.
    pub fn run(self, mut rows: Vec<T>) -> Page<T> {
        rows.retain(|r| self.tests.iter().all(|t| t.accepts(r)));
        let (sort, tie_break) = (self.sort, self.tie_break);
        let rows = sorted(rows, self.desc, |a, b| match tie_break {
            Some(tie) => sort(a, b).then_with(|| tie(a, b)),
            None => sort(a, b),
        });
        Page { total: rows.len() as u64, rows: paged(rows, self.paging) }
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
            ("Id", Filter::Equals(|r| r.n.to_string())),
            ("Big", Filter::Flag("Filters.Big", |r| r.n > 1)),
            ("Above", Filter::Each(|r, v| v.parse().is_ok_and(|x: u64| r.n > x))),
            (
                "Kind",
                Filter::OneOf {
                    field: "Filters.Kind",
                    key: |v| v.to_ascii_lowercase().replace('_', ""),
                    tests: &[("Odd", |r| r.n % 2 == 1), ("BigN", |r| r.n > 2)],
                },
            ),
        ],
        sorts: &[("", |_, _| Ordering::Equal), ("N", |a, b| a.n.cmp(&b.n)), ("Level", |a, b| a.severity.cmp(&b.severity))],
        tie_break: None,
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

    /// The page's names and the total, for filters, `By` and `Order`.
    fn list(filters: &[AssetFilters], by: Option<&str>, order: Option<&str>) -> (Vec<String>, u64) {
        let page = SPEC.query(None, None, Some(filters), by, order).unwrap().run(rows());
        (page.rows.into_iter().map(|r| r.name).collect(), page.total)
    }

    fn names(filters: &[AssetFilters], by: Option<&str>, order: Option<&str>) -> Vec<String> {
        list(filters, by, order).0
    }

    #[test]
    fn filters_and_sorts_from_the_table() {
        assert_eq!(names(&[], None, None), ["alpha", "beta", "gamma"]);
        assert_eq!(names(&[filter("Name", &["A"])], Some("N"), Some("DESC")), ["alpha", "gamma", "beta"]);
        assert_eq!(names(&[filter("Upper", &["ET"])], None, None), ["beta"]);
        // Unknown severity is TCSS level 1 (LOW).
        assert_eq!(names(&[filter("Level", &["low"])], None, None), ["beta", "gamma"]);
        assert_eq!(names(&[filter("Level", &["3"]), filter("N", &["3", "1"])], None, None), ["alpha"]);
        // Equals ignores ExactMatch and substrings: "1" is not "12".
        assert_eq!(names(&[filter("Id", &[" 2", "9"])], None, None), ["gamma"]);
        // Flag: true/1, false/0, all (any case).
        assert_eq!(names(&[filter("Big", &["TRUE"])], None, None), ["alpha", "gamma"]);
        assert_eq!(names(&[filter("Big", &["0"])], None, None), ["beta"]);
        assert_eq!(names(&[filter("Big", &["0", "1"])], None, None), ["alpha", "beta", "gamma"]);
        assert_eq!(names(&[filter("Big", &["all"])], None, None), ["alpha", "beta", "gamma"]);
        // Each: any value's test; a value it cannot read matches nothing.
        assert_eq!(names(&[filter("Above", &["2", "x"])], None, None), ["alpha"]);
        assert_eq!(names(&[filter("Above", &["x"])], None, None), Vec::<String>::new());
        assert_eq!(names(&[AssetFilters { exact_match: Some(false), ..filter("Id", &[""]) }], None, None), Vec::<String>::new());
        // OneOf: any named test, names compared after the key (case, underscores).
        assert_eq!(names(&[filter("Kind", &["odd"])], None, None), ["alpha", "beta"]);
        assert_eq!(names(&[filter("Kind", &["big_n", "ODD"])], None, None), ["alpha", "beta"]);
        // Filters combine with AND; the total counts what passed them, not the page.
        assert_eq!(list(&[filter("Kind", &["Odd"]), filter("Name", &["a"])], None, None), (vec!["alpha".into(), "beta".into()], 2));
    }

    #[test]
    fn sorting_is_stable_and_tie_breaks_reverse_with_the_key() {
        // Without a tie break equal rows keep their stored order in both directions.
        assert_eq!(names(&[], None, Some("desc")), ["alpha", "beta", "gamma"]);
        const TIED: ListSpec<Row> = ListSpec {
            filters: &[],
            sorts: &[("", |_, _| Ordering::Equal), ("Level", |a, b| a.severity.cmp(&b.severity))],
            tie_break: Some(|a, b| a.name.cmp(&b.name)),
        };
        let sorted = |order| -> Vec<String> {
            let mut rs = rows();
            rs.push(Row { name: "delta".into(), severity: Severity::High, n: 0 });
            TIED.query(None, None, None, Some("Level"), order).unwrap().run(rs).rows.into_iter().map(|r| r.name).collect()
        };
        assert_eq!(sorted(None), ["gamma", "beta", "alpha", "delta"]);
        assert_eq!(sorted(Some("-")), ["delta", "alpha", "beta", "gamma"]);
    }

    #[test]
    fn a_joined_table_has_both_tables_in_order() {
        const MORE: ListSpec<Row> = ListSpec {
            filters: &joined::<_, 9>(SPEC.filters, &[("Odd", Filter::Flag("Filters.Odd", |r| r.n % 2 == 1))]),
            sorts: SPEC.sorts,
            tie_break: None,
        };
        let names: Vec<&str> = MORE.filters.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["Name", "Upper", "Level", "N", "Id", "Big", "Above", "Kind", "Odd"]);
        let rows = MORE.query(None, None, Some(&[filter("Odd", &["1"]), filter("Name", &["a"])]), Some("N"), None).unwrap().run(rows());
        assert_eq!(rows.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["beta", "alpha"]);
        assert_eq!(joined::<u8, 3>(&[], &[1, 2, 3]), [1, 2, 3]);
    }

    #[test]
    fn paging_edges() {
        let many = || (0..150).map(|n| Row { name: format!("r{n}"), severity: Severity::Low, n }).collect::<Vec<_>>();
        let page = |limit, offset| SPEC.query(limit, offset, None, None, None).map(|q| q.run(many()));
        // The default is 10 rows; Limit caps at 100 and is an error above it, whatever the rows.
        assert_eq!(page(None, None).unwrap().rows.len(), 10);
        assert_eq!(page(Some(100), None).unwrap().rows.len(), 100);
        assert!(matches!(page(Some(101), None), Err(ServiceError::InvalidParameter { field: "Limit", .. })));
        assert!(matches!(SPEC.query(Some(101), None, None, None, None), Err(ServiceError::InvalidParameter { field: "Limit", .. })));
        // Offset past the end: an empty page, the total unchanged; Limit 0 is an empty page too.
        let p = page(Some(10), Some(1000)).unwrap();
        assert_eq!((p.rows.len(), p.total), (0, 150));
        let p = page(Some(10), Some(u64::MAX)).unwrap();
        assert_eq!((p.rows.len(), p.total), (0, 150));
        let p = page(Some(0), None).unwrap();
        assert_eq!((p.rows.len(), p.total), (0, 150));
        // The last, short page.
        let p = page(Some(100), Some(140)).unwrap();
        assert_eq!(p.rows.iter().map(|r| r.n).collect::<Vec<_>>(), (140..150).collect::<Vec<_>>());
    }

    #[test]
    fn bad_names_and_values_name_the_field_before_any_row_is_read() {
        let field = |r: Result<ListQuery<Row>, ServiceError>| match r {
            Err(ServiceError::InvalidParameter { field, reason }) => (field, reason),
            Err(e) => panic!("expected InvalidParameter, got {e:?}"),
            Ok(_) => panic!("expected InvalidParameter, got a query"),
        };
        let q = |filters: &[AssetFilters], by| SPEC.query(None, None, Some(filters), by, None);
        let (f, reason) = field(q(&[filter("Nope", &["x"])], None));
        assert_eq!(f, "Filters");
        assert_eq!(reason, r#"unknown filter name "Nope" (Name, Upper, Level, N, Id, Big, Above, Kind)"#);
        assert_eq!(field(q(&[filter("Level", &["5"])], None)).0, "Filters.Level");
        assert_eq!(field(q(&[filter("N", &["x"])], None)).0, "Filters.N");
        assert_eq!(field(q(&[filter("Big", &["yes"])], None)).0, "Filters.Big");
        let (f, reason) = field(q(&[filter("Kind", &["even"])], None));
        assert_eq!((f, reason.as_str()), ("Filters.Kind", r#""even" is not one of Odd, BigN"#));
        let (f, reason) = field(q(&[], Some("Size")));
        assert_eq!((f, reason.as_str()), ("By", r#"cannot sort by "Size" (N, Level)"#));
        // The first bad filter wins over a later one and over a bad sort key.
        assert_eq!(field(q(&[filter("Name", &["a"]), filter("Nope", &["x"]), filter("Level", &["9"])], Some("Size"))).0, "Filters");
        // Names are exact: TCSS spells them one way.
        assert_eq!(field(q(&[filter("name", &["a"])], None)).0, "Filters");
        assert_eq!(field(SPEC.query(None, None, None, None, Some("up"))).0, "Order");
        assert!(matches!(q(&[filter("Name", &[])], None), Err(ServiceError::InvalidParameter { field: "Filters", .. })));
        let many: Vec<AssetFilters> = (0..21).map(|_| filter("Name", &["a"])).collect();
        assert!(matches!(q(&many, None), Err(ServiceError::LengthLimit { field: "Filters", .. })));
        // The same checks when a list action selects rows with the filters.
        assert!(SPEC.filter(Vec::new(), &[filter("Nope", &["x"])]).is_err());
        assert_eq!(SPEC.filter(rows(), &[filter("Kind", &["BigN"])]).unwrap().len(), 1);
    }
}
