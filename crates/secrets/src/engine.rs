//! The scanning core: keyword prefilter (aho-corasick) → regex over bounded, overlapping
//! chunks → allow-list → masking. No I/O; usable without the layer walker.

use crate::Error;
use crate::rules::RuleSpec;
use crate::sensitive;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use model::Severity;
use regex::bytes::{Regex, RegexBuilder};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Regex runs over chunks of this size...
const CHUNK: usize = 256 << 10;
/// ...overlapping by this much, so a secret across a chunk edge is still seen whole.
const OVERLAP: usize = 4 << 10;

/// One finding of the secret scanner. The secret itself is never kept: only `masked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretHit {
    pub rule_id: String,
    pub title: String,
    /// `secret`, `private-key` or `sensitive-file`.
    pub category: String,
    pub severity: Severity,
    /// 1-based line, 0 when not line-oriented.
    pub line: u32,
    /// First 4 characters, the rest starred.
    pub masked: String,
}

/// Per-file budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of a file looked at (the rest is ignored, with a warning).
    pub max_bytes: usize,
    /// Wall time for the regex phase of one file.
    pub max_time: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { max_bytes: 32 << 20, max_time: Duration::from_secs(2) }
    }
}

/// What scanning one file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileScan {
    pub hits: Vec<SecretHit>,
    pub warnings: Vec<String>,
}

struct Compiled {
    spec: RuleSpec,
    regex: Regex,
}

/// Known example values and placeholders that are never reported.
const ALLOWED_VALUES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
];

/// Substrings that make a value a placeholder (checked case-insensitively).
const PLACEHOLDER_PARTS: &[&str] =
    &["example", "xxxxxx", "******", "changeme", "change_me", "your_", "your-", "<your", "placeholder", "dummy", "redacted"];

/// Masks a secret: its first 4 characters, then one `*` per remaining character.
pub fn mask(secret: &str) -> String {
    let mut out: String = secret.chars().take(4).collect();
    out.extend(std::iter::repeat_n('*', secret.chars().count().saturating_sub(4)));
    out
}

fn entropy(s: &[u8]) -> f32 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

/// Whole values that are placeholders, not secrets (`user:password@host` in docs).
const PLACEHOLDER_VALUES: &[&str] =
    &["password", "passwd", "pass", "pwd", "secret", "test", "foo", "bar", "token", "apikey", "null", "none", "true", "false"];

fn allowed_value(v: &str) -> bool {
    if ALLOWED_VALUES.contains(&v) {
        return true;
    }
    let l = v.to_ascii_lowercase();
    if PLACEHOLDER_VALUES.contains(&l.as_str()) {
        return true;
    }
    PLACEHOLDER_PARTS.iter().any(|p| l.contains(p))
}

/// Paths whose content is never scanned: package test fixtures and examples, docs.
pub fn allowed_path(path: &str) -> bool {
    const SKIP_PREFIX: &[&str] = &[
        "usr/share/doc/",
        "usr/share/man/",
        "usr/share/info/",
        "usr/share/locale/",
        "usr/share/zoneinfo/",
        "usr/share/i18n/",
        "usr/share/common-licenses/",
        "usr/share/mime/",
        "usr/lib/locale/",
        "usr/share/ca-certificates/",
        "etc/ssl/certs/",
        "proc/",
        "sys/",
        "dev/",
    ];
    const SKIP_EXT: &[&str] = &[
        ".so", ".a", ".o", ".pyc", ".pyo", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".svg", ".woff", ".woff2", ".ttf", ".otf", ".eot",
        ".gz", ".xz", ".bz2", ".zst", ".zip", ".jar", ".whl", ".mo", ".wasm", ".map", ".pdf", ".crt", ".pub",
    ];
    const FIXTURE_DIRS: &[&str] =
        &["test", "tests", "testdata", "test_data", "fixtures", "__tests__", "spec", "example", "examples", "docs"];
    if SKIP_PREFIX.iter().any(|p| path.starts_with(p)) {
        return true;
    }
    let base = path.rsplit('/').next().unwrap_or(path);
    if SKIP_EXT.iter().any(|e| base.ends_with(e)) || base.contains(".so.") {
        return true;
    }
    // Inside a third-party package tree, test fixture and example directories.
    const PKG_ROOTS: &[&str] = &["node_modules/", "site-packages/", "dist-packages/", "vendor/", "gems/"];
    if let Some(idx) = PKG_ROOTS.iter().filter_map(|r| path.find(r).map(|i| i + r.len())).max() {
        let rest = &path[idx..];
        let mut comps: Vec<&str> = rest.split('/').collect();
        comps.pop();
        if comps.iter().any(|c| FIXTURE_DIRS.contains(&c.to_ascii_lowercase().as_str())) {
            return true;
        }
    }
    false
}

/// The compiled secret rules plus the keyword automaton.
pub struct Secrets {
    rules: Vec<Compiled>,
    /// Pattern index → rule index.
    keyword_rule: Vec<usize>,
    ac: AhoCorasick,
    budget: Budget,
}

