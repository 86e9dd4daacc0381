use super::clv::*;
use super::pareto::*;
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};

#[test]
fn pareto_on_a_hand_computed_fixture() {
    let c = |revenue_minor, purchases| CustomerRevenue {
        revenue_minor,
        purchases,
    };
    let data = [
        c(500, 5),
        c(300, 3),
        c(100, 1),
        c(50, 1),
        c(30, 2),
        c(20, 1),
        c(0, 0),
        c(0, 0),
        c(0, 0),
        c(0, 0),
    ];
    let p = pareto(&data);
    assert_eq!(p.customers, 10);
    assert_eq!(p.revenue_minor, 1000);
    assert_eq!(p.top_20_revenue_percent, 80.0, "500 + 300 of 1000");
    assert_eq!(p.customers_for_80_percent, 20.0);
    assert_eq!(p.curve[0].revenue_percent, 0.0);
    assert_eq!(p.curve[10].revenue_percent, 50.0);
    assert_eq!(p.curve[30].revenue_percent, 90.0);
    assert_eq!(p.curve[100].revenue_percent, 100.0);
    assert_eq!(
        p.curve[15].revenue_percent, 80.0,
        "15% of 10 customers rounds up to 2"
    );
    assert_eq!((p.one_time_customers, p.repeat_customers), (7, 3));
    assert_eq!(p.one_time_revenue_percent, 17.0, "100 + 50 + 20");
    assert_eq!(p.repeat_revenue_percent, 83.0);
    let empty = pareto(&[]);
    assert_eq!(
        (empty.top_20_revenue_percent, empty.customers_for_80_percent),
        (0.0, 0.0)
    );
}

#[test]
fn summaries_count_distinct_periods() {
    let s = summarise(&[10, 3, 3, 5, 20], 15).unwrap();
    assert_eq!(
        s,
        Summary {
            frequency: 2.0,
            recency: 7.0,
            age: 12.0
        }
    );
    assert_eq!(summarise(&[20], 15), None);
    assert_eq!(
        summarise(&[4, 4], 4).unwrap(),
        Summary {
            frequency: 0.0,
            recency: 0.0,
            age: 0.0
        }
    );
}

#[test]
fn bgnbd_likelihood_and_predictions_in_closed_cases() {
    let m = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    // With no repeat purchase the likelihood is (α/(α+T))^r.
    let s = Summary {
        frequency: 0.0,
        recency: 0.0,
        age: 30.0,
    };
    let want = 0.243 * (4.414f64 / 34.414).ln();
    assert!((m.log_likelihood(&s) - want).abs() < 1e-12);
    assert_eq!(m.p_alive(&s), 1.0);
    // A frequent buyer who has not bought for a long time is probably gone.
    let gone = Summary {
        frequency: 10.0,
        recency: 5.0,
        age: 38.0,
    };
    let active = Summary {
        frequency: 10.0,
        recency: 37.0,
        age: 38.0,
    };
    assert!(m.p_alive(&gone) < 0.05, "{}", m.p_alive(&gone));
    assert!(m.p_alive(&active) > 0.8, "{}", m.p_alive(&active));
    let m2 = BgNbd { a: 1.5, ..m };
    assert!(m2.expected_purchases(&active, 39.0) > m2.expected_purchases(&gone, 39.0));
    assert!(m2.expected_purchases(&active, 0.0).abs() < 1e-12);
    // ₂F₁ against closed forms: ₂F₁(1, 1; 2; z) = −ln(1 − z)/z.
    let z = 0.6f64;
    assert!((hyp2f1(1.0, 1.0, 2.0, z) - (-(1.0 - z).ln() / z)).abs() < 1e-12);
}

/// Customers of a BG/NBD world: λ ~ Gamma(r, α), p ~ Beta(a, b); purchases at rate λ,
/// and after each repeat purchase the customer drops out with probability p. Each is observed
/// from their first purchase for `age` units; returns (calibration, purchases in the
/// `holdout` units after it).
fn simulate_bgnbd(m: BgNbd, n: usize, holdout: f64, seed: u64) -> Vec<(Summary, f64)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let lam = Gamma::new(m.r, 1.0 / m.alpha).unwrap();
    let drop = Beta::new(m.a, m.b).unwrap();
    (0..n)
        .map(|_| {
            let l: f64 = lam.sample(&mut rng);
            let p: f64 = drop.sample(&mut rng);
            let age = rng.gen_range(26.0..52.0);
            let gap = Exp::new(l.max(1e-9)).unwrap();
            let (mut t, mut x, mut tx, mut later) = (0.0f64, 0.0, 0.0, 0.0);
            // Alive at the first purchase; may drop out after each repeat purchase.
            loop {
                t += gap.sample(&mut rng);
                if t <= age {
                    x += 1.0;
                    tx = t;
                } else if t <= age + holdout {
                    later += 1.0;
                } else {
                    break;
                }
                if rng.gen::<f64>() < p {
                    break;
                }
            }
            (
                Summary {
                    frequency: x,
                    recency: tx,
                    age,
                },
                later,
            )
        })
        .collect()
}

