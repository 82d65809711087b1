//! Alpine apk version ordering.
//!
//! Hand-written: no maintained crate implements apk-tools' rules. Follows apk-tools 2.x
//! `src/version.c` token by token: digits, one letter, `_alpha/_beta/_pre/_rc` (older than
//! the bare version), `_cvs/_svn/_git/_hg/_p` (newer), `-rN` revision.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Invalid = -1,
    DigitOrZero = 0,
    Digit = 1,
    Letter = 2,
    Suffix = 3,
    SuffixNo = 4,
    RevisionNo = 5,
    End = 6,
}

const PRE: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

#[derive(Debug, Clone)]
pub struct ApkVersion(String);

impl ApkVersion {
    pub fn parse(s: &str) -> Result<ApkVersion, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty version".into());
        }
        // apk_version_validate: the token walk must reach the end cleanly.
        let mut t = Tok::Digit;
        let mut b = s.as_bytes();
        while t != Tok::End && t != Tok::Invalid {
            get_token(&mut t, &mut b);
        }
        if t == Tok::Invalid {
            return Err("not an apk version".into());
        }
        Ok(ApkVersion(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn next_token(t: &mut Tok, b: &mut &[u8]) {
    let mut n = Tok::Invalid;
    if b.is_empty() || b[0] == 0 {
        n = Tok::End;
    } else if (*t == Tok::Digit || *t == Tok::DigitOrZero) && b[0].is_ascii_lowercase() {
        n = Tok::Letter;
    } else if *t == Tok::Letter && b[0].is_ascii_digit() {
        n = Tok::Digit;
    } else if *t == Tok::Suffix && b[0].is_ascii_digit() {
        n = Tok::SuffixNo;
    } else {
        match b[0] {
            b'.' => n = Tok::DigitOrZero,
            b'_' => n = Tok::Suffix,
            b'-' if b.len() > 1 && b[1] == b'r' => {
                n = Tok::RevisionNo;
                *b = &b[1..];
            }
            _ => {}
        }
        *b = &b[1..];
    }
    if n < *t
        && !((n == Tok::DigitOrZero && *t == Tok::Digit)
            || (n == Tok::Suffix && *t == Tok::SuffixNo)
            || (n == Tok::Digit && *t == Tok::Letter))
    {
        n = Tok::Invalid;
    }
    *t = n;
}

fn get_token(t: &mut Tok, b: &mut &[u8]) -> i64 {
    if b.is_empty() {
        *t = Tok::End;
        return 0;
    }
    let v: i64;
    let mut i = 0usize;
    let mut nt = Tok::Invalid;
    let digits = |b: &[u8], i: &mut usize| {
        let mut v: i64 = 0;
        while *i < b.len() && b[*i].is_ascii_digit() {
            v = v.saturating_mul(10).saturating_add(i64::from(b[*i] - b'0'));
            *i += 1;
        }
        v
    };
    match *t {
        Tok::DigitOrZero if b[0] == b'0' && b.iter().find(|c| **c != b'0').is_some_and(u8::is_ascii_digit) => {
            // Leading zeros: `1.01` < `1.1`, compared as a negative count. apk-tools 2.12 also
            // applies this to a lone `0`, which makes `1.0_rc1` newer than `1.0`; Alpine's
            // secdb fix versions assume the classic order, so a lone `0` is a plain digit here.
            while i < b.len() && b[i] == b'0' {
                i += 1;
            }
            nt = Tok::Digit;
            v = -(i as i64);
        }
        Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => v = digits(b, &mut i),
        Tok::Letter => {
            v = i64::from(b[0]);
            i = 1;
        }
        Tok::Suffix => {
            if let Some(k) = PRE.iter().position(|p| b.starts_with(p.as_bytes())) {
                i = PRE[k].len();
                v = k as i64 - PRE.len() as i64;
            } else if let Some(k) = POST.iter().position(|p| b.starts_with(p.as_bytes())) {
                i = POST[k].len();
                v = k as i64;
            } else {
                *t = Tok::Invalid;
                return -1;
            }
        }
        _ => {
            *t = Tok::Invalid;
            return -1;
        }
    }
    *b = &b[i..];
    if b.is_empty() {
        *t = Tok::End;
    } else if nt != Tok::Invalid {
        *t = nt;
    } else {
        next_token(t, b);
    }
    v
}

/// apk_version_compare_blob.
fn apk_cmp(a: &str, b: &str) -> Ordering {
    let (mut at, mut bt) = (Tok::Digit, Tok::Digit);
    let (mut av, mut bv) = (0i64, 0i64);
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while at == bt && at != Tok::End && at != Tok::Invalid && av == bv {
        av = get_token(&mut at, &mut a);
        bv = get_token(&mut bt, &mut b);
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if at == bt {
        return Ordering::Equal;
    }
    // Equal so far: the longer one is newer unless what follows is a pre-release suffix.
    let mut tt = at;
    if at == Tok::Suffix && get_token(&mut tt, &mut a) < 0 {
        return Ordering::Less;
    }
    let mut tt = bt;
    if bt == Tok::Suffix && get_token(&mut tt, &mut b) < 0 {
        return Ordering::Greater;
    }
    bt.cmp(&at)
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        apk_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}
