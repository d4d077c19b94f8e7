//! The synthetic tenant: reps, calls and daily in-app activity, all derived from the seed.
//!
//! Busy and quiet reps (a skewed weight per rep), weekdays busier than weekends, calls during
//! working hours. `call_id` ascends with `start_time` in steps of 10, leaving room for the
//! insert fault to place rows between existing ones.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const FIRST_NAMES: &[&str] = &[
    "kees", "anna", "joost", "sanne", "pieter", "fleur", "bram", "lotte", "daan", "emma", "ruben",
    "noor", "thijs", "julia", "lars", "iris", "sem", "eva", "finn", "mila",
];
const LAST_NAMES: &[&str] = &[
    "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos",
];
const VENDORS: &[&str] = &["acme_voice", "talkdesk", "ringcentral"];
const CAMPAIGNS: &[(&str, &[&str])] = &[
    ("sales", &["inbound", "outbound", "upsell"]),
    ("support", &["billing", "technical", "returns"]),
    ("retention", &["winback", "churn_risk"]),
];
const DEPARTMENTS: &[&str] = &["support", "sales", "success"];
const TEAMS: &[&str] = &["red", "blue", "green", "yellow"];
pub const TOPICS: &[&str] = &[
    "refund",
    "delivery",
    "invoice",
    "upgrade",
    "cancellation",
    "login",
    "complaint",
];
pub const OUTCOMES: &[&str] = &["resolved", "escalated", "callback", "sale", "no_sale"];

/// A user (support agent).
#[derive(Debug, Clone)]
pub struct Rep {
    pub rep_id: Arc<str>,
    pub name: String,
    pub gender: &'static str,
    pub vendor: Arc<str>,
    pub campaign: Arc<str>,
    pub subcampaign: Arc<str>,
    pub department: Arc<str>,
    pub team: &'static str,
    pub active: i64,
    pub start_date: NaiveDate,
    /// Relative call volume (busy and quiet reps).
    pub weight: f64,
}

/// A conversation.
#[derive(Debug, Clone)]
pub struct Call {
    pub call_id: i64,
    pub rep: u32,
    pub start_time: NaiveDateTime,
    pub duration: u32,
    pub hold_time: u32,
    pub silence_time: u32,
    pub sentiment: Option<f64>,
    pub words_rep: u32,
    pub words_customer: u32,
    pub topic: u8,
    pub outcome: u8,
}

impl Call {
    /// Talk time: what is left of the call after hold and silence.
    pub fn talk_time(&self) -> u32 {
        self.duration - self.hold_time - self.silence_time
    }
}

/// One rep's in-app activity on one day.
#[derive(Debug, Clone, Copy)]
pub struct Activity {
    pub rep: u32,
    pub date: NaiveDate,
    pub logins: u32,
    pub active_minutes: u32,
    pub tickets_handled: u32,
}