#[test]
fn bgnbd_recovers_the_parameters_it_was_simulated_with() {
    // CDNOW's estimates in weeks (Fader, Hardie & Lee 2005, table 1), 10,000 customers.
    let truth = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };
    let data = simulate_bgnbd(truth, 10_000, 39.0, 7);
    let cal: Vec<Summary> = data.iter().map(|d| d.0).collect();
    let fit = fit_bgnbd(&cal).unwrap();
    let f = fit.params;
    let rel = |got: f64, want: f64| (got - want).abs() / want;
    assert!(rel(f.r, truth.r) < 0.15, "r {f:?}");
    assert!(rel(f.alpha, truth.alpha) < 0.20, "alpha {f:?}");
    assert!(rel(f.a, truth.a) < 0.30, "a {f:?}");
    assert!(rel(f.b, truth.b) < 0.30, "b {f:?}");
    // The fitted likelihood is at least that of the truth (it is the maximum).
    let ll_truth: f64 = cal.iter().map(|s| truth.log_likelihood(s)).sum();
    assert!(
        fit.log_likelihood >= ll_truth - 1e-6,
        "{} < {ll_truth}",
        fit.log_likelihood
    );
    // The holdout: predicted purchases over all customers against what they did.
    let predicted: f64 = cal.iter().map(|s| f.expected_purchases(s, 39.0)).sum();
    let actual: f64 = data.iter().map(|d| d.1).sum();
    eprintln!(
        "BG/NBD fit {f:?}, LL {}, holdout predicted {predicted:.0} actual {actual}",
        fit.log_likelihood
    );
    assert!(
        rel(predicted, actual) < 0.10,
        "predicted {predicted}, actual {actual}"
    );
}

#[test]
fn gamma_gamma_recovers_the_parameters_it_was_simulated_with() {
    // The paper's CDNOW estimates (p, q, γ) = (6.25, 3.74, 15.44), 5,000 repeat customers,
    // with spend in rials (×10,000) to show the fit does not care about the unit.
    let truth = GammaGamma {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let nu = Gamma::new(truth.q, 1.0 / truth.gamma).unwrap();
    let data: Vec<(f64, f64)> = (0..5000)
        .map(|_| {
            let v: f64 = nu.sample(&mut rng);
            let z = Gamma::new(truth.p, 1.0 / v).unwrap();
            let x = rng.gen_range(1..=10);
            let mean = (0..x).map(|_| z.sample(&mut rng)).sum::<f64>() / x as f64;
            (x as f64, mean * 10_000.0)
        })
        .collect();
    let fit = gamma_gamma_fit_checked(&data);
    eprintln!("Gamma-Gamma fit {fit:?} (γ in rials)");
    let rel = |got: f64, want: f64| (got - want).abs() / want;
    assert!(rel(fit.p, truth.p) < 0.10, "{fit:?}");
    assert!(rel(fit.q, truth.q) < 0.15, "{fit:?}");
    assert!(rel(fit.gamma / 10_000.0, truth.gamma) < 0.20, "{fit:?}");
    // Expected spend shrinks a customer's mean towards the population's.
    let pop = fit.population_mean().unwrap();
    let high = fit.expected_spend(1.0, pop * 3.0);
    assert!(high < pop * 3.0 && high > pop);
}

fn gamma_gamma_fit_checked(data: &[(f64, f64)]) -> GammaGamma {
    let fit = fit_gamma_gamma(data).unwrap();
    let ll_at = |m: GammaGamma| {
        data.iter()
            .map(|(x, s)| m.log_likelihood(*x, *s))
            .sum::<f64>()
    };
    assert!(
        (fit.log_likelihood - ll_at(fit.params)).abs() < 1e-6 * fit.log_likelihood.abs(),
        "the reported likelihood is the model's"
    );
    fit.params
}

#[test]
fn fits_refuse_too_little_data() {
    let one = Summary {
        frequency: 0.0,
        recency: 0.0,
        age: 10.0,
    };
    assert!(matches!(
        fit_bgnbd(&[one; 5]),
        Err(FitError::NotEnoughData(_))
    ));
    assert!(matches!(
        fit_bgnbd(&[one; 50]),
        Err(FitError::NotEnoughData(_))
    ));
    assert!(matches!(
        fit_gamma_gamma(&[(1.0, 5.0); 3]),
        Err(FitError::NotEnoughData(_))
    ));
}

#[test]
fn customer_inputs_merge_a_day_into_one_transaction() {
    let rows = vec![
        ("b".to_string(), 5, 100),
        ("a".to_string(), 1, 10),
        ("a".to_string(), 1, 5),
        ("a".to_string(), 3, 20),
        ("a".to_string(), 4, 40),
        ("a".to_string(), 9, 1000),
    ];
    let got = customer_inputs(&rows, 6);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].customer_id, "a");
    assert_eq!(
        got[0].summary,
        Summary {
            frequency: 2.0,
            recency: 3.0,
            age: 5.0
        }
    );
    assert_eq!(
        got[0].repeat_spend,
        Some(30.0),
        "(20 + 40) / 2; the first day (15) is not a repeat"
    );
    assert_eq!(
        got[1].summary,
        Summary {
            frequency: 0.0,
            recency: 0.0,
            age: 1.0
        }
    );
    assert_eq!(got[1].repeat_spend, None);
}

