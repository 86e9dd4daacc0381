//! Customer lifetime value: BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers
//! the easy way") for how many purchases a customer will make and whether they are still
//! "alive", and Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV") for how much they
//! spend per purchase. Both are fitted by maximum likelihood (Nelder–Mead on the
//! logarithms of the parameters, so they stay positive).
//!
//! Repeat purchases are counted per distinct period (a day by default), as in the paper:
//! several receipts on one day are one transaction.

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use serde::Serialize;
use statrs::function::gamma::ln_gamma;

/// One customer in the calibration period, in time units (days or weeks): `frequency`
/// repeat transactions (periods with a purchase after the first), `recency` the time of
/// the last one after the first, `age` the time from the first to the end of calibration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub frequency: f64,
    pub recency: f64,
    pub age: f64,
}

/// Summarise one customer's purchase periods (sorted or not; duplicates are one
/// transaction), with `end` the last period of calibration. None if no purchase is
/// at or before `end`.
pub fn summarise(periods: &[i64], end: i64) -> Option<Summary> {
    let mut p: Vec<i64> = periods.iter().copied().filter(|d| *d <= end).collect();
    p.sort_unstable();
    p.dedup();
    let (first, last) = (*p.first()?, *p.last()?);
    Some(Summary {
        frequency: (p.len() - 1) as f64,
        recency: (last - first) as f64,
        age: (end - first) as f64,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// log(exp(x) + exp(y)) without overflow.
fn log_add(x: f64, y: f64) -> f64 {
    let m = x.max(y);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((x - m).exp() + (y - m).exp()).ln()
}

impl BgNbd {
    /// The log-likelihood of one customer (equation 6 of the paper).
    pub fn log_likelihood(&self, s: &Summary) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let Summary {
            frequency: x,
            recency: tx,
            age: t,
        } = *s;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + t).ln();
        if x > 0.0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + tx).ln();
            a1 + a2 + log_add(a3, a4)
        } else {
            a1 + a2 + a3
        }
    }

    /// P(alive | x, t_x, T).
    pub fn p_alive(&self, s: &Summary) -> f64 {
        if s.frequency <= 0.0 {
            return 1.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = s.frequency;
        let ratio = (a / (b + x - 1.0)) * ((alpha + s.age) / (alpha + s.recency)).powf(r + x);
        1.0 / (1.0 + ratio)
    }

    /// Expected transactions in the next `t` time units (equation 10 of the paper).
    pub fn expected_purchases(&self, s: &Summary, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let Summary {
            frequency: x,
            recency: tx,
            age: big_t,
        } = *s;
        // The closed form divides by a − 1; at exactly 1 take a hair's breadth above.
        let a = if (a - 1.0).abs() < 1e-9 {
            1.0 + 1e-9
        } else {
            a
        };
        let z = t / (alpha + big_t + t);
        let hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let num = (a + b + x - 1.0) / (a - 1.0)
            * (1.0 - ((alpha + big_t) / (alpha + big_t + t)).powf(r + x) * hyp);
        let den = if x > 0.0 {
            1.0 + (a / (b + x - 1.0)) * ((alpha + big_t) / (alpha + tx)).powf(r + x)
        } else {
            1.0
        };
        num / den
    }
}

/// Gauss's hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z < 1, by its series.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for n in 0..100_000 {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

impl GammaGamma {
    /// The log-likelihood of one repeat customer's mean spend `m` over `x` transactions.
    pub fn log_likelihood(&self, x: f64, m: f64) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + (p * x) * x.ln()
            - (p * x + q) * (gamma + m * x).ln()
    }

    /// E[M | x, m]: the spend per transaction to expect from this customer.
    pub fn expected_spend(&self, x: f64, m: f64) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        if q <= 1.0 {
            return m;
        }
        (gamma + m * x) * p / (p * x + q - 1.0)
    }

    /// The population mean spend per transaction, p·γ/(q − 1).
    pub fn population_mean(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.p * self.gamma / (self.q - 1.0))
    }
}

/// A fit: the parameters and the maximised log-likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit<P> {
    pub params: P,
    pub log_likelihood: f64,
    pub iterations: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("not enough data: {0}")]
    NotEnoughData(&'static str),
    #[error("the optimiser failed: {0}")]
    Optimiser(String),
}

struct Objective<'a> {
    f: &'a (dyn Fn(&[f64]) -> f64 + Sync),
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> Result<f64, Error> {
        let v = (self.f)(p);
        // A non-finite value (parameters wandering off) is simply a bad point.
        Ok(if v.is_finite() { v } else { f64::MAX })
    }
}

/// Minimise `f` over log-parameters from `x0`; returns (argmin, min, iterations).
fn minimise(
    f: &(dyn Fn(&[f64]) -> f64 + Sync),
    x0: &[f64],
) -> Result<(Vec<f64>, f64, u64), FitError> {
    let mut simplex = vec![x0.to_vec()];
    for i in 0..x0.len() {
        let mut v = x0.to_vec();
        v[i] += 0.5;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-10)
        .map_err(|e| FitError::Optimiser(e.to_string()))?;
    let res = Executor::new(Objective { f }, solver)
        .configure(|s| s.max_iters(5000))
        .run()
        .map_err(|e| FitError::Optimiser(e.to_string()))?;
    let state = res.state();
    let best = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| FitError::Optimiser("no best point".into()))?;
    Ok((best, state.get_best_cost(), state.get_iter()))
}