impl Secrets {
    /// Compiles `rules`; a rule without keywords or with a bad regex is an error.
    pub fn new(rules: Vec<RuleSpec>) -> Result<Secrets, Error> {
        let mut compiled = Vec::new();
        let mut keywords = Vec::new();
        let mut keyword_rule = Vec::new();
        for spec in rules {
            if spec.keywords.is_empty() {
                return Err(Error::Rule { id: spec.id, reason: "no keywords for the prefilter".into() });
            }
            let regex = RegexBuilder::new(&spec.regex)
                .size_limit(32 << 20)
                .build()
                .map_err(|e| Error::Rule { id: spec.id.clone(), reason: e.to_string() })?;
            for k in &spec.keywords {
                keywords.push(k.clone());
                keyword_rule.push(compiled.len());
            }
            compiled.push(Compiled { spec, regex });
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&keywords)
            .map_err(|e| Error::Rule { id: "keywords".into(), reason: e.to_string() })?;
        Ok(Secrets { rules: compiled, keyword_rule, ac, budget: Budget::default() })
    }

    /// The built-in rule table.
    pub fn builtin() -> Result<Secrets, Error> {
        Secrets::new(crate::rules::builtin_rules())
    }

    pub fn with_budget(mut self, budget: Budget) -> Secrets {
        self.budget = budget;
        self
    }

    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.spec.id.as_str())
    }

    /// Scans one file: sensitive-file checks by path, then secret rules over its content.
    /// `path` has no leading `/`.
    pub fn scan(&self, path: &str, data: &[u8]) -> FileScan {
        let mut out = FileScan::default();
        let sensitive_kind = sensitive::classify(path);
        if let Some(kind) = sensitive_kind {
            out.hits.extend(sensitive::check(kind, data));
        }
        if allowed_path(path) && sensitive_kind.is_none() {
            return out;
        }
        let data = if data.len() > self.budget.max_bytes {
            out.warnings.push(format!("{path}: only the first {} bytes scanned for secrets", self.budget.max_bytes));
            &data[..self.budget.max_bytes]
        } else {
            data
        };
        // Binary files (a NUL early on) hold no text secrets worth the regex time.
        if memchr::memchr(0, &data[..data.len().min(8192)]).is_some() {
            return out;
        }
        let mut candidate = vec![false; self.rules.len()];
        let mut left = self.rules.len();
        for m in self.ac.find_overlapping_iter(data) {
            let r = self.keyword_rule[m.pattern().as_usize()];
            if !candidate[r] {
                candidate[r] = true;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        let start = Instant::now();
        let mut lines = LineCounter::default();
        for (ri, rule) in self.rules.iter().enumerate() {
            if !candidate[ri] {
                continue;
            }
            let spec = &rule.spec;
            if !spec.path_suffixes.is_empty() && !spec.path_suffixes.iter().any(|s| base.ends_with(s.as_str())) {
                continue;
            }
            if sensitive_kind == Some(sensitive::Kind::SshHostKey) && spec.category == "private-key" {
                continue; // already reported as the host key itself
            }
            let mut chunk_start = 0;
            while chunk_start < data.len() {
                if start.elapsed() > self.budget.max_time {
                    out.warnings.push(format!("{path}: secret scan stopped after {:?} (time budget)", self.budget.max_time));
                    return dedup(out);
                }
                let own_end = (chunk_start + CHUNK).min(data.len());
                let end = (own_end + OVERLAP).min(data.len());
                let chunk = &data[chunk_start..end];
                for caps in rule.regex.captures_iter(chunk) {
                    let Some(whole) = caps.get(0) else { continue };
                    if chunk_start + whole.start() >= own_end && own_end < data.len() {
                        break; // belongs to the next chunk
                    }
                    let Some(sec) = caps.get(spec.secret_group).or(Some(whole)) else {
                        continue;
                    };
                    let value = String::from_utf8_lossy(sec.as_bytes());
                    if allowed_value(&value) {
                        continue;
                    }
                    if spec.min_entropy > 0.0 && entropy(sec.as_bytes()) < spec.min_entropy {
                        continue;
                    }
                    out.hits.push(SecretHit {
                        rule_id: spec.id.clone(),
                        title: spec.title.clone(),
                        category: spec.category.clone(),
                        severity: spec.severity,
                        line: lines.line_at(data, chunk_start + sec.start()),
                        masked: mask(&value),
                    });
                }
                if end == data.len() {
                    break;
                }
                chunk_start = own_end;
            }
        }
        dedup(out)
    }
}

/// The same secret reported twice on one line (overlapping rules, chunk overlap): keep one.
fn dedup(mut out: FileScan) -> FileScan {
    let mut seen = std::collections::HashSet::new();
    out.hits.retain(|h| seen.insert((h.rule_id.clone(), h.line, h.masked.clone())));
    out
}

/// Line numbers for increasing offsets without rescanning from the start each time.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: u32,
}

