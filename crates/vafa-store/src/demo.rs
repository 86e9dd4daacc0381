//! A demo program: a Tehran café chain with months of believable trade.
//!
//! Customers are Persian (with English transliterations), on every Iranian operator,
//! across cities and ages. Each buys by a heterogeneous repeat-buying process — the
//! Pareto/NBD story: a personal purchase rate drawn from a gamma distribution, a
//! personal lifetime after which the customer is gone, a personal average spend — so
//! revenue concentrates, cohorts decay and RFM segments fill as in a real shop. Trade
//! swells before Nowruz and on Yalda night, empties in the Nowruz holidays, dips on
//! Fridays, and peaks in the morning and evening.
//!
//! The same seed gives the same customers, purchases, amounts and points (ids and the
//! instant "now" aside). History is written through [`crate::history::Book`] in chunks;
//! the program's set-up (ladder, rewards, coupons, a campaign, keys) and today's few
//! reward claims go through the ordinary operations.

use crate::history::{Book, PastPurchase};
use crate::{Actor, Ctx, IssuedKey, PurchaseLine, Store, StoreError, SystemCtx};
use jiff::{civil::Date, tz::TimeZone, SignedDuration, Timestamp, ToSpan};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma};
use vafa_core::auth::Role;
use vafa_core::customer::{Channel, ConsentChange, Customer, Gender, ProfilePatch, Tag};
use vafa_core::mobile::Mobile;
use vafa_core::patch::Patch;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub customers: u32,
    pub months: u32,
    pub seed: u64,
    /// The demo's present: history ends here.
    pub now: Timestamp,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            customers: 10_000,
            months: 12,
            seed: 1405,
            now: Timestamp::now(),
        }
    }
}

/// What the demo made: its keys (shown once) and the figures a determinism check compares.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    pub program_id: String,
    pub admin_key: IssuedKey,
    pub cashier_key: IssuedKey,
    pub analyst_key: IssuedKey,
    pub customers: u64,
    pub purchases: u64,
    pub revenue_minor: i64,
    pub returns: u64,
    pub returned_minor: i64,
    pub redemptions: u64,
    /// Points purchases earned, net of returns (tier gifts aside).
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub upgrades: u64,
    pub reward_claims: u64,
    pub coupon_codes: u64,
}

/// Progress of a demo: customers and purchases written so far, of the customers asked.
#[derive(Debug, Clone, Copy)]
pub struct DemoProgress {
    pub customers_done: u64,
    pub customers_total: u64,
    pub purchases: u64,
}

/// Most customers a demo makes: mobiles are unique by a bijection on seven digits.
pub const MAX_CUSTOMERS: u32 = 10_000_000;
const CHUNK: u32 = 2_000;

/// Make a demo program in `store`.
pub async fn generate(
    store: &dyn Store,
    opts: &DemoOptions,
    progress: &(dyn Fn(DemoProgress) + Send + Sync),
) -> Result<DemoReport, StoreError> {
    if opts.customers == 0 || opts.customers > MAX_CUSTOMERS {
        return Err(StoreError::Invalid(format!(
            "customers: between 1 and {MAX_CUSTOMERS}"
        )));
    }
    if opts.months == 0 || opts.months > 120 {
        return Err(StoreError::Invalid("months: between 1 and 120".into()));
    }
    let now = opts.now;
    let sys = SystemCtx {
        actor: Actor::System,
        now,
    };
    let new = vafa_core::program::NewProgram::parse("کافه وفا", "IRR", "Asia/Tehran", "fa")
        .map_err(|e| StoreError::Invalid(format!("{e:?}")))?;
    let (program, admin_key) = store.create_program(&new, &sys).await?;
    let ctx = Ctx {
        program_id: program.id.clone(),
        actor: Actor::System,
        now,
    };
    let cashier_key = store
        .create_api_key(&ctx, Role::Cashier, Some("صندوق شعبه ونک"))
        .await?;
    let analyst_key = store
        .create_api_key(&ctx, Role::Analyst, Some("تحلیل‌گر"))
        .await?;
    let settings = store.set_ledger_settings(&ctx, &demo_settings()?).await?;
    let ladder = store.set_tier_ladder(&ctx, &demo_ladder()?).await?;
    set_up_catalog(store, &ctx).await?;
    let coupon_codes = set_up_coupons(store, &ctx, now).await?;

    let tz = TimeZone::get("Asia/Tehran").map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let start = now
        .to_zoned(tz.clone())
        .checked_sub(i64::from(opts.months).months())
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .timestamp();
    let mut book = Book::new(&program, settings, Some(ladder.clone()), now)?;
    let mut report = DemoReport {
        program_id: program.id.clone(),
        admin_key,
        cashier_key,
        analyst_key,
        customers: 0,
        purchases: 0,
        revenue_minor: 0,
        returns: 0,
        returned_minor: 0,
        redemptions: 0,
        points_earned: 0,
        points_redeemed: 0,
        upgrades: 0,
        reward_claims: 0,
        coupon_codes,
    };
    let world = World { start, now, tz };
    let mut first = 0u32;
    while first < opts.customers {
        let last = (first + CHUNK).min(opts.customers);
        for index in first..last {
            let life = world.customer(&program.id, opts.seed, index);
            play(&mut book, &life, &mut report)?;
        }
        let rows = book
            .take(now)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        report.upgrades += rows.tier_changes.len() as u64;
        report.points_earned += rows
            .purchases
            .iter()
            .map(|p| p.points_earned - p.points_reversed)
            .sum::<i64>();
        store.write_history(&ctx, &rows).await?;
        first = last;
        progress(DemoProgress {
            customers_done: u64::from(first),
            customers_total: u64::from(opts.customers),
            purchases: report.purchases,
        });
    }
    report.reward_claims = claim_some_rewards(store, &ctx).await?;
    Ok(report)
}