/// Customers with the same (x, t_x, T) counted once with a weight: with whole periods
/// there are few distinct triples, so fitting is fast.
fn compress(data: &[Summary]) -> Vec<(Summary, f64)> {
    let mut keyed: Vec<((u64, u64, u64), Summary)> = data
        .iter()
        .map(|s| {
            (
                (s.frequency.to_bits(), s.recency.to_bits(), s.age.to_bits()),
                *s,
            )
        })
        .collect();
    keyed.sort_by_key(|a| a.0);
    let mut out: Vec<(Summary, f64)> = Vec::new();
    let mut last = None;
    for (k, s) in keyed {
        if last == Some(k) {
            if let Some(e) = out.last_mut() {
                e.1 += 1.0;
            }
        } else {
            out.push((s, 1.0));
            last = Some(k);
        }
    }
    out
}

/// Fit BG/NBD to customers' summaries.
pub fn fit_bgnbd(data: &[Summary]) -> Result<Fit<BgNbd>, FitError> {
    if data.len() < 10 {
        return Err(FitError::NotEnoughData("at least 10 customers"));
    }
    if !data.iter().any(|s| s.frequency > 0.0) {
        return Err(FitError::NotEnoughData("no customer bought twice"));
    }
    let groups = compress(data);
    let f = |lp: &[f64]| -> f64 {
        let m = BgNbd {
            r: lp[0].exp(),
            alpha: lp[1].exp(),
            a: lp[2].exp(),
            b: lp[3].exp(),
        };
        -groups
            .iter()
            .map(|(s, w)| w * m.log_likelihood(s))
            .sum::<f64>()
    };
    let (best, cost, iterations) = minimise(&f, &[0.0, 0.0, 0.0, 0.0])?;
    Ok(Fit {
        params: BgNbd {
            r: best[0].exp(),
            alpha: best[1].exp(),
            a: best[2].exp(),
            b: best[3].exp(),
        },
        log_likelihood: -cost,
        iterations,
    })
}

/// Fit Gamma-Gamma to repeat customers' (x, mean spend) pairs (x > 0, spend > 0).
pub fn fit_gamma_gamma(data: &[(f64, f64)]) -> Result<Fit<GammaGamma>, FitError> {
    let data: Vec<(f64, f64)> = data
        .iter()
        .copied()
        .filter(|(x, m)| *x > 0.0 && *m > 0.0)
        .collect();
    if data.len() < 10 {
        return Err(FitError::NotEnoughData("at least 10 repeat customers"));
    }
    // Spend scale varies by currency (rials!): fit on spend divided by its mean, then
    // scale γ back; p and q do not depend on the unit.
    let scale = data.iter().map(|(_, m)| m).sum::<f64>() / data.len() as f64;
    let f = |lp: &[f64]| -> f64 {
        let m = GammaGamma {
            p: lp[0].exp(),
            q: lp[1].exp(),
            gamma: lp[2].exp(),
        };
        -data
            .iter()
            .map(|(x, s)| m.log_likelihood(*x, s / scale))
            .sum::<f64>()
    };
    let (best, cost, iterations) = minimise(&f, &[0.0, 0.0, 0.0])?;
    // The likelihood of the unscaled data differs by a constant Jacobian term.
    let jacobian: f64 = data.len() as f64 * scale.ln();
    Ok(Fit {
        params: GammaGamma {
            p: best[0].exp(),
            q: best[1].exp(),
            gamma: best[2].exp() * scale,
        },
        log_likelihood: -cost - jacobian,
        iterations,
    })
}

/// A customer's calibration summary and mean spend per repeat transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerInput {
    pub customer_id: String,
    pub summary: Summary,
    /// Mean spend (minor units) of the repeat transactions; None without any.
    pub repeat_spend: Option<f64>,
    /// Historical value: everything spent up to the end of calibration.
    pub total_spend: i64,
}

/// Per customer, from `(customer, period, amount)` rows (any order): purchases in one
/// period are one transaction whose spend is their sum; periods after `end` are ignored.
pub fn customer_inputs(rows: &[(String, i64, i64)], end: i64) -> Vec<CustomerInput> {
    let mut rows: Vec<&(String, i64, i64)> = rows.iter().filter(|r| r.1 <= end).collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let id = &rows[i].0;
        // (period, spend) per distinct period.
        let mut tx: Vec<(i64, i64)> = Vec::new();
        while i < rows.len() && &rows[i].0 == id {
            let (_, period, amount) = rows[i];
            match tx.last_mut() {
                Some(last) if last.0 == *period => last.1 = last.1.saturating_add(*amount),
                _ => tx.push((*period, *amount)),
            }
            i += 1;
        }
        let periods: Vec<i64> = tx.iter().map(|t| t.0).collect();
        if let Some(summary) = summarise(&periods, end) {
            let repeat: Vec<f64> = tx.iter().skip(1).map(|t| t.1 as f64).collect();
            out.push(CustomerInput {
                customer_id: id.clone(),
                summary,
                repeat_spend: (!repeat.is_empty())
                    .then(|| repeat.iter().sum::<f64>() / repeat.len() as f64),
                total_spend: tx.iter().fold(0i64, |a, t| a.saturating_add(t.1)),
            });
        }
    }
    out
}
