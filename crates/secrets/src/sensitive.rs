//! Sensitive files, recognised by path and confirmed by content: shadow files with real
//! password hashes, shell histories, package-manager and registry credentials, `.netrc`,
//! cloud credential files and SSH host private keys.

use crate::engine::{SecretHit, mask};
use model::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Shadow,
    ShellHistory,
    Npmrc,
    Pypirc,
    DockerConfig,
    Netrc,
    AwsCredentials,
    GcpCredentials,
    AzureCredentials,
    KubeConfig,
    TencentCredentials,
    SshHostKey,
}

/// Which sensitive file `path` (no leading `/`) is, if any.
pub fn classify(path: &str) -> Option<Kind> {
    let base = path.rsplit('/').next().unwrap_or(path);
    let parent = path.rsplit('/').nth(1).unwrap_or("");
    Some(match base {
        "shadow" | "gshadow" if path == format!("etc/{base}") => Kind::Shadow,
        ".bash_history" | ".zsh_history" | ".ash_history" | ".sh_history" | ".history" | ".mysql_history" | ".psql_history" => {
            Kind::ShellHistory
        }
        ".npmrc" => Kind::Npmrc,
        ".pypirc" => Kind::Pypirc,
        "config.json" if parent == ".docker" => Kind::DockerConfig,
        ".netrc" | "_netrc" => Kind::Netrc,
        "credentials" | "config" if parent == ".aws" => Kind::AwsCredentials,
        "application_default_credentials.json" | "credentials.db" | "access_tokens.db" if path.contains(".config/gcloud/") => {
            Kind::GcpCredentials
        }
        "accessTokens.json" | "msal_token_cache.json" | "azureProfile.json" if parent == ".azure" => Kind::AzureCredentials,
        "config" if parent == ".kube" => Kind::KubeConfig,
        "credential" if parent == ".tccli" => Kind::TencentCredentials,
        b if b.starts_with("ssh_host_") && b.ends_with("_key") && path.starts_with("etc/ssh/") => Kind::SshHostKey,
        _ => return None,
    })
}

fn hit(id: &str, title: &str, severity: Severity, line: u32, masked: String) -> SecretHit {
    SecretHit { rule_id: id.into(), title: title.into(), category: "sensitive-file".into(), severity, line, masked }
}

/// Values after `key =` / `key:` on lines whose key contains one of `keys`.
fn key_values<'a>(text: &'a str, keys: &[&str]) -> Vec<(u32, &'a str)> {
    key_values_sep(text, keys, &['=', ':'])
}

fn key_values_sep<'a>(text: &'a str, keys: &[&str], seps: &[char]) -> Vec<(u32, &'a str)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        let Some(pos) = l.find(seps) else { continue };
        let k = l[..pos].trim().trim_matches('"').to_ascii_lowercase();
        if keys.iter().any(|w| k.ends_with(w)) {
            let v = l[pos + 1..].trim().trim_matches(['"', '\'', ',']).trim();
            if !v.is_empty() && !v.starts_with('$') {
                out.push((i as u32 + 1, v));
            }
        }
    }
    out
}

/// Non-empty string values of `"key": "value"` pairs in JSON text, with their lines.
fn json_string_values<'a>(text: &'a str, key: &str) -> Vec<(u32, &'a str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        from = at + key.len();
        let rest = text[from..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some(end) = rest.find('"') else { continue };
        if end > 0 {
            let line = text[..at].matches('\n').count() as u32 + 1;
            out.push((line, &rest[..end]));
        }
    }
    out
}