fn demo_settings() -> Result<vafa_core::ledger::LedgerSettings, StoreError> {
    // One point per 100,000 rials (10,000 toman); a point is worth 1,000 rials when
    // spent, so points give back 1%; a week's return window; points lapse at Nowruz.
    serde_json::from_value(serde_json::json!({
        "earn_points": 1, "earn_per_minor": 100000, "cashback_percent": "0",
        "point_value_minor": "1000", "pending_days": 7,
        "expiry": {"kind": "end_of_year", "calendar": "jalali", "years_after": 0},
        "return_policy": "allow_negative", "transfers_enabled": true, "transfer_max_points": 5000
    }))
    .map_err(|e| StoreError::Corrupt(format!("demo settings: {e}")))
}

fn demo_ladder() -> Result<vafa_core::tiers::TierLadder, StoreError> {
    // Spend over the last 12 months: the cumulative discount card of the seeds.
    serde_json::from_value(serde_json::json!({
        "metric": "spend", "window": {"kind": "rolling_months", "months": 12}, "grace_days": 30,
        "tiers": [
            {"code": "simple", "name": "ساده", "name_en": "Simple", "threshold": 0, "discount_percent": "5"},
            {"code": "silver", "name": "نقره‌ای", "name_en": "Silver", "threshold": 25000000,
             "earn_multiplier": "1.25", "discount_percent": "10", "entry_gift_points": 50},
            {"code": "gold", "name": "طلایی", "name_en": "Gold", "threshold": 70000000,
             "earn_multiplier": "1.5", "discount_percent": "20", "entry_gift_points": 150},
            {"code": "vip", "name": "ویژه", "name_en": "VIP", "threshold": 160000000,
             "earn_multiplier": "2", "discount_percent": "30", "entry_gift_points": 400,
             "free_items": ["ESPRESSO"]}
        ]
    }))
    .map_err(|e| StoreError::Corrupt(format!("demo ladder: {e}")))
}

