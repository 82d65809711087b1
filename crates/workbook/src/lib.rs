//! One-sheet `.xlsx` workbooks for the TCSS export actions: a bold, frozen header row with an
//! autofilter, then one row per record. Written in memory with `rust_xlsxwriter` (no default
//! features: no chrono, serde or polars); what the rows mean is the caller's business.
//!
//! Text is always written as a string cell, never as a formula, so a value starting with `=` from
//! an image label or a file path cannot run in a spreadsheet program.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// Excel's limit on the characters of one cell.
pub const MAX_CELL_CHARS: usize = 32_767;
/// Excel's limit on the rows of one sheet (header included).
pub const MAX_ROWS: usize = 1_048_576;
/// Excel's limit on a sheet name.
const MAX_SHEET_NAME: usize = 31;
/// Widest column, in characters (longer text wraps off-screen instead).
const MAX_WIDTH: usize = 60;

/// One cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Bool(bool),
    Empty,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{rows} rows do not fit in one sheet (at most {})", MAX_ROWS - 1)]
    TooManyRows { rows: usize },
    #[error("row {row} has {got} cells, the header {want}")]
    RowWidth { row: usize, got: usize, want: usize },
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// Text cut to what one cell holds (on a character boundary).
fn fit(s: &str) -> &str {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Sheet names may not hold `[]:*?/\` and are at most 31 characters.
fn sheet_name(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(MAX_SHEET_NAME).collect();
    if clean.trim().is_empty() { "Sheet1".into() } else { clean }
}

/// The bytes of a workbook with one sheet named `sheet`: `header`, then `rows` (each as wide as
/// the header).
pub fn write(sheet: &str, header: &[&str], rows: &[Vec<Cell>]) -> Result<Vec<u8>, Error> {
    if rows.len() >= MAX_ROWS {
        return Err(Error::TooManyRows { rows: rows.len() });
    }
    if let Some((row, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != header.len()) {
        return Err(Error::RowWidth { row, got: r.len(), want: header.len() });
    }
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet_name(sheet))?;
    let bold = Format::new().set_bold();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, fit(h), &bold)?;
    }
    for (r, cells) in rows.iter().enumerate() {
        let row = (r + 1) as u32;
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            let width = match cell {
                Cell::Text(s) => {
                    let s = fit(s);
                    ws.write_string(row, col, s)?;
                    s.chars().count()
                }
                Cell::Number(n) => {
                    ws.write_number(row, col, *n)?;
                    n.to_string().len()
                }
                Cell::Bool(b) => {
                    ws.write_boolean(row, col, *b)?;
                    5
                }
                Cell::Empty => 0,
            };
            widths[c] = widths[c].max(width);
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w).clamp(8, MAX_WIDTH) as f64 + 1.0)?;
    }
    if !header.is_empty() {
        ws.set_freeze_panes(1, 0)?;
        ws.autofilter(0, 0, rows.len() as u32, (header.len() - 1) as u16)?;
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Read;

    /// One part of the workbook's zip, as text (the reader side proper is tested end to end with
    /// openpyxl in tests/e2e/test_exports.py).
    fn part(bytes: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn header_rows_and_typed_cells() {
        let rows = vec![
            vec![Cell::Text("alpine".into()), Cell::Number(3.0), Cell::Bool(true)],
            vec![Cell::Text("=cmd|' /C calc'!A0".into()), Cell::Empty, Cell::Bool(false)],
        ];
        let bytes = write("Registry:images", &["ImageName", "VulCnt", "IsLatestImage"], &rows).unwrap();
        let book = part(&bytes, "xl/workbook.xml");
        assert!(book.contains(r#"name="Registryimages""#), "{book}");
        let strings = part(&bytes, "xl/sharedStrings.xml");
        for s in ["ImageName", "VulCnt", "IsLatestImage", "alpine", "=cmd|' /C calc'!A0"] {
            assert!(strings.contains(s), "{s} in {strings}");
        }
        let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
        assert_eq!(sheet.matches("<row ").count(), 3, "header and two rows: {sheet}");
        assert!(sheet.contains(r#"<c r="B2"><v>3</v></c>"#), "{sheet}");
        assert!(sheet.contains(r#"<c r="C2" t="b"><v>1</v></c>"#), "{sheet}");
        assert!(!sheet.contains("<f>"), "text is never a formula");
        assert!(sheet.contains(r#"<autoFilter ref="A1:C3"/>"#), "{sheet}");
    }

    #[test]
    fn rejects_ragged_rows_and_cuts_long_text() {
        let e = write("s", &["A", "B"], &[vec![Cell::Empty]]).unwrap_err();
        assert!(matches!(e, Error::RowWidth { row: 0, got: 1, want: 2 }), "{e}");
        let long = "é".repeat(MAX_CELL_CHARS + 10);
        assert_eq!(fit(&long).chars().count(), MAX_CELL_CHARS);
        assert_eq!(fit("short"), "short");
        // A cell longer than Excel allows would fail in rust_xlsxwriter; it is cut instead.
        assert!(write("s", &["A"], &[vec![Cell::Text(long)]]).is_ok());
    }

    #[test]
    fn sheet_names_follow_excel_rules() {
        assert_eq!(sheet_name("a/b:c"), "abc");
        assert_eq!(sheet_name("[]"), "Sheet1");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
    }

    #[test]
    fn an_empty_list_is_a_header_only_sheet() {
        assert!(write("s", &["A", "B"], &[]).is_ok());
        assert!(write("s", &[], &[]).is_ok());
    }
}
