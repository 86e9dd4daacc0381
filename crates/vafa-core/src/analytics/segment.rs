//! Segments: who matches a CEL condition over the customer (profile and behaviour),
//! combined with other segments by union or intersection, minus excluded segments.

use crate::rules::expr::{Condition, Scope};
use crate::FieldErrors;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Members of the condition and of every included segment.
    #[default]
    Intersection,
    /// Members of the condition or of any included segment.
    Union,
}

/// A dynamic segment: evaluated whenever it is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    pub name: String,
    /// CEL over `customer` (profile, tags, consent, birthday month, recency, frequency,
    /// monetary, points balance, last campaign) and `time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Other segments (ids) combined with the condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default)]
    pub combine: Combine,
    /// Segments (ids) whose members are removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl SegmentDef {
    pub fn validate(&self) -> Result<Option<Condition>, FieldErrors> {
        let mut e = FieldErrors::default();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            e.push("name", "must be 1–200 characters");
        }
        if self.condition.is_none() && self.include.is_empty() {
            e.push("condition", "give a condition or segments to include");
        }
        if self.include.len() + self.exclude.len() > 20 {
            e.push("include", "at most 20 segments in all");
        }
        let condition = match &self.condition {
            None => None,
            Some(src) => match Condition::compile_cached(src, Scope::Audience) {
                Ok(c) => Some(c),
                Err(err) => {
                    e.push("condition", err);
                    None
                }
            },
        };
        e.finish(|| condition)
    }
}

/// Members from the parts: `matched` by the condition (None: no condition), the included
/// segments' members, the excluded ones'.
pub fn combine(
    matched: Option<HashSet<String>>,
    included: Vec<HashSet<String>>,
    excluded: &[HashSet<String>],
    how: Combine,
) -> HashSet<String> {
    let mut parts: Vec<HashSet<String>> = matched.into_iter().chain(included).collect();
    let mut base = match how {
        Combine::Union => parts.drain(..).flatten().collect(),
        Combine::Intersection => {
            let mut it = parts.into_iter();
            let first = it.next().unwrap_or_default();
            it.fold(first, |acc, s| acc.intersection(&s).cloned().collect())
        }
    };
    for x in excluded {
        base.retain(|id| !x.contains(id));
    }
    base
}
