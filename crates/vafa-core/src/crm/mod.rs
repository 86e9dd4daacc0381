//! The CRM side of a program: tickets, interactions, follow-up tasks and promises,
//! feedback scores, order stages, business hours with SLA deadlines, and reply templates.
//!
//! Only the rules live here — which status may follow which, how a promise may end, how a
//! deadline counts business minutes — so the store and the HTTP layer cannot disagree
//! about them and every rule is tested without a database.

mod hours;
mod stages;
mod templates;

pub use hours::*;
pub use stages::*;
pub use templates::*;

use crate::customer::string_enum;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

string_enum!(
    /// Where a ticket is in its life. `resolved` and `closed` may be reopened.
    TicketStatus {
        New => "new",
        InProgress => "in_progress",
        WaitingOnCustomer => "waiting_on_customer",
        Resolved => "resolved",
        Closed => "closed",
    }
);

impl TicketStatus {
    /// Whether a ticket may move from `self` to `to`. Staying put is not a move.
    pub fn can_move_to(self, to: TicketStatus) -> bool {
        use TicketStatus::*;
        matches!(
            (self, to),
            (New, InProgress | WaitingOnCustomer | Resolved)
                | (InProgress, WaitingOnCustomer | Resolved)
                | (WaitingOnCustomer, InProgress | Resolved)
                | (Resolved, Closed | InProgress)
                | (Closed, InProgress)
        )
    }

    /// Still needs work from someone (and so still runs against its SLA).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TicketStatus::New | TicketStatus::InProgress | TicketStatus::WaitingOnCustomer
        )
    }
}

