//! The secret rule table: plain data, the same shape for the built-ins and user config.

use model::Severity;
use serde::{Deserialize, Serialize};

/// One secret rule. `keywords` are matched case-insensitively by the prefilter; the regex
/// runs only on files holding one of them. `secret_group` is the capture group holding the
/// secret (0 = whole match); only its masked form is ever kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSpec {
    pub id: String,
    pub title: String,
    /// `secret` or `private-key`.
    pub category: String,
    pub severity: Severity,
    pub keywords: Vec<String>,
    pub regex: String,
    #[serde(default)]
    pub secret_group: usize,
    /// Only files whose name ends with one of these (empty = every file).
    #[serde(default)]
    pub path_suffixes: Vec<String>,
    /// Minimum Shannon entropy (bits per char) of the secret; 0 = no check.
    #[serde(default)]
    pub min_entropy: f32,
}

struct B {
    id: &'static str,
    title: &'static str,
    category: &'static str,
    severity: Severity,
    keywords: &'static [&'static str],
    regex: &'static str,
    group: usize,
    suffixes: &'static [&'static str],
    entropy: f32,
}

const fn b(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    keywords: &'static [&'static str],
    regex: &'static str,
    group: usize,
) -> B {
    B { id, title, category: "secret", severity, keywords, regex, group, suffixes: &[], entropy: 0.0 }
}

/// A PEM-style private key; the masked value is the first body line.
const fn key(id: &'static str, title: &'static str, regex: &'static str) -> B {
    B {
        id,
        title,
        category: "private-key",
        severity: Severity::High,
        keywords: &["PRIVATE KEY"],
        regex,
        group: 1,
        suffixes: &[],
        entropy: 0.0,
    }
}

use Severity::{Critical, High, Medium};

/// Config-like files where a generic `password = "..."` is worth reporting.
const CONFIG_FILES: &[&str] = &[
    ".env",
    ".ini",
    ".cfg",
    ".conf",
    ".cnf",
    ".yaml",
    ".yml",
    ".json",
    ".toml",
    ".properties",
    ".xml",
    "settings.py",
    "config.py",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".git-credentials",
];

// A private key body line follows the header, possibly after PEM headers (Proc-Type...) or,
// in JSON/escaped strings, after a literal `\n`.
macro_rules! pem {
    ($begin:literal) => {
        concat!("-----BEGIN ", $begin, "-----(?:\\s|\\\\n)+(?:[A-Za-z-]+: [^\\n]*(?:\\s|\\\\n)+)*([A-Za-z0-9+/=]{16,})")
    };
}

