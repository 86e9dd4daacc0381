//! Charts drawn here as SVG: bars, lines, the Pareto curve, heat maps and horizontal
//! bars. No script and no outside service; colours are presentation attributes and
//! classes (the UI's content security policy allows no inline styles). In Persian the
//! time axis runs right to left, as the eye reads.

use super::{escape, Lang};
use std::fmt::Write;

/// Vertical bars with their labels under them and a short value on top.
pub fn bars(
    lang: Lang,
    bars: &[(String, i64)],
    show: impl Fn(i64) -> String,
    short: impl Fn(i64) -> String,
) -> String {
    let (w, h, pad) = (720.0, 260.0, 40.0);
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let n = bars.len().max(1) as f64;
    let slot = (w - 2.0 * pad) / n;
    let mut svg = open(w, h, "bars");
    for (i, (label, v)) in bars.iter().enumerate() {
        let slot_i = if lang == Lang::Fa {
            n - 1.0 - i as f64
        } else {
            i as f64
        };
        let x = pad + slot_i * slot + slot * 0.15;
        let bh = (v.max(&0).to_owned() as f64 / max) * (h - 2.0 * pad - 20.0);
        let y = h - pad - bh;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}"><title>{t}: {val}</title></rect><text x="{cx:.1}" y="{ly:.1}" class="label">{t}</text><text x="{cx:.1}" y="{vy:.1}" class="value">{short}</text>"#,
            bw = slot * 0.7,
            cx = x + slot * 0.35,
            ly = h - pad + 16.0,
            vy = y - 4.0,
            t = escape(label),
            val = escape(&show(*v)),
            short = escape(&short(*v)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line over time (labels along the bottom), values 0–`max`, with a dot and value
/// at each point.
pub fn line(
    lang: Lang,
    points: &[(String, f64)],
    max: f64,
    show: impl Fn(f64) -> String,
) -> String {
    let (w, h, pad) = (720.0, 240.0, 40.0);
    let n = points.len().max(2) as f64;
    let max = if max > 0.0 { max } else { 1.0 };
    let x = |i: usize| {
        let i = if lang == Lang::Fa {
            n - 1.0 - i as f64
        } else {
            i as f64
        };
        pad + i * (w - 2.0 * pad) / (n - 1.0)
    };
    let y = |v: f64| h - pad - (v / max).clamp(0.0, 1.0) * (h - 2.0 * pad - 10.0);
    let mut svg = open(w, h, "line");
    let pts: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let _ = write!(svg, r#"<polyline points="{}"/>"#, pts.join(" "));
    for (i, (label, v)) in points.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="3.5"><title>{l}: {val}</title></circle><text x="{cx:.1}" y="{ty:.1}" class="value">{val}</text><text x="{cx:.1}" y="{ly:.1}" class="label">{l}</text>"#,
            cx = x(i),
            cy = y(*v),
            ty = y(*v) - 8.0,
            ly = h - pad + 16.0,
            l = escape(label),
            val = escape(&show(*v)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The Pareto curve: share of customers (best first) against share of revenue.
pub fn pareto(lang: Lang, curve: &[(f64, f64)], customers: &str, revenue: &str) -> String {
    let (w, h, pad) = (720.0, 300.0, 40.0);
    let x = |c: f64| {
        let c = if lang == Lang::Fa { 100.0 - c } else { c };
        pad + c / 100.0 * (w - 2.0 * pad)
    };
    let y = |r: f64| h - pad - r / 100.0 * (h - 2.0 * pad);
    let points: Vec<String> = curve
        .iter()
        .map(|(c, r)| format!("{:.1},{:.1}", x(*c), y(*r)))
        .collect();
    let mut svg = open(w, h, "pareto");
    let _ = write!(
        svg,
        r#"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}" class="diagonal"/><polyline points="{pts}"/>"#,
        x0 = x(0.0),
        y0 = y(0.0),
        x1 = x(100.0),
        y1 = y(100.0),
        pts = points.join(" "),
    );
    if let Some((_, r)) = curve.iter().find(|(c, _)| (*c - 20.0).abs() < 0.5) {
        let _ = write!(
            svg,
            r#"<line x1="{cx:.1}" y1="{yb:.1}" x2="{cx:.1}" y2="{cy:.1}" class="mark"/><circle cx="{cx:.1}" cy="{cy:.1}" r="5" class="mark"/><text x="{cx:.1}" y="{ty:.1}" class="value">{label}</text>"#,
            cx = x(20.0),
            cy = y(*r),
            yb = y(0.0),
            ty = y(*r) - 10.0,
            label = escape(&lang.percent(*r)),
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{cx:.1}" y="{by:.1}" class="label">{c}</text><text x="{lx:.1}" y="{ly:.1}" class="label">{r}</text></svg>"#,
        cx = w / 2.0,
        by = h - 8.0,
        c = escape(customers),
        lx = if lang == Lang::Fa {
            w - pad + 4.0
        } else {
            pad - 4.0
        },
        ly = pad - 10.0,
        r = escape(revenue),
    );
    svg
}

/// Horizontal bars, one per row, in the order given: a distribution. In Persian the
/// labels stand on the right and the bars grow leftwards.
pub fn hbars(lang: Lang, rows: &[(String, i64)], show: impl Fn(i64) -> String) -> String {
    let row_h = 30.0;
    let (w, label_w) = (720.0, 170.0);
    let h = row_h * rows.len().max(1) as f64 + 10.0;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let rtl = lang == Lang::Fa;
    let mut svg = open(w, h, "hbars");
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let bw = (*v.max(&0) as f64 / max) * (w - label_w - 150.0);
        let (lx, l_anchor, bx, vx, v_anchor) = if rtl {
            (
                w - label_w + 8.0,
                "start",
                w - label_w - bw,
                w - label_w - bw - 6.0,
                "end",
            )
        } else {
            (label_w - 8.0, "end", label_w, label_w + bw + 6.0, "start")
        };
        let _ = write!(
            svg,
            r#"<text x="{lx:.1}" y="{ty:.1}" text-anchor="{l_anchor}" class="rowlabel">{l}</text><rect x="{bx:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}"><title>{l}: {val}</title></rect><text x="{vx:.1}" y="{ty:.1}" text-anchor="{v_anchor}" class="rowvalue">{val}</text>"#,
            ty = y + row_h * 0.55,
            bh = row_h * 0.7,
            l = escape(label),
            val = escape(&show(*v)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One heat-map cell: its shade from 0 to 100 and the label it shows.
pub type Cell = Option<(f64, String)>;

/// A heat map: each cell's shade from 0 to 100 and the label it shows, with row and
/// column labels; `None` is an empty cell (a month that has not come yet).
pub fn heatmap(lang: Lang, rows: &[(String, Vec<Cell>)], cols: &[String]) -> String {
    let ncols = cols.len().max(1) as f64;
    let (label_w, cell_h, top) = (120.0, 26.0, 24.0);
    let w = 720.0;
    let cell_w = (w - label_w) / ncols;
    let h = top + cell_h * rows.len().max(1) as f64 + 4.0;
    let mut svg = open(w, h, "heat");
    // Columns run with the reading direction; row labels sit on the reading side.
    let col_x = |c: usize| {
        if lang == Lang::Fa {
            w - label_w - (c as f64 + 1.0) * cell_w
        } else {
            label_w + c as f64 * cell_w
        }
    };
    let label_x = if lang == Lang::Fa {
        w - label_w + 6.0
    } else {
        label_w - 6.0
    };
    let anchor = if lang == Lang::Fa { "start" } else { "end" };
    for (c, name) in cols.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="16" class="label">{n}</text>"#,
            x = col_x(c) + cell_w / 2.0,
            n = escape(name)
        );
    }
    for (r, (name, cells)) in rows.iter().enumerate() {
        let y = top + r as f64 * cell_h;
        let _ = write!(
            svg,
            r#"<text x="{label_x:.1}" y="{ty:.1}" text-anchor="{anchor}" class="rowname">{n}</text>"#,
            ty = y + cell_h * 0.62,
            n = escape(name)
        );
        for (c, cell) in cells.iter().enumerate() {
            let Some((p, label)) = cell else { continue };
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{cw:.1}" height="{ch:.1}" fill="{fill}" class="cell"><title>{n} • {col}: {val}</title></rect><text x="{tx:.1}" y="{ty:.1}" class="{cls}">{val}</text>"#,
                x = col_x(c) + 1.0,
                cw = cell_w - 2.0,
                ch = cell_h - 2.0,
                fill = shade(*p),
                tx = col_x(c) + cell_w / 2.0,
                ty = y + cell_h * 0.62,
                cls = if *p > 55.0 {
                    "cellvalue light"
                } else {
                    "cellvalue"
                },
                n = escape(name),
                col = escape(cols.get(c).map(String::as_str).unwrap_or("")),
                val = escape(label),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A green from pale (0) to deep (100).
fn shade(p: f64) -> String {
    let t = (p / 100.0).clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(236.0, 15.0),
        mix(246.0, 123.0),
        mix(243.0, 108.0)
    )
}

fn open(w: f64, h: f64, class: &str) -> String {
    format!(
        r#"<svg viewBox="0 0 {w} {h}" role="img" class="{class}" xmlns="http://www.w3.org/2000/svg">"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_run_right_to_left_in_persian() {
        let rows = vec![("<b>".to_owned(), 10), ("b".to_owned(), 5)];
        let svg = bars(Lang::Fa, &rows, |v| v.to_string(), |v| v.to_string());
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        // The first bar stands on the right in Persian.
        let first_x = |svg: &str| {
            let i = svg.find("<rect x=\"").unwrap_or(0) + 9;
            svg[i..]
                .split('"')
                .next()
                .unwrap_or("0")
                .parse::<f64>()
                .unwrap_or(0.0)
        };
        let en = bars(Lang::En, &rows, |v| v.to_string(), |v| v.to_string());
        assert!(first_x(&svg) > first_x(&en));
        let heat = heatmap(
            Lang::En,
            &[("r".into(), vec![Some((100.0, "all".into())), None])],
            &["a".into(), "b".into()],
        );
        assert_eq!(
            heat.matches("class=\"cell\"").count(),
            1,
            "an empty cell draws nothing"
        );
        assert!(heat.contains("#0f7b6c"), "100% is the deepest shade");
    }
}
