//! Text tables for terminals: [`Table`], the one renderer every table goes through, and the
//! tables of the two report kinds (a content report's packages, a scan's findings).

use crate::Report;
use crate::findings::{Findings, Sections};

/// Rows of left-aligned cells under a header. Each cell but a row's last is padded to its
/// column's width and columns are joined by a gap; trailing blanks are dropped. A row may have
/// fewer cells than the header (a failed import names only its path and error).
#[derive(Debug, Clone)]
pub struct Table {
    rows: Vec<Vec<String>>,
    gap: &'static str,
    /// Fixed column widths (a longer cell pushes only its own row); `None`: the widest cell.
    fixed: Option<Vec<usize>>,
}

impl Table {
    /// Columns as wide as their widest cell, two spaces apart.
    pub fn fit<const N: usize>(header: [&str; N]) -> Table {
        Table { rows: vec![header.map(String::from).to_vec()], gap: "  ", fixed: None }
    }

    /// Columns of fixed widths, one space apart (the findings table: rows line up however many).
    pub fn fixed<const N: usize>(header: [&str; N], widths: &[usize]) -> Table {
        Table { rows: vec![header.map(String::from).to_vec()], gap: " ", fixed: Some(widths.to_vec()) }
    }

    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        self.rows.push(cells.into_iter().collect());
    }

    /// Data rows (the header not counted).
    pub fn len(&self) -> usize {
        self.rows.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn render(&self) -> String {
        let width = |c: usize| match &self.fixed {
            Some(w) => w.get(c).copied().unwrap_or(0),
            None => self.rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0),
        };
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols).map(width).collect();
        let mut out = String::new();
        for r in &self.rows {
            let mut line = String::new();
            for (c, cell) in r.iter().enumerate() {
                if c > 0 {
                    line.push_str(self.gap);
                }
                line.push_str(cell);
                if c + 1 < r.len() {
                    line.extend(std::iter::repeat_n(' ', widths[c].saturating_sub(cell.chars().count())));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A content report: image and distribution lines, then one row per package: name, version,
/// ecosystem, source package (when it differs), layer and path.
pub fn packages(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("Image: {}", report.image.name));
    if !report.image.id.is_empty() {
        out.push_str(&format!(" ({})", report.image.id));
    }
    out.push('\n');
    match &report.distribution {
        Some(d) if !d.pretty_name.is_empty() => out.push_str(&format!("OS: {}\n", d.pretty_name)),
        Some(d) => out.push_str(&format!("OS: {} {}\n", d.id, d.version_id)),
        None => out.push_str("OS: unknown\n"),
    }
    out.push_str(&format!("Packages: {}\n\n", report.packages.len()));
    let mut t = Table::fit(["NAME", "VERSION", "TYPE", "SOURCE", "LAYER", "PATH"]);
    for p in &report.packages {
        let source = match (&p.source_name, &p.source_version) {
            (Some(n), Some(v)) if *n != p.name || *v != p.version => format!("{n} {v}"),
            (Some(n), None) if *n != p.name => n.clone(),
            _ => String::new(),
        };
        t.row([
            p.name.clone(),
            p.version.clone(),
            p.ecosystem.osv_name().to_string(),
            source,
            p.location.layer_index.to_string(),
            p.location.path.clone(),
        ]);
    }
    out.push_str(&t.render());
    out
}

/// A scan's findings under `header`: a section per scanner that ran (vulnerabilities as a
/// table, trojans and risks a line each).
pub fn findings(header: &str, f: &Findings<'_>, sections: Sections) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "{header}");
    if sections.vuln {
        let _ = writeln!(s, "\nVulnerabilities: {}", f.vulns.len());
        let mut t = Table::fixed(["ID", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED", "PATH"], &[20, 9, 28, 24, 24]);
        for v in f.vulns {
            t.row([
                v.display_id.clone(),
                v.severity.tcss_level().to_string(),
                v.package.name.clone(),
                v.installed_version.clone(),
                v.fixed_versions.join(","),
                v.location.path.clone(),
            ]);
        }
        if !t.is_empty() {
            s.push_str(&t.render());
        }
    }
    if sections.virus {
        let _ = writeln!(s, "\nTrojans: {}", f.malware.len());
        for m in f.malware {
            let member = m.archive_member.as_deref().map(|x| format!("!/{x}")).unwrap_or_default();
            let deleted = m.deleted_in_layer.map(|d| format!(" (deleted in layer {d})")).unwrap_or_default();
            let _ = writeln!(s, "{:<40} {}{member}  layer {}{deleted}", m.signature, m.location.path, m.location.layer_index);
        }
    }
    if sections.risk {
        let _ = writeln!(s, "\nRisks: {}", f.risks.len());
        for r in f.risks {
            let line = if r.line > 0 { format!(":{}", r.line) } else { String::new() };
            let deleted = r.deleted_in_layer.map(|d| format!(" (deleted in layer {d})")).unwrap_or_default();
            let _ = writeln!(
                s,
                "{:<9} {:<32} {}{line}  layer {}{deleted}  {}",
                r.severity.tcss_level(),
                r.rule_id,
                r.location.path,
                r.location.layer_index,
                r.masked
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_line_up() {
        let t = packages(&crate::sample_report());
        assert!(t.starts_with("Image: shipshape-test/bookworm-app:1 (sha256:abab"));
        assert!(t.contains("OS: Debian GNU/Linux 12 (bookworm)\n"));
        let header = t.lines().find(|l| l.starts_with("NAME")).expect("header");
        let row = t.lines().find(|l| l.starts_with("libssl3")).expect("row");
        assert_eq!(header.find("VERSION"), row.find("3.0.20"));
        assert!(row.contains("openssl 3.0.20-1~deb12u2"));
        let django = t.lines().find(|l| l.starts_with("Django")).expect("row");
        assert!(!django.contains("Django 3.2 "), "no source column for language packages");
    }

    #[test]
    fn fit_pads_to_the_widest_cell_and_drops_trailing_blanks() {
        let mut t = Table::fit(["PATH", "SET", "N"]);
        t.row(["a/long/path".to_string(), "x".into(), "1".into()]);
        t.row(["p".to_string(), "failed: gone".into()]);
        t.row(["q".to_string(), "".into(), "".into()]);
        assert_eq!(t.render(), "PATH         SET           N\na/long/path  x             1\np            failed: gone\nq\n");
    }

    #[test]
    fn fixed_widths_ignore_long_cells() {
        let mut t = Table::fixed(["ID", "SEV", "PATH"], &[4, 3]);
        t.row(["CVE-2024-1".to_string(), "LOW".into(), "/x".into()]);
        assert_eq!(t.render(), "ID   SEV PATH\nCVE-2024-1 LOW /x\n");
    }
}
