//! `vafa import` and `vafa export`.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use vafa_server::export::{self, Format};
use vafa_server::import::{self, ImportKind, Reject};
use vafa_store::history::ExportTable;
use vafa_store::{Ctx, Store};

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub async fn import_file(
    store: &dyn Store,
    ctx: &Ctx,
    kind: ImportKind,
    file: &Path,
    mapping: &[(String, String)],
    rejects_path: &Path,
) -> Result<import::ImportSummary> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    let reader = Counting {
        inner: std::io::BufReader::with_capacity(1 << 20, f),
        read: read.clone(),
    };
    let bar = indicatif::ProgressBar::new(size).with_style(
        indicatif::ProgressStyle::with_template(
            "import {bar:40} {bytes}/{total_bytes}, {msg} rows, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut rejects = csv::Writer::from_path(rejects_path)
        .with_context(|| format!("creating {}", rejects_path.display()))?;
    rejects.write_record(["line", "field", "reason"])?;
    let mut write_error = None;
    let mut on_reject = |r: &Reject| {
        if let Err(e) =
            rejects.write_record([r.line.to_string(), r.field.clone(), r.reason.clone()])
        {
            write_error.get_or_insert(e);
        }
    };
    let summary = import::import_csv(store, ctx, kind, reader, mapping, &mut on_reject, &|rows| {
        bar.set_position(read.load(Ordering::Relaxed));
        bar.set_message(rows.to_string());
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e).context("writing the rejects file");
    }
    rejects.flush()?;
    Ok(summary)
}

pub async fn export_to(
    store: &dyn Store,
    program_id: &str,
    table: ExportTable,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64> {
    out.write_all(&export::head(table, format))?;
    let mut cursor = String::new();
    let mut rows = 0u64;
    while let Some((bytes, n)) =
        export::next_page(store, program_id, table, format, &mut cursor).await?
    {
        out.write_all(&bytes)?;
        rows += n as u64;
    }
    out.flush()?;
    Ok(rows)
}