/// Confirms a sensitive file by its content and reports it (masked).
pub fn check(kind: Kind, data: &[u8]) -> Vec<SecretHit> {
    let text = String::from_utf8_lossy(&data[..data.len().min(4 << 20)]);
    let mut out = Vec::new();
    match kind {
        Kind::Shadow => {
            for (i, line) in text.lines().enumerate() {
                let mut f = line.split(':');
                let (Some(_user), Some(h)) = (f.next(), f.next()) else {
                    continue;
                };
                // `*`, `!`, `!!`, `x`, empty: no usable password. `!$6$...`: locked hash.
                let real = (h.starts_with('$') && h.len() > 10) || (h.len() == 13 && !h.starts_with('!'));
                if real {
                    out.push(hit("shadow-password-hash", "Password hash in shadow file", Severity::High, i as u32 + 1, mask(h)));
                }
            }
        }
        Kind::ShellHistory => {
            if !text.trim().is_empty() {
                out.push(hit("shell-history", "Shell history file", Severity::Low, 0, String::new()));
            }
        }
        Kind::Npmrc => {
            // `//host/:_authToken=...`: the key itself holds a `:`.
            for (line, v) in key_values_sep(&text, &["_authtoken", "_auth", "_password"], &['=']) {
                out.push(hit("npmrc-auth", "npm registry credentials in .npmrc", Severity::High, line, mask(v)));
            }
        }
        Kind::Pypirc => {
            for (line, v) in key_values(&text, &["password"]) {
                out.push(hit("pypirc-password", "Package index password in .pypirc", Severity::High, line, mask(v)));
            }
        }
        Kind::DockerConfig => {
            for key in ["\"auth\"", "\"identitytoken\"", "\"registrytoken\""] {
                for (line, v) in json_string_values(&text, key) {
                    out.push(hit("docker-config-auth", "Registry credentials in Docker config.json", Severity::High, line, mask(v)));
                }
            }
        }
        Kind::Netrc => {
            for (i, line) in text.lines().enumerate() {
                let mut words = line.split_whitespace();
                while let Some(w) = words.next() {
                    if w == "password"
                        && let Some(v) = words.next()
                    {
                        out.push(hit("netrc-password", "Password in .netrc", Severity::High, i as u32 + 1, mask(v)));
                    }
                }
            }
        }
        Kind::AwsCredentials => {
            for (line, v) in key_values(&text, &["aws_secret_access_key", "aws_session_token"]) {
                out.push(hit("aws-credentials-file", "AWS credentials file", Severity::Critical, line, mask(v)));
            }
        }
        Kind::GcpCredentials | Kind::AzureCredentials | Kind::TencentCredentials => {
            let keys: &[&str] = match kind {
                Kind::GcpCredentials => &["refresh_token", "private_key", "client_secret"],
                Kind::AzureCredentials => &["accesstoken", "refreshtoken", "secret"],
                _ => &["secretkey", "secret_key"],
            };
            let vals = key_values(&text, keys);
            if let Some((line, v)) = vals.first() {
                out.push(hit("cloud-credentials-file", "Cloud provider credentials file", Severity::Critical, *line, mask(v)));
            } else if kind == Kind::GcpCredentials && !data.is_empty() && data.starts_with(b"SQLite format 3") {
                out.push(hit("cloud-credentials-file", "Cloud provider credentials file", Severity::Critical, 0, String::new()));
            }
        }
        Kind::KubeConfig => {
            for (line, v) in key_values(&text, &["client-key-data", "token", "password"]) {
                out.push(hit("kubeconfig-credentials", "Kubernetes credentials in kubeconfig", Severity::Critical, line, mask(v)));
            }
        }
        Kind::SshHostKey => {
            if text.contains("PRIVATE KEY-----") {
                let body = text.lines().find(|l| !l.starts_with("-----") && !l.trim().is_empty()).unwrap_or("");
                out.push(hit("ssh-host-private-key", "SSH host private key", Severity::High, 1, mask(body.trim())));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(path: &str, text: &str) -> Vec<String> {
        classify(path).map(|k| check(k, text.as_bytes())).unwrap_or_default().into_iter().map(|h| h.rule_id).collect()
    }

    #[test]
    fn shadow_only_real_hashes() {
        let base = "root:*:19000:0:99999:7:::\ndaemon:*:19000::::::\nnobody:!:1::::::\n";
        assert!(ids("etc/shadow", base).is_empty());
        let real = format!("{base}app:$y$j9T$abcdefghijklmnop$qrstuvwxyz0123456789ABCDEFGHIJ:19000::::::\n");
        assert_eq!(ids("etc/shadow", &real), vec!["shadow-password-hash"]);
        assert!(ids("usr/share/shadow", &real).is_empty());
    }

    #[test]
    fn credential_files() {
        assert_eq!(ids("root/.npmrc", "//registry.npmjs.org/:_authToken=npm_abcdef\n"), vec!["npmrc-auth"]);
        assert!(ids("root/.npmrc", "registry=https://registry.npmjs.org/\n").is_empty());
        assert_eq!(ids("root/.pypirc", "[pypi]\nusername = u\npassword = hunter22\n"), vec!["pypirc-password"]);
        assert_eq!(ids("root/.docker/config.json", "{\"auths\":{\"r\":{\"auth\":\"dXNlcjpwYXNz\"}}}\n"), vec!["docker-config-auth"]);
        assert!(ids("root/.docker/config.json", "{\"auths\":{\"r\":{}},\"credsStore\":\"desktop\"}\n").is_empty());
        assert_eq!(
            ids("root/.docker/config.json", "{\n \"auths\": {\n  \"r\": {\n   \"auth\": \"dXNlcjpwYXNz\"\n  }\n }\n}\n"),
            vec!["docker-config-auth"]
        );
        assert_eq!(ids("root/.netrc", "machine h login u password p4ss\n"), vec!["netrc-password"]);
        assert_eq!(ids("root/.aws/credentials", "[default]\naws_secret_access_key = abc\n"), vec!["aws-credentials-file"]);
        assert_eq!(ids("root/.bash_history", "ls\n"), vec!["shell-history"]);
        assert_eq!(ids("etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n"), vec!["ssh-host-private-key"]);
    }
}