async fn set_up_catalog(store: &dyn Store, ctx: &Ctx) -> Result<(), StoreError> {
    let rewards = serde_json::json!([
        {"name": "لاته رایگان", "name_en": "Free latte", "kind": {"type": "free_product", "sku": "LATTE"},
         "cost_points": 200, "tier_costs": {"gold": 150, "vip": 100}, "per_customer_limit": 5, "code_valid_days": 30},
        {"name": "۱۰۰ هزار تومان تخفیف", "name_en": "1,000,000 rials off", "kind": {"type": "fixed_discount", "amount_minor": 1000000},
         "cost_points": 800, "code_valid_days": 60},
        {"name": "۲۰٪ تخفیف خرید بعدی", "name_en": "20% off the next visit", "kind": {"type": "percent_discount", "percent": "20"},
         "cost_points": 500, "tiers": ["gold", "vip"]},
        {"name": "ماگ سرامیکی وفا", "name_en": "Vafa ceramic mug", "kind": {"type": "physical_gift"},
         "cost_points": 1500, "stock": 100, "per_customer_limit": 1}
    ]);
    for def in rewards.as_array().into_iter().flatten() {
        let def: vafa_core::rewards::RewardDef = serde_json::from_value(def.clone())
            .map_err(|e| StoreError::Corrupt(format!("demo reward: {e}")))?;
        store.create_reward(ctx, &def).await?;
    }
    let campaign: vafa_core::rules::CampaignDef = serde_json::from_value(serde_json::json!({
        "name": "صبح‌های قهوه", "description": "Double points on coffee, weekday mornings",
        "schedule": {"weekdays": ["saturday", "sunday", "monday", "tuesday", "wednesday"],
                     "hours": [{"from": "07:00", "to": "11:00"}]},
        "caps": [{"period": "day", "count": 2}], "budget_points": 500000
    }))
    .map_err(|e| StoreError::Corrupt(format!("demo campaign: {e}")))?;
    let rule: vafa_core::rules::RuleDef = serde_json::from_value(serde_json::json!({
        "name": "double coffee",
        "condition": "purchase.items.exists(i, i.category == 'coffee')",
        "effects": [{"type": "multiplier", "factor": "2"}]
    }))
    .map_err(|e| StoreError::Corrupt(format!("demo rule: {e}")))?;
    store.create_campaign(ctx, &campaign, &[rule]).await?;
    Ok(())
}

async fn set_up_coupons(store: &dyn Store, ctx: &Ctx, now: Timestamp) -> Result<u64, StoreError> {
    let rules: vafa_core::coupons::CouponRules = serde_json::from_value(serde_json::json!({
        "discount": {"type": "percent", "percent": "15", "max_minor": 1500000},
        "min_cart_minor": 2000000,
        "valid_until": (now + SignedDuration::from_hours(24 * 60)).to_string()
    }))
    .map_err(|e| StoreError::Corrupt(format!("demo coupon: {e}")))?;
    let launch = crate::NewCouponBatch {
        name: "افتتاح شعبه تجریش".into(),
        source: crate::CouponSource::Pattern {
            pattern: "TAJRISH-####-####".into(),
            count: 1000,
        },
        rules,
    };
    let batch = store.create_coupon_batch(ctx, &launch, &|_| {}).await?;
    let shared: vafa_core::coupons::CouponRules = serde_json::from_value(serde_json::json!({
        "discount": {"type": "amount", "amount_minor": 300000}, "max_uses_total": 5000, "max_uses_per_customer": 1
    }))
    .map_err(|e| StoreError::Corrupt(format!("demo coupon: {e}")))?;
    let yalda = crate::NewCouponBatch {
        name: "یلدا".into(),
        source: crate::CouponSource::Shared {
            code: "YALDA1405".into(),
        },
        rules: shared,
    };
    store.create_coupon_batch(ctx, &yalda, &|_| {}).await?;
    Ok(batch.generated as u64 + 1)
}