/// Builds `count` reps, sorted by `rep_id`.
pub fn make_reps(count: usize, seed: u64, today: NaiveDate) -> Vec<Rep> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5EED_0001);
    let mut reps: Vec<Rep> = (0..count)
        .map(|i| {
            let first = FIRST_NAMES[i % FIRST_NAMES.len()];
            let (campaign, subs) = CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())];
            Rep {
                rep_id: format!("{first}{}", 100 + i).into(),
                name: format!(
                    "{} {}",
                    capitalise(first),
                    LAST_NAMES[rng.random_range(0..LAST_NAMES.len())]
                ),
                gender: if i % 2 == 0 { "m" } else { "f" },
                vendor: VENDORS[rng.random_range(0..VENDORS.len())].into(),
                campaign: campaign.into(),
                subcampaign: subs[rng.random_range(0..subs.len())].into(),
                department: DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())].into(),
                team: TEAMS[rng.random_range(0..TEAMS.len())],
                active: i64::from(rng.random_bool(0.85)),
                start_date: today - Duration::days(rng.random_range(30..2_000)),
                // Pareto-like skew: a few reps take many calls.
                weight: 1.0 / (0.05 + rng.random::<f64>()).powf(1.3),
            }
        })
        .collect();
    reps.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    reps
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Builds `count` calls over the `days` days ending `today`, in time order.
pub fn make_calls(count: usize, reps: &[Rep], seed: u64, today: NaiveDate, days: u32) -> Vec<Call> {
    if reps.is_empty() {
        return Vec::new();
    }
    let first_day = today - Duration::days(i64::from(days.max(1)) - 1);
    let day_weights: Vec<f64> = (0..days.max(1))
        .map(
            |d| match (first_day + Duration::days(i64::from(d))).weekday() {
                Weekday::Sat | Weekday::Sun => 0.3,
                _ => 1.0,
            },
        )
        .collect();
    let rep_cumulative = cumulative(reps.iter().map(|r| r.weight));
    let day_cumulative = cumulative(day_weights.iter().copied());
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xCA11_0002);
    let mut starts: Vec<NaiveDateTime> = (0..count)
        .map(|_| {
            let day = pick(&day_cumulative, rng.random());
            let second = rng.random_range(8 * 3600..18 * 3600);
            (first_day + Duration::days(day as i64))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                + Duration::seconds(second)
        })
        .collect();
    starts.sort_unstable();
    starts
        .into_iter()
        .enumerate()
        .map(|(i, start_time)| {
            let duration = rng.random_range(30..2_400);
            let hold_time = rng.random_range(0..duration / 4 + 1);
            let silence_time = rng.random_range(0..(duration - hold_time) / 5 + 1);
            Call {
                call_id: 1_000 + 10 * i as i64,
                rep: pick(&rep_cumulative, rng.random()) as u32,
                start_time,
                duration,
                hold_time,
                silence_time,
                sentiment: (!rng.random_bool(0.08))
                    .then(|| (rng.random_range(-1.0..1.0f64) * 1000.0).round() / 1000.0),
                words_rep: duration * rng.random_range(80..140) / 60,
                words_customer: duration * rng.random_range(60..150) / 60,
                topic: rng.random_range(0..TOPICS.len()) as u8,
                outcome: rng.random_range(0..OUTCOMES.len()) as u8,
            }
        })
        .collect()
}

/// Daily activity for every active day of every rep in the period.
pub fn make_activity(reps: &[Rep], seed: u64, today: NaiveDate, days: u32) -> Vec<Activity> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xAC71_0003);
    let first_day = today - Duration::days(i64::from(days.max(1)) - 1);
    let mut rows = Vec::new();
    for day in 0..days.max(1) {
        let date = first_day + Duration::days(i64::from(day));
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        for (index, rep) in reps.iter().enumerate() {
            if date < rep.start_date || rng.random_bool(if weekend { 0.8 } else { 0.1 }) {
                continue;
            }
            rows.push(Activity {
                rep: index as u32,
                date,
                logins: rng.random_range(1..6),
                active_minutes: rng.random_range(60..480),
                tickets_handled: rng.random_range(0..40),
            });
        }
    }
    rows
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    let mut out: Vec<f64> = weights
        .map(|w| {
            total += w;
            total
        })
        .collect();
    for v in &mut out {
        *v /= total;
    }
    out
}

fn pick(cumulative: &[f64], u: f64) -> usize {
    cumulative
        .partition_point(|&c| c < u)
        .min(cumulative.len() - 1)
}

/// A conversation summary of realistic length, derived from the call (not stored).
pub fn write_summary(
    out: &mut impl std::fmt::Write,
    call: &Call,
    rep_name: &str,
) -> std::fmt::Result {
    let topic = TOPICS[call.topic as usize];
    let outcome = OUTCOMES[call.outcome as usize];
    let order = call.call_id % 97_331;
    let mood = match call.sentiment {
        Some(s) if s > 0.3 => "The customer sounded relieved and thanked the agent twice.",
        Some(s) if s < -0.3 => "The customer was frustrated (\"this is the third time I call\") and asked for a manager.",
        _ => "The tone stayed neutral throughout the conversation.",
    };
    write!(
        out,
        "Customer called about a {topic} issue with order #{order}. {rep_name} checked the account, \
         explained the options and confirmed the next steps by e-mail. {mood} \
         Hold time was kept short; outcome: {outcome}. Café-style follow-up note: “check again in 3 days”."
    )
}
