//! RFM: recency, frequency and monetary quintile scores (1–5, 5 best) and the named
//! segments marketers use. The mapping, from R and FM = round((F + M) / 2):
//!
//! | R \ FM | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | New | Potential loyalist | Potential loyalist | Champions | Champions |
//! | 4 | Promising | Potential loyalist | Potential loyalist | Champions | Champions |
//! | 3 | About to sleep | Need attention | Need attention | Loyal | Loyal |
//! | 2 | Hibernating | Hibernating | At risk | At risk | At risk |
//! | 1 | Lost | Lost | At risk | Can't lose them | Can't lose them |

use serde::Serialize;

/// One customer over the window: days since the last purchase (at the window's end),
/// purchases, and revenue net of returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfmInput {
    pub customer_id: String,
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmSegment {
    Champions,
    Loyal,
    PotentialLoyalist,
    New,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CantLoseThem,
    Hibernating,
    Lost,
}

impl RfmSegment {
    pub const ALL: [RfmSegment; 11] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::PotentialLoyalist,
        RfmSegment::New,
        RfmSegment::Promising,
        RfmSegment::NeedAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::CantLoseThem,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];

    pub fn of(r: u8, fm: u8) -> RfmSegment {
        use RfmSegment::*;
        match (r, fm) {
            (4..=5, 4..=5) => Champions,
            (3, 4..=5) => Loyal,
            (4..=5, 2..=3) => PotentialLoyalist,
            (5, _) => New,
            (4, _) => Promising,
            (3, 2..=3) => NeedAttention,
            (3, _) => AboutToSleep,
            (2, 3..=5) | (1, 3) => AtRisk,
            (1, 4..=5) => CantLoseThem,
            (2, _) => Hibernating,
            _ => Lost,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RfmSegment::Champions => "champions",
            RfmSegment::Loyal => "loyal",
            RfmSegment::PotentialLoyalist => "potential_loyalist",
            RfmSegment::New => "new",
            RfmSegment::Promising => "promising",
            RfmSegment::NeedAttention => "need_attention",
            RfmSegment::AboutToSleep => "about_to_sleep",
            RfmSegment::AtRisk => "at_risk",
            RfmSegment::CantLoseThem => "cant_lose_them",
            RfmSegment::Hibernating => "hibernating",
            RfmSegment::Lost => "lost",
        }
    }
}

/// One customer's scores; `rfm` returns them in the order of its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RfmScore {
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub fm: u8,
    pub segment: RfmSegment,
}

/// Quintile scores by rank: a value scores 1 + ⌊5 · (values strictly worse) / n⌋, so
/// equal values always score alike and the best fifth scores 5.
pub fn quintiles(values: &[i64], higher_is_better: bool) -> Vec<u8> {
    let n = values.len();
    // One sort of (value, position), then one sweep over runs of equal values: at a
    // run, the values strictly below it are those before it, those above after it.
    let mut order: Vec<(i64, usize)> = values.iter().copied().zip(0..).collect();
    order.sort_unstable();
    let mut out = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let v = order[start].0;
        let end = start + order[start..].partition_point(|x| x.0 == v);
        let worse = if higher_is_better { start } else { n - end };
        let score = (1 + (5 * worse) / n).min(5) as u8;
        for &(_, i) in &order[start..end] {
            out[i] = score;
        }
        start = end;
    }
    out
}

/// Score every customer; the scores are in the order of `inputs`.
pub fn rfm(inputs: &[RfmInput]) -> Vec<RfmScore> {
    let r = quintiles(
        &inputs.iter().map(|c| c.recency_days).collect::<Vec<_>>(),
        false,
    );
    let f = quintiles(
        &inputs.iter().map(|c| c.frequency).collect::<Vec<_>>(),
        true,
    );
    let m = quintiles(
        &inputs.iter().map(|c| c.monetary_minor).collect::<Vec<_>>(),
        true,
    );
    (0..inputs.len())
        .map(|i| {
            let fm = (f[i] + m[i]).div_ceil(2);
            RfmScore {
                r: r[i],
                f: f[i],
                m: m[i],
                fm,
                segment: RfmSegment::of(r[i], fm),
            }
        })
        .collect()
}
