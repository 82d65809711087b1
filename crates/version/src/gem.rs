//! RubyGems `Gem::Version` ordering.
//!
//! Hand-written: no maintained crate implements it. Follows rubygems `lib/rubygems/version.rb`:
//! `-` means `.pre.`; segments are digit runs or letter runs; any letter segment makes a
//! pre-release (older than the numeric prefix); trailing zeros of each part are dropped.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Num(u64),
    Str(String),
}

#[derive(Debug, Clone)]
pub struct GemVersion {
    canonical: Vec<Seg>,
}

impl GemVersion {
    pub fn parse(s: &str) -> Result<GemVersion, String> {
        let s = s.trim();
        let s = if s.is_empty() { "0" } else { s };
        // Gem::Version::ANCHORED_VERSION_PATTERN.
        let ok = {
            let (main, pre) = match s.split_once('-') {
                Some((m, p)) => (m, Some(p)),
                None => (s, None),
            };
            let mut parts = main.split('.');
            let first_ok = parts.next().is_some_and(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
            first_ok
                && parts.all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric()))
                && pre.is_none_or(|p| p.split('.').all(|q| !q.is_empty() && q.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')))
        };
        if !ok {
            return Err("not a RubyGems version".into());
        }
        let text = s.replace('-', ".pre.");
        let mut segs = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let st = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n = text[st..i].parse::<u64>().map_err(|e| e.to_string())?;
                segs.push(Seg::Num(n));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                segs.push(Seg::Str(text[st..i].to_owned()));
            } else {
                i += 1;
            }
        }
        // canonical_segments: drop trailing zeros of the numeric part and of the string part.
        let split = segs.iter().position(|s| matches!(s, Seg::Str(_))).unwrap_or(segs.len());
        let mut string_part = segs.split_off(split);
        let mut numeric = segs;
        while numeric.last() == Some(&Seg::Num(0)) {
            numeric.pop();
        }
        while string_part.last() == Some(&Seg::Num(0)) {
            string_part.pop();
        }
        numeric.extend(string_part);
        Ok(GemVersion { canonical: numeric })
    }

    /// A version with a letter in it is a pre-release.
    pub fn is_prerelease(&self) -> bool {
        self.canonical.iter().any(|s| matches!(s, Seg::Str(_)))
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num(0);
        let n = self.canonical.len().max(other.canonical.len());
        for i in 0..n {
            let l = self.canonical.get(i).unwrap_or(&zero);
            let r = other.canonical.get(i).unwrap_or(&zero);
            let ord = match (l, r) {
                (Seg::Num(a), Seg::Num(b)) => a.cmp(b),
                (Seg::Str(a), Seg::Str(b)) => a.cmp(b),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GemVersion {}