const BUILTIN: &[B] = &[
    b(
        "aws-access-key-id",
        "AWS access key ID",
        Critical,
        &["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T"],
        r"(?:^|[^A-Za-z0-9])((?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z2-7]{16})(?:[^A-Za-z0-9]|$)",
        1,
    ),
    b(
        "aws-secret-access-key",
        "AWS secret access key",
        Critical,
        &["secret_access_key", "secret-access-key", "secretaccesskey", "aws_secret", "aws-secret"],
        r#"(?i)aws[_-]?secret[_-]?(?:access[_-]?)?key["']?\s*(?:=>|:|=)\s*["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        1,
    ),
    b("gcp-api-key", "Google Cloud API key", High, &["AIza"], r"(?:^|[^A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})(?:[^A-Za-z0-9_-]|$)", 1),
    b(
        "gcp-service-account-key",
        "Google Cloud service account key",
        Critical,
        &["service_account"],
        r#""type"\s*:\s*"service_account"[\s\S]{0,1000}?"private_key_id"\s*:\s*"([a-f0-9]{40})""#,
        1,
    ),
    b("azure-storage-account-key", "Azure storage account key", Critical, &["accountkey"], r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)", 1),
    b(
        "azure-ad-client-secret",
        "Azure AD client secret",
        High,
        &["Q~"],
        r"(?:^|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)",
        1,
    ),
    b(
        "alibaba-access-key-id",
        "Alibaba Cloud AccessKey ID",
        High,
        &["LTAI"],
        r"(?:^|[^A-Za-z0-9])(LTAI[A-Za-z0-9]{12,20})(?:[^A-Za-z0-9]|$)",
        1,
    ),
    b(
        "alibaba-access-key-secret",
        "Alibaba Cloud AccessKey secret",
        Critical,
        &["alibaba", "aliyun", "accesskeysecret"],
        r#"(?i)(?:alibaba|aliyun|access_?key_?secret)[\w.-]{0,20}?["']?\s*(?:=>|:|=)\s*["']?([A-Za-z0-9]{30})(?:[^A-Za-z0-9]|$)"#,
        1,
    ),
    b("tencent-secret-id", "Tencent Cloud SecretId", High, &["AKID"], r"(?:^|[^A-Za-z0-9])(AKID[A-Za-z0-9]{32})(?:[^A-Za-z0-9]|$)", 1),
    b(
        "tencent-secret-key",
        "Tencent Cloud SecretKey",
        Critical,
        &["tencent", "qcloud", "tccli"],
        r#"(?i)(?:tencent|qcloud|tccli)[\w.-]{0,25}?secret_?key["']?\s*(?:=>|:|=)\s*["']?([A-Za-z0-9]{32})(?:[^A-Za-z0-9]|$)"#,
        1,
    ),
    b(
        "github-pat",
        "GitHub personal access token",
        Critical,
        &["ghp_", "github_pat_"],
        r"(ghp_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{82})",
        1,
    ),
    b("github-oauth", "GitHub OAuth access token", Critical, &["gho_"], r"(gho_[0-9A-Za-z]{36})", 1),
    b("github-app-token", "GitHub app token", Critical, &["ghu_", "ghs_"], r"((?:ghu|ghs)_[0-9A-Za-z]{36})", 1),
    b("github-refresh-token", "GitHub refresh token", Critical, &["ghr_"], r"(ghr_[0-9A-Za-z]{76})", 1),
    b("gitlab-pat", "GitLab personal access token", Critical, &["glpat-"], r"(glpat-[0-9A-Za-z_-]{20})", 1),
    b(
        "gitlab-runner-token",
        "GitLab runner token",
        High,
        &["glrt-", "GR1348941"],
        r"(glrt-[0-9A-Za-z_-]{20}|GR1348941[0-9A-Za-z_-]{20})",
        1,
    ),
    b(
        "slack-token",
        "Slack token",
        High,
        &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "xoxe"],
        r"(xox(?:[baprs]|e(?:\.xox[bp])?)-[0-9A-Za-z-]{10,250})",
        1,
    ),
    b(
        "slack-webhook-url",
        "Slack webhook URL",
        High,
        &["hooks.slack.com"],
        r"(https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32})",
        1,
    ),
    b(
        "stripe-secret-key",
        "Stripe secret key",
        Critical,
        &["sk_live_", "rk_live_", "sk_test_", "rk_test_"],
        r"(?:^|[^A-Za-z0-9])((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,99})(?:[^A-Za-z0-9]|$)",
        1,
    ),
    b("npm-access-token", "npm access token", Critical, &["npm_"], r"(?:^|[^A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?:[^A-Za-z0-9]|$)", 1),
    b("pypi-upload-token", "PyPI upload token", Critical, &["pypi-AgEIcHlwaS5vcmc"], r"(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})", 1),
    b(
        "jwt",
        "JSON Web Token",
        Medium,
        &["eyJ"],
        r"(?:^|[^A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})",
        1,
    ),
    b(
        "url-password",
        "Password in URL",
        High,
        &["://"],
        r#"[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:@/'"<>]{1,64}:([^\s:@/'"<>]{3,128})@[A-Za-z0-9.-]{2,}"#,
        1,
    ),
    key("private-key-rsa", "RSA private key", pem!("RSA PRIVATE KEY")),
    key("private-key-dsa", "DSA private key", pem!("DSA PRIVATE KEY")),
    key("private-key-ec", "EC private key", pem!("EC PRIVATE KEY")),
    key("private-key-openssh", "OpenSSH private key", pem!("OPENSSH PRIVATE KEY")),
    key("private-key-pkcs8", "PKCS#8 private key", pem!("(?:ENCRYPTED )?PRIVATE KEY")),
    key("private-key-pgp", "PGP private key block", pem!("PGP PRIVATE KEY BLOCK")),
];

/// Generic `password = "..."` in config files: entropy-checked to skip placeholders.
const CONFIG_PASSWORD: B = B {
    id: "config-password",
    title: "Password in configuration file",
    category: "secret",
    severity: High,
    keywords: &["password", "passwd", "pwd", "secret", "token", "api_key", "apikey"],
    regex: r#"(?i)["']?[a-z0-9_.-]{0,30}(?:password|passwd|pwd|secret|token|api_?key)["']?\s*(?:=>|:|=)\s*["']([^"'\s$%{}<>]{8,128})["']"#,
    group: 1,
    suffixes: CONFIG_FILES,
    entropy: 3.0,
};

/// The built-in rules (Trivy-/gitleaks-style), as data.
pub fn builtin_rules() -> Vec<RuleSpec> {
    BUILTIN
        .iter()
        .chain(std::iter::once(&CONFIG_PASSWORD))
        .map(|r| RuleSpec {
            id: r.id.into(),
            title: r.title.into(),
            category: r.category.into(),
            severity: r.severity,
            keywords: r.keywords.iter().map(|k| k.to_string()).collect(),
            regex: r.regex.into(),
            secret_group: r.group,
            path_suffixes: r.suffixes.iter().map(|k| k.to_string()).collect(),
            min_entropy: r.entropy,
        })
        .collect()
}
