//! Exports as CSV (UTF-8 with a byte-order mark, so spreadsheets show Persian right) or
//! JSON lines, a page at a time: memory stays flat whatever the size of the program.

use jiff::Timestamp;
use vafa_store::history::ExportTable;
use vafa_store::{Store, StoreError};

/// Rows per page read from the store.
pub const PAGE: u32 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            other => Err(format!("unknown format {other:?}: csv or jsonl")),
        }
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/x-ndjson",
        }
    }
}

/// The bytes that open an export (the CSV header).
pub fn head(table: ExportTable, format: Format) -> Vec<u8> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
            // Writing to a Vec cannot fail.
            let _ = w.write_record(table.columns());
            w.into_inner().unwrap_or_default()
        }
        Format::JsonLines => Vec::new(),
    }
}

/// A CSV cell a spreadsheet shows as written: text that opens with `=`, `+`, `-`, `@`,
/// a tab or a carriage return is a formula to Excel and LibreOffice (a name typed as
/// `=HYPERLINK(…)` would run when an analyst opens the export), so it gets a leading `'`,
/// which spreadsheets hide and `vafa import` takes off again. Numbers (`-500`) and
/// mobiles (`+98…`) are not formulas and stay as they are.
pub fn spreadsheet_safe(v: &str) -> std::borrow::Cow<'_, str> {
    let risky = v.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = |rest: &str| {
        !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
            && rest.chars().filter(|c| *c == '.').count() <= 1
    };
    if risky && !(v.starts_with(['+', '-']) && number(&v[1..])) {
        std::borrow::Cow::Owned(format!("'{v}"))
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

fn cell(column: &str, value: &Option<String>) -> Option<String> {
    let v = value.as_ref()?;
    if column.ends_with("_at") {
        if let Ok(us) = v.parse::<i64>() {
            return Timestamp::from_microsecond(us).ok().map(|t| t.to_string());
        }
    }
    Some(v.clone())
}

/// One page as bytes.
pub fn encode(table: ExportTable, format: Format, rows: &[Vec<Option<String>>]) -> Vec<u8> {
    let columns = table.columns();
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            for row in rows {
                let cells = columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| spreadsheet_safe(&cell(c, v).unwrap_or_default()).into_owned());
                let _ = w.write_record(cells);
            }
            w.into_inner().unwrap_or_default()
        }
        Format::JsonLines => {
            let mut out = Vec::new();
            for row in rows {
                let mut obj = serde_json::Map::new();
                for (c, v) in columns.iter().zip(row) {
                    let value = match cell(c, v) {
                        None => serde_json::Value::Null,
                        // Numbers stay numbers and the attributes object stays an object.
                        Some(s) if is_number(c) => s
                            .parse::<i64>()
                            .map(serde_json::Value::from)
                            .unwrap_or(serde_json::Value::String(s)),
                        Some(s) if *c == "attributes" => {
                            serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))
                        }
                        Some(s) => serde_json::Value::String(s),
                    };
                    obj.insert((*c).to_owned(), value);
                }
                let _ = serde_json::to_writer(&mut out, &obj);
                out.push(b'\n');
            }
            out
        }
    }
}

fn is_number(column: &str) -> bool {
    column.ends_with("_minor")
        || column.starts_with("points_")
        || column.starts_with("cashback_")
        || matches!(column, "amount" | "balance_after")
}

/// Read the next page after `cursor`, encoded; `None` when the export is done.
pub async fn next_page(
    store: &dyn Store,
    program_id: &str,
    table: ExportTable,
    format: Format,
    cursor: &mut String,
) -> Result<Option<(Vec<u8>, usize)>, StoreError> {
    let rows = store.export_page(program_id, table, cursor, PAGE).await?;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    *cursor = last.first().cloned().flatten().unwrap_or_default();
    Ok(Some((encode(table, format, &rows), rows.len())))
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_are_quoted_numbers_and_mobiles_are_not() {
        for (v, want) in [
            (
                "=HYPERLINK(\"http://x\",\"a\")",
                "'=HYPERLINK(\"http://x\",\"a\")",
            ),
            ("+1+cmd", "'+1+cmd"),
            ("@SUM(1)", "'@SUM(1)"),
            ("-2+3", "'-2+3"),
            ("\tx", "'\tx"),
            ("+989121234567", "+989121234567"),
            ("-500", "-500"),
            ("12.5", "12.5"),
            ("علی", "علی"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(v), want, "{v:?}");
        }
    }
}