mod rfm_tests {
    use crate::analytics::rfm::*;

    #[test]
    fn quintiles_by_rank_with_ties() {
        assert_eq!(quintiles(&[10, 20, 30, 40, 50], true), vec![1, 2, 3, 4, 5]);
        assert_eq!(quintiles(&[10, 20, 30, 40, 50], false), vec![5, 4, 3, 2, 1]);
        // Ties share a score; ten values make pairs per quintile.
        assert_eq!(quintiles(&[1, 1, 1, 1, 9], true), vec![1, 1, 1, 1, 5]);
        assert_eq!(
            quintiles(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], true),
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(quintiles(&[7], true), vec![1]);
        assert!(quintiles(&[], true).is_empty());
    }

    proptest::proptest! {
        /// The one-sort sweep agrees with the definition, counted value by value.
        #[test]
        fn quintiles_match_their_definition(values in proptest::collection::vec(-20i64..20, 0..200), up: bool) {
            let n = values.len();
            let want: Vec<u8> = values
                .iter()
                .map(|v| {
                    let worse = values.iter().filter(|x| if up { *x < v } else { *x > v }).count();
                    (1 + 5 * worse / n).min(5) as u8
                })
                .collect();
            proptest::prop_assert_eq!(quintiles(&values, up), want);
        }
    }

    #[test]
    fn every_cell_of_the_grid_has_its_documented_segment() {
        use RfmSegment::*;
        let grid = [
            [
                New,
                PotentialLoyalist,
                PotentialLoyalist,
                Champions,
                Champions,
            ],
            [
                Promising,
                PotentialLoyalist,
                PotentialLoyalist,
                Champions,
                Champions,
            ],
            [AboutToSleep, NeedAttention, NeedAttention, Loyal, Loyal],
            [Hibernating, Hibernating, AtRisk, AtRisk, AtRisk],
            [Lost, Lost, AtRisk, CantLoseThem, CantLoseThem],
        ];
        for (row, r) in grid.iter().zip([5u8, 4, 3, 2, 1]) {
            for (want, fm) in row.iter().zip(1u8..=5) {
                assert_eq!(RfmSegment::of(r, fm), *want, "R{r} FM{fm}");
            }
        }
        let used: std::collections::BTreeSet<_> = grid.iter().flatten().collect();
        assert_eq!(
            used.len(),
            RfmSegment::ALL.len(),
            "all eleven segments appear"
        );
    }

    #[test]
    fn rfm_on_a_hand_computed_fixture() {
        let c = |id: &str, r, f, m| RfmInput {
            customer_id: id.into(),
            recency_days: r,
            frequency: f,
            monetary_minor: m,
        };
        // Five customers, one per quintile on each axis.
        let inputs = [
            c("best", 1, 20, 9000),
            c("loyal", 30, 15, 7000),
            c("new", 2, 1, 100),
            c("slipping", 200, 12, 8000),
            c("gone", 300, 2, 200),
        ];
        let scores = rfm(&inputs);
        let by: std::collections::HashMap<&str, (u8, u8, u8, u8, RfmSegment)> = scores
            .iter()
            .zip(&inputs)
            .map(|(s, i)| (i.customer_id.as_str(), (s.r, s.f, s.m, s.fm, s.segment)))
            .collect();
        assert_eq!(by["best"], (5, 5, 5, 5, RfmSegment::Champions));
        assert_eq!(by["new"], (4, 1, 1, 1, RfmSegment::Promising));
        assert_eq!(by["loyal"], (3, 4, 3, 4, RfmSegment::Loyal));
        assert_eq!(by["slipping"], (2, 3, 4, 4, RfmSegment::AtRisk));
        assert_eq!(by["gone"], (1, 2, 2, 2, RfmSegment::Lost));
    }
}

