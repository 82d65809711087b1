//! A plain text table for terminals.

use crate::Report;

/// Image and distribution lines, then one row per package: name, version, ecosystem, source
/// package (when it differs), layer and path. Columns are padded to their widest cell.
pub fn table(report: &Report) -> String {
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
    let mut rows = vec![["NAME", "VERSION", "TYPE", "SOURCE", "LAYER", "PATH"].map(String::from)];
    for p in &report.packages {
        let source = match (&p.source_name, &p.source_version) {
            (Some(n), Some(v)) if *n != p.name || *v != p.version => format!("{n} {v}"),
            (Some(n), None) if *n != p.name => n.clone(),
            _ => String::new(),
        };
        rows.push([
            p.name.clone(),
            p.version.clone(),
            p.ecosystem.osv_name().to_string(),
            source,
            p.location.layer_index.to_string(),
            p.location.path.clone(),
        ]);
    }
    let mut widths = [0usize; 6];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in &rows {
        let line: Vec<String> = r.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_line_up() {
        let t = super::table(&crate::sample_report());
        assert!(t.starts_with("Image: shipshape-test/bookworm-app:1 (sha256:abab"));
        assert!(t.contains("OS: Debian GNU/Linux 12 (bookworm)\n"));
        let header = t.lines().find(|l| l.starts_with("NAME")).expect("header");
        let row = t.lines().find(|l| l.starts_with("libssl3")).expect("row");
        assert_eq!(header.find("VERSION"), row.find("3.0.20"));
        assert!(row.contains("openssl 3.0.20-1~deb12u2"));
        let django = t.lines().find(|l| l.starts_with("Django")).expect("row");
        assert!(!django.contains("Django 3.2 "), "no source column for language packages");
    }
}