/// Today's claims: the customers with the most points take a free latte.
async fn claim_some_rewards(store: &dyn Store, ctx: &Ctx) -> Result<u64, StoreError> {
    let rewards = store.list_rewards(&ctx.program_id).await?;
    let Some(latte) = rewards
        .iter()
        .find(|r| r.def.name_en.as_deref() == Some("Free latte"))
    else {
        return Ok(0);
    };
    let page = store
        .list_customers(
            &ctx.program_id,
            &crate::CustomerQuery {
                page: crate::PageRequest {
                    cursor: None,
                    limit: 40,
                },
                ..Default::default()
            },
        )
        .await?;
    let mut claims = 0;
    for c in page.items {
        if claims >= 5 {
            break;
        }
        match store.claim_reward(ctx, &latte.id, &c.id, None).await {
            Ok(_) => claims += 1,
            Err(StoreError::InsufficientPoints { .. }) | Err(StoreError::RewardUnavailable(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(claims)
}

/// The calendar the demo trades in.
struct World {
    start: Timestamp,
    now: Timestamp,
    tz: TimeZone,
}

/// One customer's profile and trade, drawn from the seed and the customer's index alone.
struct Life {
    customer: Customer,
    /// (when, points to redeem just before) and the sale.
    purchases: Vec<(PastPurchase, i64, Option<Timestamp>)>,
}

impl World {
    fn customer(&self, program_id: &str, seed: u64, index: u32) -> Life {
        let mut rng =
            StdRng::seed_from_u64(seed ^ (u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        let span = (self.now.as_second() - self.start.as_second()).max(1) as f64;
        // More join lately (a growing shop); u^0.7 leans toward the present.
        let joined = self.start.as_second() + (span * rng.gen::<f64>().powf(0.7)) as i64;
        let joined = Timestamp::from_second(joined).unwrap_or(self.start);
        let customer = profile(&mut rng, program_id, index, joined);

        // Pareto/NBD: rate per day ~ Gamma(0.7, 0.09) (mean ≈ 2 a month), lifetime ~
        // exponential with a gamma-distributed mean (≈ 9 months); spend level ~ Gamma.
        let rate = sample_gamma(&mut rng, 0.7, 0.09).max(0.001);
        let mean_life_days = sample_gamma(&mut rng, 1.5, 180.0).max(5.0);
        let life_days = -mean_life_days * (1.0 - rng.gen::<f64>()).ln();
        let spend_level = sample_gamma(&mut rng, 6.0, 1.0 / 6.0).clamp(0.3, 3.5);
        let home = *pick(&mut rng, &STORES);
        let end = joined
            .checked_add(SignedDuration::from_secs((life_days * 86_400.0) as i64))
            .unwrap_or(self.now)
            .min(self.now);

        let mut purchases = Vec::new();
        let mut t = joined;
        let mut n = 0u32;
        loop {
            if t > end {
                break;
            }
            // Thinning: accept with the season's weight over its maximum.
            let day = t.to_zoned(self.tz.clone()).date();
            if n == 0 || rng.gen::<f64>() < season(day) / SEASON_MAX {
                let at = self.time_of_day(&mut rng, day).unwrap_or(t);
                if at <= self.now && at >= joined {
                    n += 1;
                    let sale = basket(&mut rng, spend_level);
                    let store = if rng.gen::<f64>() < 0.85 {
                        home
                    } else {
                        *pick(&mut rng, &STORES)
                    };
                    let online = rng.gen::<f64>() < 0.08;
                    let total = sale.iter().map(|l| l.quantity * l.unit_price_minor).sum();
                    let redeem = if rng.gen::<f64>() < 0.3 {
                        100 * rng.gen_range(1..=5)
                    } else {
                        0
                    };
                    let returned = (rng.gen::<f64>() < 0.015)
                        .then(|| at + SignedDuration::from_hours(rng.gen_range(2..96)))
                        .filter(|r| *r < self.now);
                    purchases.push((
                        PastPurchase {
                            customer_id: customer.id.clone(),
                            external_id: Some(format!("D{index:07}-{n:04}")),
                            store: Some(store.to_owned()),
                            channel: Some(if online { "online" } else { "pos" }.to_owned()),
                            lines: sale,
                            total_minor: total,
                            occurred_at: at,
                            earn: true,
                        },
                        redeem,
                        returned,
                    ));
                }
            }
            let gap_days = -(1.0 - rng.gen::<f64>()).ln() / (rate * SEASON_MAX);
            let Ok(next) = t.checked_add(SignedDuration::from_secs(
                (gap_days * 86_400.0).max(3_600.0) as i64,
            )) else {
                break;
            };
            t = next;
        }
        purchases.sort_by_key(|p| p.0.occurred_at);
        Life {
            customer,
            purchases,
        }
    }

    /// A local time of trade on `day`: opening hours 8–23, busiest mid-morning and evening.
    fn time_of_day(&self, rng: &mut StdRng, day: Date) -> Option<Timestamp> {
        const HOURS: [(i8, u32); 15] = [
            (8, 6),
            (9, 10),
            (10, 10),
            (11, 7),
            (12, 6),
            (13, 7),
            (14, 5),
            (15, 4),
            (16, 5),
            (17, 8),
            (18, 10),
            (19, 11),
            (20, 9),
            (21, 6),
            (22, 3),
        ];
        let total: u32 = HOURS.iter().map(|h| h.1).sum();
        let mut x = rng.gen_range(0..total);
        let mut hour = 8;
        for (h, w) in HOURS {
            if x < w {
                hour = h;
                break;
            }
            x -= w;
        }
        let minute = rng.gen_range(0..60);
        let second = rng.gen_range(0..60);
        day.at(hour, minute, second, 0)
            .to_zoned(self.tz.clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

/// Play one customer's trade into the book.
fn play(book: &mut Book, life: &Life, report: &mut DemoReport) -> Result<(), StoreError> {
    let corrupt = |e: crate::history::BookError| StoreError::Corrupt(e.to_string());
    book.add_customer(life.customer.clone());
    report.customers += 1;
    let mut returns: Vec<(Timestamp, String)> = Vec::new();
    for (sale, redeem, returned) in &life.purchases {
        // Returns due before this sale come first.
        returns.sort();
        while returns
            .first()
            .is_some_and(|(at, _)| *at <= sale.occurred_at)
        {
            let (at, id) = returns.remove(0);
            report.returned_minor += book.return_all(&id, at).map_err(corrupt)?;
            report.returns += 1;
        }
        if *redeem > 0 {
            let at = sale.occurred_at - SignedDuration::from_secs(60);
            if book.available(&life.customer.id, at) >= *redeem
                && book
                    .redeem(&life.customer.id, *redeem, at)
                    .map_err(corrupt)?
            {
                report.redemptions += 1;
                report.points_redeemed += redeem;
            }
        }
        let id = book.purchase(sale.clone()).map_err(corrupt)?;
        report.purchases += 1;
        report.revenue_minor += sale.total_minor;
        if let Some(at) = returned {
            returns.push((*at, id));
        }
    }
    returns.sort();
    for (at, id) in returns {
        report.returned_minor += book.return_all(&id, at).map_err(corrupt)?;
        report.returns += 1;
    }
    Ok(())
}

fn sample_gamma(rng: &mut StdRng, shape: f64, scale: f64) -> f64 {
    Gamma::new(shape, scale)
        .map(|g| g.sample(rng))
        .unwrap_or(shape * scale)
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

const SEASON_MAX: f64 = 2.2;

/// How busy a day is, relative to an ordinary weekday.
fn season(day: Date) -> f64 {
    let j = vafa_core::date::to_jalali(day);
    let mut w = match (j.month, j.day) {
        // The last two weeks of Esfand: shopping for Nowruz.
        (12, d) if d >= 15 => 2.0,
        // The Nowruz holidays: the city travels.
        (1, d) if d <= 13 => 0.55,
        // Yalda (the night of 30 Azar) and the days before it.
        (9, d) if d >= 26 => 2.2,
        _ => 1.0,
    };
    if day.weekday() == jiff::civil::Weekday::Friday {
        w *= 0.8;
    }
    w
}

struct Item {
    sku: &'static str,
    name: &'static str,
    category: &'static str,
    price: i64,
    weight: u32,
}

const MENU: [Item; 12] = [
    Item {
        sku: "ESPRESSO",
        name: "اسپرسو",
        category: "coffee",
        price: 1_200_000,
        weight: 9,
    },
    Item {
        sku: "LATTE",
        name: "لاته",
        category: "coffee",
        price: 1_800_000,
        weight: 14,
    },
    Item {
        sku: "CAPPUCCINO",
        name: "کاپوچینو",
        category: "coffee",
        price: 1_700_000,
        weight: 10,
    },
    Item {
        sku: "AMERICANO",
        name: "آمریکانو",
        category: "coffee",
        price: 1_400_000,
        weight: 8,
    },
    Item {
        sku: "TEA",
        name: "چای دارچین",
        category: "tea",
        price: 800_000,
        weight: 7,
    },
    Item {
        sku: "HOTCHOC",
        name: "هات چاکلت",
        category: "drinks",
        price: 1_600_000,
        weight: 5,
    },
    Item {
        sku: "CHEESECAKE",
        name: "چیزکیک",
        category: "cake",
        price: 2_200_000,
        weight: 6,
    },
    Item {
        sku: "CROISSANT",
        name: "کروسان",
        category: "bakery",
        price: 1_300_000,
        weight: 7,
    },
    Item {
        sku: "SANDWICH",
        name: "ساندویچ مرغ",
        category: "food",
        price: 3_200_000,
        weight: 5,
    },
    Item {
        sku: "BEANS250",
        name: "دان قهوه ۲۵۰ گرمی",
        category: "beans",
        price: 9_500_000,
        weight: 2,
    },
    Item {
        sku: "SAFFRONCAKE",
        name: "کیک زعفرانی",
        category: "cake",
        price: 2_000_000,
        weight: 4,
    },
    Item {
        sku: "GIFTBOX",
        name: "جعبه هدیه نوروزی",
        category: "gifts",
        price: 12_000_000,
        weight: 1,
    },
];

/// A basket for a customer of `level` (1 = average): more lines and units when higher.
fn basket(rng: &mut StdRng, level: f64) -> Vec<PurchaseLine> {
    let total: u32 = MENU.iter().map(|m| m.weight).sum();
    let lines = (1.0 + level * rng.gen::<f64>() * 1.7) as usize;
    let mut out: Vec<PurchaseLine> = Vec::new();
    for _ in 0..lines.clamp(1, 5) {
        let mut x = rng.gen_range(0..total);
        let mut item = &MENU[0];
        for m in &MENU {
            if x < m.weight {
                item = m;
                break;
            }
            x -= m.weight;
        }
        if let Some(l) = out.iter_mut().find(|l| l.sku.as_deref() == Some(item.sku)) {
            l.quantity += 1;
            continue;
        }
        let quantity = if rng.gen::<f64>() < 0.2 * level { 2 } else { 1 };
        out.push(PurchaseLine {
            sku: Some(item.sku.to_owned()),
            name: Some(item.name.to_owned()),
            category: Some(item.category.to_owned()),
            quantity,
            unit_price_minor: item.price,
        });
    }
    out
}

const STORES: [&str; 4] = ["ونک", "تجریش", "انقلاب", "اصفهان - چهارباغ"];

const MEN: [(&str, &str); 20] = [
    ("علی", "Ali"),
    ("محمد", "Mohammad"),
    ("حسین", "Hossein"),
    ("رضا", "Reza"),
    ("امیر", "Amir"),
    ("مهدی", "Mahdi"),
    ("سعید", "Saeed"),
    ("حمید", "Hamid"),
    ("مجید", "Majid"),
    ("بهروز", "Behrouz"),
    ("کیوان", "Keyvan"),
    ("آرش", "Arash"),
    ("بابک", "Babak"),
    ("پیمان", "Peyman"),
    ("سینا", "Sina"),
    ("فرهاد", "Farhad"),
    ("کامران", "Kamran"),
    ("نیما", "Nima"),
    ("داریوش", "Dariush"),
    ("یاسین", "Yasin"),
];
const WOMEN: [(&str, &str); 20] = [
    ("فاطمه", "Fatemeh"),
    ("زهرا", "Zahra"),
    ("مریم", "Maryam"),
    ("سارا", "Sara"),
    ("نرگس", "Narges"),
    ("لیلا", "Leila"),
    ("مینا", "Mina"),
    ("شیرین", "Shirin"),
    ("نازنین", "Nazanin"),
    ("الهام", "Elham"),
    ("پریسا", "Parisa"),
    ("سمیرا", "Samira"),
    ("آزاده", "Azadeh"),
    ("مهسا", "Mahsa"),
    ("ترانه", "Taraneh"),
    ("یاسمن", "Yasaman"),
    ("گلاره", "Golareh"),
    ("هانیه", "Haniyeh"),
    ("رویا", "Roya"),
    ("بهاره", "Bahareh"),
];
const SURNAMES: [(&str, &str); 24] = [
    ("رضایی", "Rezaei"),
    ("محمدی", "Mohammadi"),
    ("حسینی", "Hosseini"),
    ("احمدی", "Ahmadi"),
    ("کریمی", "Karimi"),
    ("موسوی", "Mousavi"),
    ("جعفری", "Jafari"),
    ("صادقی", "Sadeghi"),
    ("رحیمی", "Rahimi"),
    ("کاظمی", "Kazemi"),
    ("نوری", "Nouri"),
    ("تهرانی", "Tehrani"),
    ("اصفهانی", "Esfahani"),
    ("شیرازی", "Shirazi"),
    ("قاسمی", "Ghasemi"),
    ("یزدانی", "Yazdani"),
    ("فراهانی", "Farahani"),
    ("نجفی", "Najafi"),
    ("باقری", "Bagheri"),
    ("امینی", "Amini"),
    ("سلطانی", "Soltani"),
    ("میرزایی", "Mirzaei"),
    ("زمانی", "Zamani"),
    ("کیانی", "Kiani"),
];
/// (city in Persian, in English, weight)
const CITIES: [(&str, &str, u32); 10] = [
    ("تهران", "Tehran", 40),
    ("کرج", "Karaj", 9),
    ("اصفهان", "Isfahan", 12),
    ("مشهد", "Mashhad", 8),
    ("شیراز", "Shiraz", 7),
    ("تبریز", "Tabriz", 6),
    ("قم", "Qom", 4),
    ("اهواز", "Ahvaz", 4),
    ("رشت", "Rasht", 5),
    ("کرمانشاه", "Kermanshah", 5),
];
const OCCUPATIONS: [&str; 10] = [
    "دانشجو",
    "کارمند",
    "مهندس",
    "پزشک",
    "معلم",
    "برنامه‌نویس",
    "طراح",
    "فروشنده",
    "وکیل",
    "آزاد",
];
/// Mobile prefixes by operator (a hint only: numbers are ported), weighted by share.
const PREFIXES: [(&str, u32); 14] = [
    ("912", 14),
    ("919", 8),
    ("917", 3),
    ("915", 3),
    ("990", 4),
    ("991", 4),
    ("935", 9),
    ("936", 7),
    ("937", 5),
    ("939", 5),
    ("901", 5),
    ("902", 3),
    ("920", 2),
    ("921", 2),
];
const TAGS: [&str; 6] = [
    "coffee_lover",
    "student",
    "office",
    "family",
    "sweet_tooth",
    "takeaway",
];

fn weighted<'a, T>(rng: &mut StdRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.gen_range(0..total.max(1));
    for it in items {
        let w = weight(it);
        if x < w {
            return it;
        }
        x -= w;
    }
    &items[0]
}

fn profile(rng: &mut StdRng, program_id: &str, index: u32, joined: Timestamp) -> Customer {
    let female = rng.gen::<bool>();
    let (first, first_en) = *pick(rng, if female { &WOMEN } else { &MEN });
    let (last, last_en) = *pick(rng, &SURNAMES);
    let (city, city_en, _) = *weighted(rng, &CITIES, |c| c.2);
    let prefix = weighted(rng, &PREFIXES, |p| p.1).0;
    // Unique per index: 1,000,003 is prime, so multiplying by it permutes 0..10^7.
    let suffix = (u64::from(index) * 1_000_003 + 4_567) % 10_000_000;
    let mobile = Mobile::parse(&format!("0{prefix}{suffix:07}")).ok();
    let age_years = 18 + (sample_gamma(rng, 3.0, 5.0) as i64).min(55);
    let today = joined.to_zoned(TimeZone::UTC).date();
    let birth = today
        .checked_sub(age_years.years())
        .and_then(|d| d.checked_add(rng.gen_range(0..365).days()))
        .ok();
    let mut tags = Vec::new();
    for t in TAGS {
        if rng.gen::<f64>() < 0.18 {
            if let Ok(tag) = Tag::parse(t) {
                tags.push(tag);
            }
        }
    }
    let mut attributes = serde_json::Map::new();
    attributes.insert("name_en".into(), format!("{first_en} {last_en}").into());
    attributes.insert("city_en".into(), city_en.into());
    let attributes = vafa_core::customer::Attributes::parse(serde_json::Value::Object(attributes))
        .unwrap_or_default();
    let patch = ProfilePatch {
        first_name: Patch::Value(first.to_owned()),
        last_name: Patch::Value(last.to_owned()),
        mobile: mobile.map_or(Patch::Absent, Patch::Value),
        birth_date: birth.map_or(Patch::Absent, Patch::Value),
        gender: Patch::Value(if female { Gender::Female } else { Gender::Male }),
        city: Patch::Value(city.to_owned()),
        occupation: Patch::Value((*pick(rng, &OCCUPATIONS)).to_owned()),
        attributes: Patch::Value(attributes),
        tags: Some(tags),
        consent: vec![ConsentChange {
            channel: Channel::Sms,
            granted: rng.gen::<f64>() < 0.8,
            source: "pos".into(),
        }],
        ..Default::default()
    };
    let mut c = Customer::new(
        crate::history::id_at("cus", joined),
        program_id.to_owned(),
        joined,
    );
    c.apply(patch, joined);
    c
}