mod kpi_tests {
    use crate::analytics::kpi::*;

    fn sale(c: &str, day: i64, net: i64) -> Sale {
        Sale {
            customer_id: c.into(),
            day,
            month: day / 30,
            net_minor: net,
        }
    }

    #[test]
    fn period_kpis_on_a_hand_computed_fixture() {
        // Previous period: days 0–9; this period: days 10–19.
        let sales = [
            sale("a", 2, 100), // a: returning, buys twice now
            sale("a", 11, 300),
            sale("a", 15, 100),
            sale("b", 5, 50),   // b: churned (previous period only)
            sale("c", 12, 200), // c: new, once
            sale("d", 13, 90),  // d: new, twice
            sale("d", 18, 110),
            sale("e", 1, 10), // e: active before, and now
            sale("e", 19, 40),
        ];
        let k = period_kpis(&sales, 10, 19);
        assert_eq!(
            (k.active_customers, k.new_customers, k.returning_customers),
            (4, 2, 2)
        );
        assert_eq!((k.purchases, k.revenue_minor), (6, 840));
        assert_eq!(k.repeat_purchase_rate, 50.0, "a and d of four");
        assert_eq!(k.purchase_frequency, 1.5);
        assert_eq!(k.aov_minor, 140);
        assert_eq!(k.aov_new_minor, 400 / 3, "c 200, d 90 + 110");
        assert_eq!(k.aov_returning_minor, 440 / 3, "a 300 + 100, e 40");
        assert_eq!(k.previous_active_customers, 3, "a, b, e");
        assert!(
            (k.retention_rate - 200.0 / 3.0).abs() < 1e-12,
            "a and e came back"
        );
        assert!((k.churn_rate - 100.0 / 3.0).abs() < 1e-12);
        let empty = period_kpis(&[], 10, 19);
        assert_eq!(
            (empty.aov_minor, empty.retention_rate, empty.churn_rate),
            (0, 0.0, 0.0)
        );
    }

    #[test]
    fn cohorts_on_a_hand_computed_fixture() {
        let s = |c: &str, month: i64| Sale {
            customer_id: c.into(),
            day: month * 30,
            month,
            net_minor: 1,
        };
        let sales = [
            s("a", 0),
            s("a", 1),
            s("a", 2),
            s("b", 0),
            s("b", 2),
            s("c", 1),
            s("c", 3),
            s("d", 3),
            s("z", 5),
        ];
        let got = cohorts(&sales, 0, 3);
        assert_eq!(
            got.len(),
            3,
            "months 0, 1 and 3 started cohorts; z is after the end"
        );
        assert_eq!((got[0].month, got[0].customers), (0, 2));
        assert_eq!(got[0].retention, vec![100.0, 50.0, 100.0, 0.0]);
        assert_eq!((got[1].month, got[1].customers), (1, 1));
        assert_eq!(got[1].retention, vec![100.0, 0.0, 100.0]);
        assert_eq!(got[2].retention, vec![100.0]);
    }
}

mod segment_tests {
    use crate::analytics::segment::*;
    use std::collections::HashSet;

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn union_intersection_and_exclusion() {
        let cond = Some(set(&["a", "b", "c"]));
        let inc = vec![set(&["b", "c", "d"]), set(&["c", "d", "e"])];
        let exc = [set(&["d"])];
        assert_eq!(
            combine(cond.clone(), inc.clone(), &[], Combine::Intersection),
            set(&["c"])
        );
        assert_eq!(
            combine(cond.clone(), inc.clone(), &exc, Combine::Union),
            set(&["a", "b", "c", "e"])
        );
        assert_eq!(
            combine(None, inc.clone(), &exc, Combine::Intersection),
            set(&["c"])
        );
        assert_eq!(
            combine(cond, vec![], &[set(&["a"])], Combine::Intersection),
            set(&["b", "c"])
        );
    }

    #[test]
    fn a_segment_needs_a_condition_or_parts_and_a_valid_condition() {
        let d = |v: serde_json::Value| serde_json::from_value::<SegmentDef>(v).unwrap();
        assert!(d(serde_json::json!({"name": "x"})).validate().is_err());
        let e = d(serde_json::json!({"name": "x", "condition": "customer.monetry > 1"}))
            .validate()
            .unwrap_err();
        assert_eq!(e.0[0].field, "condition");
        assert!(e.0[0].message.contains("no field `monetry`"));
        assert!(d(serde_json::json!({"name": "x", "condition": "customer.consent_sms && customer.birthday_month == 9"})).validate().is_ok());
    }
}
