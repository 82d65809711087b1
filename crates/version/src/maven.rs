//! Maven ComparableVersion ordering.
//!
//! Hand-written: no maintained crate implements Maven's ordering. Follows
//! `org.apache.maven.artifact.versioning.ComparableVersion` (3.x): items split on `.`, `-`
//! and digit/letter transitions; qualifiers `alpha < beta < milestone < rc < snapshot < ""
//! (ga, final, release) < sp`, unknown qualifiers after, lexically; trailing nulls removed.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Digits without leading zeros (arbitrary length, like Java's BigInteger).
    Int(String),
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: &str = "5";

fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{}", QUALIFIERS.len(), q),
    }
}

fn string_item(value: &str, followed_by_digit: bool) -> Item {
    let v = if followed_by_digit && value.len() == 1 {
        match value {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            other => other,
        }
    } else {
        value
    };
    let v = match v {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(v.to_owned())
}

fn int_item(digits: &str) -> Item {
    let t = digits.trim_start_matches('0');
    Item::Int(if t.is_empty() { "0".into() } else { t.into() })
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(v) => v == "0",
            Item::Str(v) => comparable_qualifier(v) == RELEASE_INDEX,
            Item::List(l) => l.is_empty(),
        }
    }

    fn cmp_item(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(v), None) => {
                if v == "0" {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(v), None) => comparable_qualifier(v).as_str().cmp(RELEASE_INDEX),
            (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => comparable_qualifier(a).cmp(&comparable_qualifier(b)),
            (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
            (Item::List(l), None) => {
                for i in l {
                    let r = i.cmp_item(None);
                    if r != Ordering::Equal {
                        return r;
                    }
                }
                Ordering::Equal
            }
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => {
                let n = a.len().max(b.len());
                for k in 0..n {
                    let r = match (a.get(k), b.get(k)) {
                        (None, Some(r)) => r.cmp_item(None).reverse(),
                        (Some(l), r) => l.cmp_item(r),
                        (None, None) => Ordering::Equal,
                    };
                    if r != Ordering::Equal {
                        return r;
                    }
                }
                Ordering::Equal
            }
        }
    }
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

#[derive(Debug, Clone)]
pub struct MavenVersion {
    canonical: Item,
}

impl MavenVersion {
    pub fn parse(s: &str) -> Result<MavenVersion, String> {
        let v = s.trim().to_lowercase();
        if v.is_empty() {
            return Err("empty version".into());
        }
        // Nested lists as a stack of vectors; a finished child is pushed into its parent.
        let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
        let bytes = v.as_bytes();
        let mut is_digit = false;
        let mut start = 0usize;
        let parse_item = |is_digit: bool, buf: &str| {
            if is_digit { int_item(buf) } else { string_item(buf, false) }
        };
        for (i, &c) in bytes.iter().enumerate() {
            let top = stack.len() - 1;
            if c == b'.' {
                let item = if i == start { Item::Int("0".into()) } else { parse_item(is_digit, &v[start..i]) };
                stack[top].push(item);
                start = i + 1;
            } else if c == b'-' {
                let item = if i == start { Item::Int("0".into()) } else { parse_item(is_digit, &v[start..i]) };
                stack[top].push(item);
                start = i + 1;
                stack.push(Vec::new());
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    stack[top].push(string_item(&v[start..i], true));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    stack[top].push(int_item(&v[start..i]));
                    start = i;
                    stack.push(Vec::new());
                }
                is_digit = false;
            }
        }
        if bytes.len() > start {
            let top = stack.len() - 1;
            stack[top].push(parse_item(is_digit, &v[start..]));
        }
        while stack.len() > 1 {
            let mut child = stack.pop().unwrap_or_default();
            normalize(&mut child);
            if let Some(parent) = stack.last_mut() {
                parent.push(Item::List(child));
            }
        }
        let mut root = stack.pop().unwrap_or_default();
        normalize(&mut root);
        Ok(MavenVersion { canonical: Item::List(root) })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.canonical.cmp_item(Some(&other.canonical))
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}