string_enum!(TicketPriority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" });

string_enum!(
    /// How the customer reached us about a ticket.
    TicketChannel {
        Phone => "phone",
        Sms => "sms",
        Email => "email",
        InStore => "in_store",
        Web => "web",
        App => "app",
        Social => "social",
    }
);

string_enum!(
    /// One logged contact with a customer, or an internal note about them.
    InteractionKind {
        Call => "call",
        Sms => "sms",
        Email => "email",
        Visit => "visit",
        Meeting => "meeting",
        Note => "note",
    }
);

string_enum!(Direction { Inbound => "inbound", Outbound => "outbound", Internal => "internal" });

string_enum!(
    /// A `promise` is something staff told the customer would happen; it ends kept or
    /// missed, which is what promise-keeping reports count.
    TaskKind { Task => "task", Promise => "promise" }
);

string_enum!(
    TaskStatus { Open => "open", Done => "done", Kept => "kept", Missed => "missed", Cancelled => "cancelled" }
);

impl TaskStatus {
    /// How an open task of `kind` may end: a task becomes `done` or `cancelled`; a
    /// promise becomes `kept`, `missed` or `cancelled`. A closed task stays closed.
    pub fn close(kind: TaskKind, from: TaskStatus, to: TaskStatus) -> Result<(), String> {
        if from != TaskStatus::Open {
            return Err(format!(
                "the {} is already {}; it can no longer change",
                kind.as_str(),
                from.as_str()
            ));
        }
        let allowed: &[TaskStatus] = match kind {
            TaskKind::Task => &[TaskStatus::Done, TaskStatus::Cancelled],
            TaskKind::Promise => &[TaskStatus::Kept, TaskStatus::Missed, TaskStatus::Cancelled],
        };
        if allowed.contains(&to) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        Err(format!(
            "a {} ends as {}, not {}",
            kind.as_str(),
            names.join(", "),
            to.as_str()
        ))
    }
}

string_enum!(FeedbackKind { Nps => "nps", Csat => "csat" });

impl FeedbackKind {
    /// The scale of this kind of score: NPS 0 to 10, CSAT 1 to 5.
    pub fn range(self) -> std::ops::RangeInclusive<i64> {
        match self {
            FeedbackKind::Nps => 0..=10,
            FeedbackKind::Csat => 1..=5,
        }
    }

    pub fn check_score(self, score: i64) -> Result<(), String> {
        let range = self.range();
        if range.contains(&score) {
            Ok(())
        } else {
            Err(format!(
                "a {} score is between {} and {}, not {score}",
                self.as_str().to_uppercase(),
                range.start(),
                range.end()
            ))
        }
    }
}

/// Net Promoter Score of 0–10 scores: percent promoters (9–10) minus percent detractors
/// (0–6), from −100 to 100. `None` when there is nothing to score. Scores outside 0–10
/// cannot have passed [`FeedbackKind::check_score`] and are left out rather than guessed at.
pub fn nps(scores: &[i64]) -> Option<f64> {
    let valid = scores.iter().filter(|s| (0..=10).contains(*s));
    let (mut total, mut promoters, mut detractors) = (0u64, 0u64, 0u64);
    for &s in valid {
        total += 1;
        if s >= 9 {
            promoters += 1;
        } else if s <= 6 {
            detractors += 1;
        }
    }
    if total == 0 {
        return None;
    }
    Some(100.0 * (promoters as f64 - detractors as f64) / total as f64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ticket_transitions() {
        use TicketStatus::*;
        let allowed = [
            (New, InProgress),
            (New, WaitingOnCustomer),
            (New, Resolved),
            (InProgress, WaitingOnCustomer),
            (InProgress, Resolved),
            (WaitingOnCustomer, InProgress),
            (WaitingOnCustomer, Resolved),
            (Resolved, Closed),
            (Resolved, InProgress),
            (Closed, InProgress),
        ];
        for &from in TicketStatus::ALL {
            for &to in TicketStatus::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
        assert!(New.is_open() && InProgress.is_open() && WaitingOnCustomer.is_open());
        assert!(!Resolved.is_open() && !Closed.is_open());
    }

    #[test]
    fn enums_round_trip_as_text() {
        for &s in TicketStatus::ALL {
            assert_eq!(s.as_str().parse::<TicketStatus>().unwrap(), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(
            "in_store".parse::<TicketChannel>().unwrap(),
            TicketChannel::InStore
        );
        assert!("shouting".parse::<InteractionKind>().is_err());
    }

    #[test]
    fn closing_tasks_and_promises() {
        use TaskKind::*;
        use TaskStatus::*;
        assert!(TaskStatus::close(Task, Open, Done).is_ok());
        assert!(TaskStatus::close(Task, Open, Cancelled).is_ok());
        assert!(TaskStatus::close(Task, Open, Kept).is_err());
        assert!(TaskStatus::close(Task, Open, Open).is_err());
        assert!(TaskStatus::close(Promise, Open, Kept).is_ok());
        assert!(TaskStatus::close(Promise, Open, Missed).is_ok());
        assert!(TaskStatus::close(Promise, Open, Cancelled).is_ok());
        assert!(TaskStatus::close(Promise, Open, Done).is_err());
        let e = TaskStatus::close(Promise, Kept, Missed).unwrap_err();
        assert!(e.contains("already kept"), "{e}");
        assert!(TaskStatus::close(Task, Done, Done).is_err());
    }

    #[test]
    fn feedback_scores() {
        assert!(FeedbackKind::Nps.check_score(0).is_ok());
        assert!(FeedbackKind::Nps.check_score(10).is_ok());
        assert!(FeedbackKind::Nps.check_score(11).is_err());
        assert!(FeedbackKind::Nps.check_score(-1).is_err());
        assert!(FeedbackKind::Csat.check_score(1).is_ok());
        assert!(FeedbackKind::Csat.check_score(5).is_ok());
        let e = FeedbackKind::Csat.check_score(0).unwrap_err();
        assert!(e.contains("between 1 and 5"), "{e}");
    }

    #[test]
    fn net_promoter_score() {
        assert_eq!(nps(&[]), None);
        assert_eq!(nps(&[11, -3]), None);
        assert_eq!(nps(&[10, 9, 8, 7]), Some(50.0));
        assert_eq!(nps(&[0, 6, 7, 8]), Some(-50.0));
        assert_eq!(nps(&[10, 0]), Some(0.0));
        assert_eq!(nps(&[10; 5]), Some(100.0));
        let third = nps(&[9, 7, 7]).unwrap();
        assert!((third - 100.0 / 3.0).abs() < 1e-9);
    }
}