impl LineCounter {
    fn line_at(&mut self, data: &[u8], pos: usize) -> u32 {
        if pos < self.pos {
            self.pos = 0;
            self.line = 0;
        }
        self.line += memchr::memchr_iter(b'\n', &data[self.pos..pos]).count() as u32;
        self.pos = pos;
        self.line + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(path: &str, text: &str) -> Vec<SecretHit> {
        Secrets::builtin().unwrap().scan(path, text.as_bytes()).hits
    }

    fn ids(hits: &[SecretHit]) -> Vec<&str> {
        hits.iter().map(|h| h.rule_id.as_str()).collect()
    }

    #[test]
    fn masks_first_four() {
        assert_eq!(mask("AKIAGN2LZ5PJA5VZNVAB"), "AKIA****************");
        assert_eq!(mask("abc"), "abc");
    }

    #[test]
    fn aws_pair_with_lines() {
        let t =
            "x = 1\nAWS_ACCESS_KEY_ID = \"AKIAQ3EGUJ2VY7T4ZK5M\"\nAWS_SECRET_ACCESS_KEY = \"Qm9vZ2Vyc0FyZU5vdFNlY3JldHNKdXN0VGVzdDEyMw\"\n";
        let h = scan("app/settings.py", t);
        assert_eq!(ids(&h), vec!["aws-access-key-id"], "secret key above is 41 chars: no match");
        assert_eq!(h[0].line, 2);
        let t = "aws_secret_access_key = Qm9vZ2Vyc0FyZU5vdFNlY3JldHNKdXN0VGVzdDEy\n";
        let h = scan("root/.aws/credentials", t);
        assert!(ids(&h).contains(&"aws-secret-access-key"), "{h:?}");
        assert!(h.iter().all(|x| !x.masked.contains("9vZ2")));
    }

    #[test]
    fn allow_list() {
        assert!(scan("app/a.py", "key = 'AKIAIOSFODNN7EXAMPLE'").is_empty());
        assert!(scan("app/node_modules/aws-sdk/test/fixtures/c.js", "key = 'AKIAQ3EGUJ2VY7T4ZK5M'").is_empty());
        assert_eq!(scan("app/node_modules/x/lib/c.js", "key = 'AKIAQ3EGUJ2VY7T4ZK5M'").len(), 1);
    }

    #[test]
    fn tokens() {
        let t = concat!(
            "GITHUB=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n",
            "glpat-AbCdEfGhIjKlMnOpQrSt\n",
            "xoxb-123456789012-abcdefghijkl\n",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc\n",
            "npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n",
            "postgres://admin:S3cr3tPassw0rd@db.internal:5432/app\n",
            "LTAI5tAbCdEfGhIjKlMnOpQr\n",
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3QrStUvw\n",
        );
        let h = scan("app/notes.txt", t);
        let got = ids(&h);
        for id in [
            "github-pat",
            "gitlab-pat",
            "slack-token",
            "stripe-secret-key",
            "npm-access-token",
            "url-password",
            "alibaba-access-key-id",
            "tencent-secret-id",
        ] {
            assert!(got.contains(&id), "{id} missing in {got:?}");
        }
        assert!(!scan("app/notes.txt", "see http://user:password@example.com").iter().any(|h| h.rule_id == "url-password"));
    }

    #[test]
    fn private_keys() {
        let rsa = "-----BEGIN RSA PRIVATE KEY-----\nMIIEogIBAAKCAQEA18U2Ka/NW5P+F5Qxd5EV8YmDJnJCUvnJ0wGXGo4uH9JDsNGo\n-----END RSA PRIVATE KEY-----\n";
        let h = scan("root/.ssh/id_rsa", rsa);
        assert_eq!(ids(&h), vec!["private-key-rsa"]);
        assert!(h[0].masked.starts_with("MIIE*"));
        let p8 = "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n\"";
        assert_eq!(ids(&scan("app/key.json", p8)), vec!["private-key-pkcs8"]);
        let pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF0abcdefghijklmnopqrstuv\n";
        assert_eq!(ids(&scan("home/a/k.asc", pgp)), vec!["private-key-pgp"]);
    }

    #[test]
    fn config_password_needs_config_file_and_entropy() {
        assert_eq!(ids(&scan("etc/app/app.yaml", "db_password: \"q8Zr2mVx7Lp3\"\n")), vec!["config-password"]);
        assert!(scan("etc/app/app.yaml", "db_password: \"aaaaaaaaaa\"\n").is_empty());
        assert!(scan("app/app.py", "password = \"q8Zr2mVx7Lp3\"\n").is_empty());
    }

    #[test]
    fn secret_across_chunk_edge_found_once() {
        let mut t = "a".repeat(CHUNK - 10);
        t.push_str(" ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 \n");
        let h = scan("app/big.txt", &t);
        assert_eq!(ids(&h), vec!["github-pat"]);
    }

    #[test]
    fn binary_files_skipped() {
        let t = "\0\0ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
        assert!(scan("usr/bin/x", t).is_empty());
    }
}
